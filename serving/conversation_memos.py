"""What serving keeps per conversation between turns: a bounded, thread-safe table.

serving/past_states.py (replayed dialogue states) and serving/applied_events.py (folded
applied events) both keep, per conversation, work done on the events seen so far and reuse
it only while a later call's events begin with exactly those event objects. This is the
table and the prefix test they share: ``PAST_STATES_CONVERSATIONS`` (default 256) entries,
least recently used first out; entries idle ``TRACKER_CACHE_IDLE_SECONDS`` (default 3600)
are dropped when another is kept.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from typing import Any, Callable, Hashable, Optional, Sequence

MAX_CONVERSATIONS = int(os.environ.get("PAST_STATES_CONVERSATIONS", "256"))
IDLE_SECONDS = float(os.environ.get("TRACKER_CACHE_IDLE_SECONDS", "3600"))


def begins_with(events: Sequence[Any], seen: Sequence[Any]) -> bool:
    """``events`` starts with exactly the event objects ``seen`` (compared with ``is``)."""
    return len(seen) <= len(events) and all(event is old for event, old in zip(events, seen))


class ConversationMemos:
    """Entries (objects with a ``used`` attribute) by key, LRU- and idle-bounded."""

    def __init__(self, max_entries: int = MAX_CONVERSATIONS, idle_seconds: float = IDLE_SECONDS) -> None:
        self.max_entries, self.idle_seconds = max_entries, idle_seconds
        self._entries: "OrderedDict[Hashable, Any]" = OrderedDict()
        self._lock = threading.Lock()

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._entries

    def take(self, key: Hashable) -> Optional[Any]:
        """The entry for ``key``, removed (a turn works on it, then keeps it again)."""
        with self._lock:
            return self._entries.pop(key, None)

    def keep(self, key: Hashable, entry: Any) -> None:
        now = time.monotonic()
        entry.used = now
        with self._lock:
            self._entries[key] = entry
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
            while self._entries and now - next(iter(self._entries.values())).used > self.idle_seconds:
                self._entries.popitem(last=False)

    def forget(self, matches: Callable[[Hashable], bool]) -> None:
        """Drop every entry whose key ``matches`` (a deleted conversation)."""
        with self._lock:
            for key in [key for key in self._entries if matches(key)]:
                del self._entries[key]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

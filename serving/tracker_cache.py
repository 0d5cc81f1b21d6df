"""Keep recently used conversations in the Rasa process, checked against the database.

Rasa 3.6's SQL tracker store rebuilds the whole conversation on every turn: it reads
every stored event of the current session, parses its JSON (bot events carry the
article text) and deserialises it into Event objects. At turn 50 that is ~400 events,
and the cost grows with every turn (bench/report.md, "Cost as work grows").

``CachedSQLTrackerStoreMixin`` keeps the deserialised events of the last-used
conversations (an LRU bounded by the number of events held and by idle time) and
serves a turn from them **only when the database still holds exactly those events**.
Before each use it asks the database one indexed aggregate query over the same rows
Rasa would read (the current session of that sender):
``count(id), max(id), max(timestamp)``. Any change by anyone - another Rasa process of
the cluster adding a turn, retention or "forget" deleting rows, a delete followed by new
rows - changes that fingerprint, and the conversation is read from the database as
Rasa does. An empty result evicts the entry. So a second server process or a delete is
never served stale; the cache only saves the read, parse and deserialisation.

After a save, the entry becomes the saved tracker's events of its current session, if
the database's fingerprint then matches them exactly (count and latest timestamp);
otherwise (someone else wrote or deleted meanwhile) the entry is dropped.

Settings (environment): ``TRACKER_CACHE_EVENTS`` (default 20000 events in all, ~25 MB;
0 turns the cache off), ``TRACKER_CACHE_IDLE_SECONDS`` (default 3600: an entry unused
that long is dropped, so deleted conversations do not linger in memory).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import OrderedDict
from typing import Any, List, NamedTuple, Optional, Text, Tuple

import sqlalchemy as sa
from rasa.shared.core.events import Event, SessionStarted, deserialise_events
from rasa.shared.core.trackers import DialogueStateTracker

logger = logging.getLogger(__name__)

Fingerprint = Tuple[int, Optional[int], Optional[float]]


class _Entry(NamedTuple):
    fingerprint: Fingerprint
    events: List[Event]
    used: float


class TrackerCache:
    """LRU of sender id -> (fingerprint, events), bounded by total events and idle time."""

    def __init__(self, max_events: int, idle_seconds: float) -> None:
        self.max_events = max_events
        self.idle_seconds = idle_seconds
        self._entries: "OrderedDict[Text, _Entry]" = OrderedDict()
        self._events = 0
        self._lock = threading.Lock()  # Rasa runs turns on one loop; retention threads may evict
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        return self.max_events > 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, sender_id: Text) -> bool:
        return sender_id in self._entries

    def get(self, sender_id: Text, fingerprint: Fingerprint) -> Optional[List[Event]]:
        """The events held for ``sender_id`` if they are the ones with ``fingerprint``."""
        with self._lock:
            entry = self._entries.get(sender_id)
            now = time.monotonic()
            if entry is None or entry.fingerprint != fingerprint or now - entry.used > self.idle_seconds:
                if entry is not None:
                    self._drop(sender_id)
                self.misses += 1
                return None
            self._entries[sender_id] = entry._replace(used=now)
            self._entries.move_to_end(sender_id)
            self.hits += 1
            return entry.events

    def put(self, sender_id: Text, fingerprint: Fingerprint, events: List[Event]) -> None:
        with self._lock:
            self._drop(sender_id)
            if not self.enabled or len(events) > self.max_events:
                return
            now = time.monotonic()
            self._entries[sender_id] = _Entry(fingerprint, events, now)
            self._events += len(events)
            while self._events > self.max_events or self._oldest_idle(now):
                self._drop(next(iter(self._entries)))

    def evict(self, sender_id: Text) -> None:
        with self._lock:
            self._drop(sender_id)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._events = 0

    def _oldest_idle(self, now: float) -> bool:
        first = next(iter(self._entries.values()), None)
        return first is not None and now - first.used > self.idle_seconds

    def _drop(self, sender_id: Text) -> None:
        entry = self._entries.pop(sender_id, None)
        if entry is not None:
            self._events -= len(entry.events)


def cache_from_env() -> TrackerCache:
    return TrackerCache(
        max_events=int(os.environ.get("TRACKER_CACHE_EVENTS", "20000")),
        idle_seconds=float(os.environ.get("TRACKER_CACHE_IDLE_SECONDS", "3600")),
    )


def current_session(events: List[Event]) -> List[Event]:
    """The events Rasa's SQL store reads back for the current session: from the latest
    ``SessionStarted`` on, by timestamp, as ``SQLTrackerStore._event_query`` selects them."""
    starts = [e.timestamp for e in events if isinstance(e, SessionStarted)]
    if not starts:
        return list(events)
    start = max(starts)
    return [e for e in events if e.timestamp >= start]


class CachedSQLTrackerStoreMixin:
    """For subclasses of ``SQLTrackerStore``: serve the current session from the cache when
    the database's fingerprint of it is unchanged (see the module docstring)."""

    tracker_cache: TrackerCache

    def _init_tracker_cache(self) -> None:
        self.tracker_cache = cache_from_env()
        logger.info(
            "Tracker cache: %s (up to %d events, idle %.0f s)",
            "on" if self.tracker_cache.enabled else "off",
            self.tracker_cache.max_events,
            self.tracker_cache.idle_seconds,
        )

    def _fingerprint(self, session: Any, sender_id: Text) -> Fingerprint:
        """count, max id, max timestamp of the rows Rasa would read (one indexed query)."""
        ev = self.SQLEvent  # type: ignore[attr-defined]
        query = self._event_query(session, sender_id, fetch_events_from_all_sessions=False)  # type: ignore[attr-defined]
        count, max_id, max_ts = (
            query.order_by(None)
            .with_entities(sa.func.count(ev.id), sa.func.max(ev.id), sa.func.max(ev.timestamp))
            .one()
        )
        return int(count or 0), max_id, max_ts

    async def _retrieve(self, sender_id: Text, fetch_events_from_all_sessions: bool) -> Optional[DialogueStateTracker]:
        cache = getattr(self, "tracker_cache", None)
        if fetch_events_from_all_sessions or cache is None or not cache.enabled:
            return await super()._retrieve(sender_id, fetch_events_from_all_sessions)  # type: ignore[misc]
        events = self._current_events(sender_id, cache)
        if not events or not self.domain:  # type: ignore[attr-defined]
            return None
        return DialogueStateTracker.from_events(sender_id, list(events), self.domain.slots)  # type: ignore[attr-defined]

    def _current_events(self, sender_id: Text, cache: TrackerCache) -> List[Event]:
        with self.session_scope() as session:  # type: ignore[attr-defined]
            fingerprint = self._fingerprint(session, sender_id)
            if fingerprint[0] == 0:
                cache.evict(sender_id)
                return []
            events = cache.get(sender_id, fingerprint)
            if events is not None:
                return events
            rows = self._event_query(session, sender_id, fetch_events_from_all_sessions=False).all()  # type: ignore[attr-defined]
            if not rows:
                cache.evict(sender_id)
                return []
            events = deserialise_events([json.loads(row.data) for row in rows])
            # The fingerprint of the rows actually read (the table may have changed since).
            cache.put(sender_id, (len(rows), max(r.id for r in rows), max(r.timestamp for r in rows)), events)
            return events

    def _remember_saved(self, tracker: DialogueStateTracker) -> None:
        """After a save: hold the saved session's events if the database has exactly them."""
        cache = getattr(self, "tracker_cache", None)
        if cache is None or not cache.enabled:
            return
        sender_id = tracker.sender_id
        if tracker._max_event_history is not None:  # a truncated tracker is not what is stored
            cache.evict(sender_id)
            return
        events = current_session(list(tracker.events))
        try:
            with self.session_scope() as session:  # type: ignore[attr-defined]
                fingerprint = self._fingerprint(session, sender_id)
        except sa.exc.SQLAlchemyError:
            cache.evict(sender_id)
            return
        expected_ts = max((e.timestamp for e in events), default=None)
        if events and fingerprint[0] == len(events) and fingerprint[2] == expected_ts:
            cache.put(sender_id, fingerprint, events)
        else:
            cache.evict(sender_id)

    def forget_cached(self, sender_id: Text) -> None:
        """Drop one conversation from memory now (called when it is deleted in this process)."""
        from serving import applied_events, past_states

        cache = getattr(self, "tracker_cache", None)
        if cache is not None:
            cache.evict(sender_id)
        past_states.forget(sender_id)
        applied_events.forget(sender_id)

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Rasa's save, then the cache holds what was saved (when the database agrees)."""
        await super().save(tracker)  # type: ignore[misc]
        self._remember_saved(tracker)

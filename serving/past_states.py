"""A conversation's past dialogue states, computed once per event instead of once per turn.

Before every action prediction Rasa 3.6's RulePolicy asks for the *whole* history of
dialogue states (``Domain.states_for_tracker_history``): it replays every applied event
of the conversation into a fresh tracker and builds a state (slots, intent, previous
action, loop) before each action. It does so two or three times per turn, so at turn 50
(~400 events) the prediction loop is the largest cost that grows with the conversation
(bench/report.md, py-spy).

A state before the k-th action depends only on the events before it, so
``install()`` keeps, per conversation, the replayed tracker, the events it has taken in and the states built so far. A later call whose applied events *begin with
exactly those event objects* (the tracker cache, serving/tracker_cache.py, hands the
same Event objects to every turn) only replays the new events. Anything else - other
event objects (a conversation read from the database), a revert or restart that changed
the applied events, another domain, rule-only-turn filtering (ML policies) - is computed
by Rasa's own code from scratch, as before. The states returned are copies: callers edit
them (``_choose_last_user_input`` deletes keys).

Bounded: ``PAST_STATES_CONVERSATIONS`` (default 256) conversations, least recently used
first out; entries idle ``TRACKER_CACHE_IDLE_SECONDS`` are dropped; ``forget(sender_id)``
drops one (channels/forget.py, through the tracker store's ``forget_cached``).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Dict, List, Optional, Text, Tuple

from serving.conversation_memos import ConversationMemos, begins_with

logger = logging.getLogger(__name__)


class _Memo:
    """One conversation's replay so far: the tracker, the events taken in, the states."""

    __slots__ = ("domain", "tracker", "events", "states", "used")

    def __init__(self, domain: Any, tracker: Any) -> None:
        self.domain = domain
        self.tracker = tracker
        self.events: List[Any] = []  # the objects themselves: compared with `is`
        self.states: List[Dict[Text, Any]] = []
        self.used = time.monotonic()


_memos = ConversationMemos()  # (sender id, omit_unset_slots) -> _Memo
_installed = False
original: Any = None  # Rasa's own Domain.states_for_tracker_history, once installed


def _copy_state(state: Dict[Text, Any]) -> Dict[Text, Any]:
    """Two levels deep: a state maps sub-state names to dicts of str -> str/tuple/float."""
    return {key: dict(sub) if isinstance(sub, dict) else sub for key, sub in state.items()}


def _take(key: Tuple[Text, bool], domain: Any, tracker: Any, applied: List[Any]) -> _Memo:
    """The memo for this conversation if ``applied`` begins with its events, else a new one."""
    memo = _memos.take(key)
    if memo is not None and memo.domain is domain and begins_with(applied, memo.events):
        return memo
    return _Memo(domain, tracker.init_copy())


def forget(sender_id: Text) -> None:
    """Drop what is held for one conversation (it was deleted)."""
    _memos.forget(lambda key: key[0] == sender_id)


def clear() -> None:
    _memos.clear()


def install() -> None:
    """Route ``Domain.states_for_tracker_history`` through the per-conversation memo."""
    global _installed
    if _installed:
        return
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted

    global original
    original = Domain.states_for_tracker_history

    def states_for_tracker_history(
        self: Domain,
        tracker: Any,
        omit_unset_slots: bool = False,
        ignore_rule_only_turns: bool = False,
        rule_only_data: Optional[Dict[Text, Any]] = None,
    ) -> List[Dict[Text, Any]]:
        if ignore_rule_only_turns or getattr(tracker, "is_rule_tracker", False) or not tracker.sender_id:
            return original(self, tracker, omit_unset_slots, ignore_rule_only_turns, rule_only_data)
        applied = tracker.applied_events()
        key = (tracker.sender_id, bool(omit_unset_slots))
        memo = _take(key, self, tracker, applied)
        replay = memo.tracker
        for event in applied[len(memo.events) :]:
            if isinstance(event, ActionExecuted):
                memo.states.append(self._clean_state(self.get_active_state(replay, omit_unset_slots=omit_unset_slots)))
            replay.update(event)
            memo.events.append(event)
        last = self._clean_state(self.get_active_state(replay, omit_unset_slots=omit_unset_slots))
        _memos.keep(key, memo)
        return [_copy_state(s) for s in memo.states] + [last]

    Domain.states_for_tracker_history = states_for_tracker_history  # type: ignore[method-assign]
    _installed = True
    logger.info("past dialogue states: kept per conversation, new events replayed only")

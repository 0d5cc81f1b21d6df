"""A conversation's applied events, folded once per event instead of once per call.

Rasa 3.6's ``DialogueStateTracker.applied_events()`` walks every event of the conversation
(several ``isinstance`` checks each) and Rasa calls it about five times per turn (session
check, RulePolicy, past states, actions, ...). At turn 50 (~400 events) that was 7 ms of a
37 ms turn in a cProfile of one process, the largest cost that grew with the conversation
(bench/report.md, "Cost as work grows").

The result is a left fold over the events: each event resets, undoes or appends to the
list built so far, given the names of the loops activated anywhere in the conversation.
``install()`` keeps, per conversation, the events folded so far, the list and those loop
names. A later call whose events *begin with exactly those event objects* (the tracker
cache, serving/tracker_cache.py, hands the same Event objects to every turn; and within a
turn the tracker only grows) folds only the new events, with Rasa's own helpers
(``_undo_till_previous``, ``_first_loop_execution_or_unhappy_path``,
``_undo_till_previous_loop_execution``). Anything else - other event objects, fewer
events (a maxlen tracker dropped old ones), a loop name not seen before among the new
events (it changes how earlier loop actions read), a tracker subclass or no sender id - is
computed by Rasa's own code. Callers get a new list each time, as from Rasa.

Bounded like serving/past_states.py (serving/conversation_memos.py): ``PAST_STATES_CONVERSATIONS`` conversations (LRU),
``TRACKER_CACHE_IDLE_SECONDS`` idle; ``forget(sender_id)`` drops one.
"""

from __future__ import annotations

import logging
import time
from typing import Any, List, Optional, Set, Text

from serving.conversation_memos import ConversationMemos, begins_with

logger = logging.getLogger(__name__)


class _Fold:
    """One conversation's events folded so far."""

    __slots__ = ("events", "applied", "loop_names", "used")

    def __init__(self) -> None:
        self.events: List[Any] = []  # the objects themselves: compared with `is`
        self.applied: List[Any] = []
        self.loop_names: Set[Text] = set()
        self.used = time.monotonic()


_folds = ConversationMemos()  # sender id -> _Fold
_installed = False
original: Any = None  # Rasa's own DialogueStateTracker.applied_events, once installed


def forget(sender_id: Text) -> None:
    _folds.forget(lambda key: key == sender_id)


def clear() -> None:
    _folds.clear()


def _step(tracker: Any, event: Any, applied: List[Any], loop_names: Set[Text]) -> List[Any]:
    """One event of Rasa 3.6.21's ``applied_events`` loop; returns the (maybe new) list."""
    from rasa.shared.core.events import (
        ActionExecuted,
        ActionReverted,
        Restarted,
        SessionStarted,
        UserUtteranceReverted,
        UserUttered,
    )

    if isinstance(event, (Restarted, SessionStarted)):
        return []
    if isinstance(event, ActionReverted):
        tracker._undo_till_previous(ActionExecuted, applied)
    elif isinstance(event, UserUtteranceReverted):
        tracker._undo_till_previous(UserUttered, applied)
        tracker._undo_till_previous(ActionExecuted, applied)
    elif (
        isinstance(event, ActionExecuted)
        and event.action_name in loop_names
        and not tracker._first_loop_execution_or_unhappy_path(event.action_name, applied)
    ):
        tracker._undo_till_previous_loop_execution(event.action_name, applied)
    else:
        applied.append(event)
    return applied


def _loop_names(events: List[Any]) -> Set[Text]:
    from rasa.shared.core.events import ActiveLoop

    return {event.name for event in events if isinstance(event, ActiveLoop) and event.name}


def _take(sender_id: Text, events: List[Any]) -> Optional[_Fold]:
    """The fold of this conversation if ``events`` begins with its events."""
    fold = _folds.take(sender_id)
    return fold if fold is not None and begins_with(events, fold.events) else None


def install() -> None:
    """Route ``DialogueStateTracker.applied_events`` through the per-conversation fold."""
    global _installed, original
    if _installed:
        return
    from rasa.shared.core.trackers import DialogueStateTracker

    original = DialogueStateTracker.applied_events

    def applied_events(self: DialogueStateTracker) -> List[Any]:
        if type(self) is not DialogueStateTracker or not self.sender_id:
            return original(self)
        events = list(self.events)
        fold = _take(self.sender_id, events)
        new = events[len(fold.events) :] if fold is not None else events
        if fold is not None and not _loop_names(new) <= fold.loop_names:
            fold = None  # a new loop name changes how earlier loop actions read
        if fold is None:
            fold, new = _Fold(), events
            fold.loop_names = _loop_names(events)
        for event in new:
            fold.applied = _step(self, event, fold.applied, fold.loop_names)
            fold.events.append(event)
        _folds.keep(self.sender_id, fold)
        return list(fold.applied)

    DialogueStateTracker.applied_events = applied_events  # type: ignore[method-assign]
    _installed = True
    logger.info("applied events: folded per conversation, new events only")

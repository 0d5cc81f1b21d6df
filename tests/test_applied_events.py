"""serving/applied_events.py: the folded applied events are exactly Rasa's own after every
event, for conversations with restarts, new sessions, reverts, loops (activated, rejected,
deactivated, a loop name first seen late) - whether each turn's tracker holds the same
event objects (the tracker cache) or events read back anew, and for a maxlen tracker."""

from __future__ import annotations

import random

import pytest
from rasa.shared.core.events import (
    ActionExecuted,
    ActionExecutionRejected,
    ActionReverted,
    ActiveLoop,
    BotUttered,
    DefinePrevUserUtteredFeaturization,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
    deserialise_events,
)
from rasa.shared.core.trackers import DialogueStateTracker

from serving import applied_events

LOOPS = ["form_a", "form_b"]


@pytest.fixture(autouse=True)
def installed():
    applied_events.install()
    applied_events.clear()
    yield
    applied_events.clear()


def rasa_applied(tracker):
    return applied_events.original(tracker)


def random_events(rng: random.Random):
    roll = rng.random()
    loop = rng.choice(LOOPS)
    if roll < 0.30:
        return [UserUttered("text", {"name": rng.choice(["greet", "ask", "inform"]), "confidence": 0.9})]
    if roll < 0.45:
        return [ActionExecuted(rng.choice(["action_listen", "utter_x", "action_topic"]))]
    if roll < 0.55:
        return [ActionExecuted(loop), ActiveLoop(loop)]
    if roll < 0.62:
        return [ActionExecuted(loop)]
    if roll < 0.66:
        return [ActionExecutionRejected(loop)]
    if roll < 0.70:
        return [ActiveLoop(None)]
    if roll < 0.74:
        return [ActionReverted()]
    if roll < 0.78:
        return [UserUtteranceReverted()]
    if roll < 0.80:
        return [Restarted()]
    if roll < 0.82:
        return [SessionStarted()]
    if roll < 0.86:
        return [DefinePrevUserUtteredFeaturization(False)]
    if roll < 0.93:
        return [SlotSet("topic", rng.choice(["a", "b", None]))]
    return [BotUttered("reply")]


@pytest.mark.parametrize("seed", range(40))
def test_same_objects_turn_after_turn(seed):
    rng = random.Random(seed)
    sender = f"conv-{seed}"
    events = [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")]
    for _turn in range(25):
        tracker = DialogueStateTracker.from_events(sender, list(events), [])
        for _ in range(rng.randint(1, 6)):
            for event in random_events(rng):
                tracker.update(event)
            assert tracker.applied_events() == rasa_applied(tracker)
        events = list(tracker.events)


@pytest.mark.parametrize("seed", range(10))
def test_events_read_back_anew_and_other_conversations(seed):
    rng = random.Random(100 + seed)
    events = [ActionExecuted("action_listen")]
    for _ in range(60):
        events.extend(random_events(rng))
        copied = deserialise_events([e.as_dict() for e in events])
        for tracker in (
            DialogueStateTracker.from_events("same", list(events), []),
            DialogueStateTracker.from_events("same", copied, []),
            DialogueStateTracker.from_events("other", list(events), []),
        ):
            assert tracker.applied_events() == rasa_applied(tracker)


def test_a_loop_name_first_seen_late_changes_earlier_events():
    tracker = DialogueStateTracker.from_events(
        "late-loop", [ActionExecuted("action_listen"), ActionExecuted("form_a"), ActionExecuted("form_a")], []
    )
    before = tracker.applied_events()
    tracker.update(ActiveLoop("form_a"))
    assert tracker.applied_events() == rasa_applied(tracker)
    assert len(before) == 3 and tracker.applied_events() != before + [tracker.events[-1]]


def test_a_maxlen_tracker_and_a_result_to_edit():
    tracker = DialogueStateTracker("maxlen", [], max_event_history=5)
    rng = random.Random(7)
    for _ in range(40):
        for event in random_events(rng):
            tracker.update(event)
        result = tracker.applied_events()
        assert result == rasa_applied(tracker)
        result.clear()  # a caller editing its list changes nothing kept
        assert tracker.applied_events() == rasa_applied(tracker)


def test_forget_and_no_sender():
    tracker = DialogueStateTracker.from_events("gone", [ActionExecuted("action_listen")], [])
    tracker.applied_events()
    applied_events.forget("gone")
    assert "gone" not in applied_events._folds
    blank = DialogueStateTracker.from_events("", [ActionExecuted("action_listen"), Restarted()], [])
    assert blank.applied_events() == rasa_applied(blank) == []

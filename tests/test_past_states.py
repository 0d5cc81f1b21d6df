"""serving/past_states.py: the kept-and-extended past states are exactly Rasa's own, turn
after turn, for conversations with reverts, restarts, new sessions and slot changes, whether
the events are the same objects (served from the tracker cache) or read back anew."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    BotUttered,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
    deserialise_events,
)
from rasa.shared.core.trackers import DialogueStateTracker

from serving import past_states

ROOT = Path(__file__).resolve().parents[1]
DOMAIN = Domain.load(str(ROOT / "domain.yml"))


@pytest.fixture(autouse=True)
def installed():
    past_states.install()
    past_states.clear()
    yield
    past_states.clear()


def rasa_states(tracker, omit=False):
    return past_states.original(DOMAIN, tracker, omit)


def random_event(rng: random.Random):
    roll = rng.random()
    if roll < 0.3:
        intent = rng.choice(DOMAIN.intents)
        return [
            UserUttered("text", {"name": intent, "confidence": 0.9}),
            ActionExecuted(rng.choice(DOMAIN.action_names_or_texts)),
        ]
    if roll < 0.5:
        slot = rng.choice(DOMAIN.slots)
        value = {"list": ["a", "b"], "bool": True, "float": 0.5}.get(slot.type_name, f"v{rng.randint(0, 3)}")
        return [SlotSet(slot.name, value)]
    if roll < 0.7:
        return [BotUttered("hi", {"custom": {"n": 1}}), ActionExecuted("action_listen")]
    if roll < 0.8:
        return [UserUtteranceReverted()]
    if roll < 0.87:
        return [ActionReverted()]
    if roll < 0.93:
        return [Restarted(), ActionExecuted("action_listen")]
    return [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")]


@pytest.mark.parametrize("seed", range(6))
def test_same_states_as_rasa_turn_after_turn(seed):
    rng = random.Random(seed)
    events = [ActionExecuted("action_listen")]
    for _ in range(60):
        events += random_event(rng)
        tracker = DialogueStateTracker.from_events(f"s{seed}", list(events), DOMAIN.slots)  # same objects
        for omit in (False, True):
            assert DOMAIN.states_for_tracker_history(tracker, omit_unset_slots=omit) == rasa_states(tracker, omit)


def test_events_read_back_anew_and_states_are_copies():
    rng = random.Random(7)
    events = [ActionExecuted("action_listen")]
    for _ in range(20):
        events += random_event(rng)
    tracker = DialogueStateTracker.from_events("x", list(events), DOMAIN.slots)
    first = DOMAIN.states_for_tracker_history(tracker)
    for state in first:  # callers edit states (Rasa deletes intent/text keys)
        state.clear()
    assert DOMAIN.states_for_tracker_history(tracker) == rasa_states(tracker)
    anew = deserialise_events([e.as_dict() for e in events])
    again = DialogueStateTracker.from_events("x", anew, DOMAIN.slots)
    assert DOMAIN.states_for_tracker_history(again) == rasa_states(again)


def test_rule_only_filtering_and_forget_go_through_rasa():
    tracker = DialogueStateTracker.from_events(
        "y", [ActionExecuted("action_listen"), UserUttered("hi", {"name": DOMAIN.intents[0]})], DOMAIN.slots
    )
    assert DOMAIN.states_for_tracker_history(tracker, ignore_rule_only_turns=True, rule_only_data={}) == (
        past_states.original(DOMAIN, tracker, False, True, {})
    )
    DOMAIN.states_for_tracker_history(tracker)
    assert ("y", False) in past_states._memos
    past_states.forget("y")
    assert ("y", False) not in past_states._memos

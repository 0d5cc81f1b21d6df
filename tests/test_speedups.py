"""serving/speedups.py: the once-built validator accepts and rejects exactly what Rasa's
per-call ``jsonschema.validate`` does, with the same error type and Rasa's hint, and is fast."""

import time

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction

from serving import speedups

GOOD = [
    {"events": [], "responses": []},
    {
        "events": [{"event": "slot", "name": "last_topic", "value": "anatomy"}],
        "responses": [{"text": "hi", "custom": {"topic": "anatomy"}, "buttons": []}],
    },
]
BAD = [{"events": "not a list"}, {"events": [{"event": 3}]}, {"responses": "x"}]


def rasa_says(result):
    try:
        jsonschema.validate(result, RemoteAction.action_response_format_spec())
        return "ok"
    except jsonschema.ValidationError as error:
        return error.message


def test_same_verdicts_as_rasa_and_faster():
    expected = [rasa_says(r) for r in GOOD + BAD]
    speedups.install()
    action = RemoteAction("action_answer_topic", None)
    for result in GOOD:
        assert action._validate_action_result(result) is True
    for result, rasa_message in zip(BAD, expected[len(GOOD) :]):
        with pytest.raises(jsonschema.ValidationError) as caught:
            action._validate_action_result(result)
        assert caught.value.message.startswith(rasa_message)
        assert "Failed to validate Action server response" in caught.value.message
    t0 = time.perf_counter()
    for _ in range(50):
        action._validate_action_result(GOOD[1])
    ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(50):
        rasa_says(GOOD[1])
    assert ours < (time.perf_counter() - t0) / 3


def test_install_is_idempotent():
    speedups.install()
    first = RemoteAction._validate_action_result
    speedups.install()
    assert RemoteAction._validate_action_result is first


def test_event_types_resolve_as_before():
    from rasa.shared.core.events import ActionExecuted, Event, SessionStarted, UserUttered

    speedups.install()
    assert Event.resolve_by_type("user") is UserUttered
    assert Event.resolve_by_type("action") is ActionExecuted
    assert Event.resolve_by_type("session_started") is SessionStarted
    assert Event.resolve_by_type("no_such_event", default=UserUttered) is UserUttered
    with pytest.raises(ValueError):
        Event.resolve_by_type("no_such_event")
    events = [
        {"event": "session_started"},
        {"event": "user", "text": "hi", "parse_data": {}},
        {"event": "action", "name": "action_listen"},
    ]
    from rasa.shared.core.events import deserialise_events

    assert [type(e) for e in deserialise_events(events)] == [SessionStarted, UserUttered, ActionExecuted]


def test_lean_action_call_keeps_slots_latest_message_and_this_turn():
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.utils.endpoints import EndpointConfig

    speedups.install()
    domain = Domain.from_yaml(
        "version: '3.1'\nintents: [greet, anatomy]\nslots:\n  last_topic:\n    type: any\n"
        "    mappings: [{type: custom}]\n"
    )
    events = [
        ActionExecuted("action_listen"),
        UserUttered("hello", {"name": "greet"}),
        ActionExecuted("action_greet"),
        SlotSet("last_topic", "anatomy"),
        ActionExecuted("action_listen"),
        UserUttered("what is it", {"name": "anatomy"}),
    ]
    tracker = DialogueStateTracker.from_events("s1", events, domain.slots)
    full = RemoteAction("action_answer_topic", EndpointConfig("http://x", enable_selective_domain=True))
    lean = RemoteAction(
        "action_answer_topic", EndpointConfig("http://x", enable_selective_domain=True, tracker_events="current_turn")
    )
    a, b = full._action_call_format(tracker, domain), lean._action_call_format(tracker, domain)
    assert len(a["tracker"]["events"]) == 6 and [e["event"] for e in b["tracker"]["events"]] == ["user"]
    for key in ("slots", "latest_message", "latest_action_name", "sender_id", "active_loop"):
        assert a["tracker"][key] == b["tracker"][key]
    assert b["tracker"]["slots"]["last_topic"] == "anatomy"
    assert {k: v for k, v in a.items() if k != "tracker"} == {k: v for k, v in b.items() if k != "tracker"}

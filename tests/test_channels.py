"""The channels' input checks and safety net (channels/safety.py), without a running server."""
import asyncio

import pytest
from rasa.core.channels.channel import CollectingOutputChannel

from channels import safety
from tests.conftest import customs


def run_turn(text, on_new_message, metadata=None):
    collector = CollectingOutputChannel()
    asyncio.run(safety.handle_turn(on_new_message, text, "sender-1", collector, "rest", metadata))
    return collector.messages


async def answers(message):
    await message.output_channel.send_response(
        message.sender_id, {"text": "An answer", "custom": {"topic": "symptoms", "escalation": "routine"}}
    )


async def action_server_down(message):
    return None  # Rasa logs the failed action and the turn ends with no reply


async def crashes(message):
    raise RuntimeError("boom")


def test_a_normal_turn_passes_through():
    messages = run_turn("what are the symptoms", answers)
    assert [c["topic"] for c in customs(messages)] == ["symptoms"]


@pytest.mark.parametrize("handler", [action_server_down, crashes])
def test_a_silent_or_failed_turn_gets_the_safe_reply(handler):
    messages = run_turn("what are the symptoms", handler)
    payload = customs(messages)[0]
    assert payload["topic"] == "handoff" and payload["unavailable"] is True
    assert "can't answer right now" in messages[0]["text"]
    assert "03 5550 0000" in messages[0]["text"] and "call 000" in messages[0]["text"]


def test_a_red_flag_still_escalates_when_the_action_server_is_down():
    messages = run_turn("I've lost control of my bladder and can't feel my bum", action_server_down)
    first = customs(messages)[0]
    assert first["topic"] == "red_flag" and first["escalation"] == "emergency"
    assert messages[0]["text"].startswith("Call 000")
    assert customs(messages)[-1]["topic"] == "handoff"


def test_a_slow_turn_is_cut_off(monkeypatch):
    monkeypatch.setattr(safety, "TURN_TIMEOUT_SECONDS", 0.05)

    async def slow(message):
        await asyncio.sleep(5)

    messages = run_turn("hello", slow)
    assert customs(messages)[0]["unavailable"] is True
    assert all(c["content_version"] for c in customs(messages))


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "\x00\x01\x02"])
def test_empty_messages_get_a_polite_reply_without_the_model(text):
    messages = run_turn(text, crashes)
    assert customs(messages)[0]["topic"] == "clarify"
    assert "didn't catch" in messages[0]["text"]


def test_an_over_long_message_is_answered_politely_but_still_triaged():
    text = "my bum hurts. " * 200 + "I can't feel anything down there around my privates."
    messages = run_turn(text, crashes)
    topics = [c["topic"] for c in customs(messages)]
    assert topics[0] == "red_flag" and topics[-1] == "clarify"
    assert customs(messages)[-1]["too_long"] is True


def test_control_characters_and_bad_surrogates_are_cleaned():
    cleaned = safety.clean_text("hip\x00pain\ud800")
    assert "\x00" not in cleaned and "\ud800" not in cleaned
    assert safety.clean_text("  cafe\u0301  ") == "caf\u00e9"


@pytest.mark.parametrize("sender", [None, "", 42, "a" * 129, "has space", "semi;colon", ["x"]])
def test_bad_senders_are_rejected(sender):
    with pytest.raises(safety.BadRequest):
        safety.check_sender(sender)


@pytest.mark.parametrize("sender", ["0f8fad5b-d9cb-469f-a165-70867728950e", "kiosk_42", "test-user.1"])
def test_good_senders_are_accepted(sender):
    assert safety.check_sender(sender) == sender


@pytest.mark.parametrize("message", [None, 12, ["hi"], {"text": "hi"}])
def test_non_string_messages_are_rejected(message):
    with pytest.raises(safety.BadRequest):
        safety.check_message(message)


@pytest.mark.parametrize(
    "metadata,kept", [({"client": "kiosk"}, {"client": "kiosk"}), ({"client": "evil", "x": 1}, {}), ("str", {}), (None, {})]
)
def test_client_metadata_is_allow_listed(metadata, kept):
    assert safety.safe_metadata(metadata) == kept

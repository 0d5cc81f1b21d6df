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
    "metadata,kept",
    [({"client": "kiosk"}, {"client": "kiosk"}), ({"client": "evil", "x": 1}, {}), ("str", {}), (None, {})],
)
def test_client_metadata_is_allow_listed(metadata, kept):
    assert safety.safe_metadata(metadata) == kept


# -- slash commands (channels/commands.py) ---------------------------------------------------

RED_FLAG_TEXT = "I have lost control of my bladder and I am numb between my legs"


def recording(replies_with=None):
    """An on_new_message that notes what Rasa would have been given."""
    seen = []

    async def handler(message):
        seen.append(message.text)
        if replies_with is not None:
            await message.output_channel.send_response(message.sender_id, replies_with)

    return handler, seen


@pytest.mark.parametrize(
    "payload",
    [
        "/greet",
        "/gluteus_medius",
        "/tell_me_more",
        "/restart",
        "/session_start",
        '/choose_option{"ordinal": "2"}',
        '/exercises{"exercise":"hip_drop"}',
        '/choose_option{"ordinal": 3}',
    ],
)
def test_exact_button_payloads_are_commands(payload):
    assert safety.commands.parse_command(payload) is not None


@pytest.mark.parametrize(
    "text",
    [
        "/greet@1.0 " + RED_FLAG_TEXT,
        '/gluteus_medius{"x":"y"} ' + RED_FLAG_TEXT,
        "/greet " + RED_FLAG_TEXT,
        '/gluteus_medius{"x":"y"}',
        "/greet@0.9",
        "/no_such_intent",
        '/choose_option{"ordinal": "\u00b2"}',
        '/choose_option{"ordinal": true}',
        '/choose_option{"ordinal": ["1"]}',
        '/choose_option{"ordinal": {"a": 1}}',
        "/choose_option{}",
        '/choose_option{"ordinal": "2"',
        '/restart{"ordinal": "1"}',
        "/",
        "//greet",
        "/ greet",
        '/choose_option{"ordinal": "' + "a" * 60 + '"}',
        "/greet\n" + RED_FLAG_TEXT,
    ],
)
def test_anything_else_starting_with_a_slash_is_text(text):
    assert safety.commands.parse_command(text) is None


@pytest.mark.parametrize("prefix", ["/greet@1.0 ", '/gluteus_medius{"x":"y"} ', "/greet ", "//", "/ / "])
def test_slash_text_reaches_rasa_as_words_and_still_escalates(prefix):
    handler, seen = recording()
    messages = run_turn(prefix + RED_FLAG_TEXT, handler)  # the "model" is down: the safety net triages
    assert seen and not seen[0].startswith("/") and seen[0].endswith(RED_FLAG_TEXT)
    assert customs(messages)[0]["topic"] == "red_flag" and customs(messages)[0]["escalation"] == "emergency"


def test_a_button_payload_reaches_rasa_unchanged():
    handler, seen = recording({"text": "hi", "custom": {"topic": "greet", "escalation": "none"}})
    run_turn('/choose_option{"ordinal": "2"}', handler)
    assert seen == ['/choose_option{"ordinal":"2"}']


def test_a_command_carrying_a_red_flag_goes_in_as_text():
    handler, seen = recording()
    run_turn('/greet{"body_part": "numb groin and I cannot control my bladder"}', handler)
    assert seen and not seen[0].startswith("/")
    handler, seen = recording()
    run_turn('/greet{"body_part": "cant control my bladder"}', handler)
    assert seen and not seen[0].startswith("/")


def test_only_slashes_get_the_empty_message_reply():
    handler, seen = recording()
    messages = run_turn("///", handler)
    assert seen == [] and customs(messages)[0]["topic"] == "clarify"


@pytest.mark.parametrize("command", ["/restart", "/session_start"])
def test_restart_and_session_start_get_the_greeting(command):
    handler, seen = recording()  # Rasa's built-in actions send no bot message
    messages = run_turn(command, handler)
    assert seen == [command]
    payload = customs(messages)[0]
    assert payload["topic"] == "greet" and payload["escalation"] == "none" and payload["restarted"] is True
    assert payload["content_version"] and messages[0].get("buttons")


def test_a_failing_turn_logs_no_text(caplog):
    marker = "zq-marker-31337"

    async def leaky(message):
        raise ValueError(f"failed on {message.text}")

    with caplog.at_level("DEBUG"):
        run_turn(f"my hip {marker}", leaky)
    assert caplog.records and marker not in caplog.text


# -- length cap and in-flight turns --------------------------------------------------------------


def test_the_typed_message_cap_is_the_widgets_1000_by_default():
    # The widget's text box takes 1,000 characters (a patient's story and a question);
    # the kiosk's takes 500. Longer is refused politely, its red flags still escalate.
    assert safety.MAX_MESSAGE_CHARS == 1000
    handler, seen = recording()
    messages = run_turn("hip " * 260, handler)
    assert seen == [] and customs(messages)[-1]["too_long"] is True
    messages = run_turn("I can't control my bladder and my groin is numb. " + "hip " * 260, handler)
    assert customs(messages)[0]["topic"] == "red_flag" and customs(messages)[-1]["too_long"] is True


def test_in_flight_admits_one_turn_per_sender():
    gate = safety.InFlight()
    assert gate.enter("a") and not gate.enter("a") and gate.enter("b")
    gate.leave("a")
    assert gate.enter("a") and "b" in gate


@pytest.mark.parametrize("speed", [30_000.0, 5_000.0, 500.0])
def test_the_triage_budget_drains_the_queue_in_seconds_but_covers_the_typed_limit(speed):
    budgets = [safety.triage_budget(n, speed) for n in range(0, 40)]
    assert budgets == sorted(budgets, reverse=True)
    assert all(safety.MAX_MESSAGE_CHARS <= b <= safety.MAX_TRIAGE_CHARS for b in budgets)
    for waiting, budget in enumerate(budgets):
        if budget > safety.MAX_MESSAGE_CHARS:  # above the floor: the whole queue within the wait
            assert (waiting + 1) * budget / speed <= safety.TRIAGE_WAIT_SECONDS + 1e-6
    assert safety.triage_budget(0, 30_000.0) == safety.MAX_TRIAGE_CHARS

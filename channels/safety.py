"""The safety net around every turn, shared by the REST and socket.io channels.

* Input is cleaned (control characters dropped, Unicode normalised) and bounded; an
  empty or over-long message gets a polite reply without reaching the model.
* A turn is never silent: when the action server is down, slow or failing, the turn ends
  with no reply carrying the reply contract's ``custom`` payload. Then the channel sends
  the red-flag escalation itself if the message describes one (triage runs in this
  process, with the same rules as the NLU pipeline), followed by the "I can't answer
  right now - here is how to reach the clinic / in an emergency call ..." reply.

Message text is never logged.
"""
import asyncio
import functools
import logging
import os
import re
import threading
from typing import Any, Awaitable, Callable, Dict, List, Optional

from rasa.core.channels.channel import OutputChannel, UserMessage

from assistant import replies
from assistant.catalogue import load_catalogue
from assistant.clinic import load_profile
from assistant.text import clean_text

logger = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = int(os.environ.get("MAX_MESSAGE_CHARS", "2000"))
# An over-long message is still triaged, up to this many characters (triage is linear in
# the length: about 5 s for 100 kB), in a worker thread so other patients are not held up.
MAX_TRIAGE_CHARS = 20_000
TURN_TIMEOUT_SECONDS = float(os.environ.get("TURN_TIMEOUT_SECONDS", "20"))
SENDER_PATTERN = re.compile(r"^[A-Za-z0-9_.:@-]{1,128}$")
CLIENTS = {"widget", "kiosk", "test"}


class BadRequest(ValueError):
    """The request is malformed (the client's fault): answered with a 4xx."""


def check_sender(sender: Any) -> str:
    if not isinstance(sender, str) or not SENDER_PATTERN.match(sender):
        raise BadRequest(
            "'sender' must be a conversation id of 1-128 letters, digits or _ . : @ - "
            "(the widget sends a random UUID)"
        )
    return sender


def check_message(message: Any) -> str:
    if not isinstance(message, str):
        raise BadRequest("'message' must be a string")
    return clean_text(message)


def safe_metadata(metadata: Any) -> Dict[str, str]:
    """Keep only what the assistant uses (which front end); drop anything else the client sent."""
    if isinstance(metadata, dict) and metadata.get("client") in CLIENTS:
        return {"client": metadata["client"]}
    return {}


@functools.lru_cache(maxsize=1)
def triage():
    from assistant.nlp import load_nlp
    from assistant.triage import Triage

    return Triage.from_file(nlp=load_nlp())


def warm_up() -> None:
    """Load the triage and the content in the background when a channel starts, so the
    first safety-net reply does not wait for spaCy."""

    def load() -> None:
        try:
            triage()
            load_catalogue()
            load_profile()
        except Exception:
            logger.exception("safety net warm-up failed; it will load on first use")

    threading.Thread(target=load, name="safety-net-warm-up", daemon=True).start()


def red_flag_messages(text: str) -> List[dict]:
    """The escalation for red flags in ``text``, built without the action server."""
    try:
        result = triage().assess(text[:MAX_TRIAGE_CHARS])
    except Exception:  # never let the safety net itself fail silently
        logger.exception("triage failed in the channel safety net")
        return []
    if not result.findings:
        return []
    findings = [f.as_dict() for f in result.findings]
    return replies.red_flag_reply(load_catalogue(), load_profile(), findings)


class ObservedOutput(OutputChannel):
    """Passes messages on to the real output channel and notes whether a contract payload went out."""

    def __init__(self, inner: OutputChannel) -> None:
        self.inner = inner
        self.sent_custom = False

    @classmethod
    def name(cls) -> str:
        return "observed"

    async def send_response(self, recipient_id: str, message: Dict[str, Any]) -> None:
        if message.get("custom"):
            self.sent_custom = True
        await self.inner.send_response(recipient_id, message)


async def send_all(output: OutputChannel, recipient_id: str, messages: List[dict]) -> None:
    for message in replies.stamp(messages, load_catalogue()):
        await output.send_response(recipient_id, {k: v for k, v in message.items() if v})


async def handle_turn(
    on_new_message: Callable[[UserMessage], Awaitable[Any]],
    raw_text: str,
    sender_id: str,
    output: OutputChannel,
    input_channel: str,
    metadata: Optional[Dict[str, str]] = None,
) -> None:
    """Run one user message through Rasa with the safety net around it."""
    catalogue, profile = load_catalogue(), load_profile()
    text = clean_text(raw_text)
    if not text:
        await send_all(output, sender_id, replies.empty_message_reply(catalogue, profile))
        return
    if len(text) > MAX_MESSAGE_CHARS:
        logger.info("message over %d characters answered without the model", MAX_MESSAGE_CHARS)
        flagged = await asyncio.get_running_loop().run_in_executor(None, red_flag_messages, text)
        await send_all(output, sender_id, flagged + replies.too_long_reply(catalogue, profile, MAX_MESSAGE_CHARS))
        return
    observed = ObservedOutput(output)
    message = UserMessage(text, observed, sender_id, input_channel=input_channel, metadata=metadata or {})
    try:
        await asyncio.wait_for(on_new_message(message), timeout=TURN_TIMEOUT_SECONDS)
    except asyncio.TimeoutError:
        logger.error("turn took over %.0f s; sending the safe reply", TURN_TIMEOUT_SECONDS)
    except Exception:
        logger.exception("turn failed; sending the safe reply")
    if not observed.sent_custom:
        logger.warning("turn produced no reply (action server down?); sending the safe reply")
        flagged = await asyncio.get_running_loop().run_in_executor(None, red_flag_messages, text)
        await send_all(output, sender_id, flagged + replies.unavailable_reply(catalogue, profile))

"""The safety net around every turn, shared by the REST and socket.io channels.

* Input is cleaned (control characters dropped, Unicode normalised) and bounded; an
  empty or over-long message (over MAX_MESSAGE_CHARS, default 1,000: what the widget's
  text box allows; the kiosk's allows 500) gets a polite reply without reaching the model. Its red flags still
  escalate: triage runs in a worker process (channels/triage_worker.py), so it holds up
  neither the event loop nor the interpreter lock, and with them every other patient's
  turn; in one worker thread (``TRIAGE_POOL``) while that process is not running.
* Only an exact button payload reaches Rasa as a slash command (channels/commands.py);
  any other text starting with "/" goes in as text, so the NLU pipeline and its red-flag
  detector see it. A command is triaged here on its raw text first: one that carries a
  red flag goes in as text too. Rasa's built-in ``/restart`` and ``/session_start`` are
  answered with the greeting (topic ``greet``, escalation ``none``, ``restarted: true``).
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
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Awaitable, Callable, Dict, List, Optional, Set

from rasa.core.channels.channel import OutputChannel, UserMessage

from assistant import replies
from assistant.catalogue import load_catalogue
from assistant.clinic import load_profile
from assistant.text import clean_text
from channels import commands
from channels.triage_worker import TriageWorker

logger = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = int(os.environ.get("MAX_MESSAGE_CHARS", "1000"))
# An over-long message is still triaged, up to this many characters. Triage is linear in
# the length (about 30 ms per 1,000 characters here), and the worker is one thread, so
# 20 over-long messages in flight finish within about 5 s (nginx allows 16 kB bodies).
MAX_TRIAGE_CHARS = 8_000
# Under a flood of over-long messages each is triaged on fewer characters, sized by the
# worker's measured speed so that the queue drains within TRIAGE_WAIT_SECONDS, but never
# on fewer than MAX_MESSAGE_CHARS (what the widget would have sent). 20 in flight took up
# to 15 s at 8,000 characters each on a loaded machine.
TRIAGE_WAIT_SECONDS = 3.0


def triage_budget(waiting: int, chars_per_second: float) -> int:
    """How many characters of an over-long message to triage with ``waiting`` in the queue."""
    budget = int(chars_per_second * TRIAGE_WAIT_SECONDS / (max(waiting, 0) + 1))
    return max(MAX_MESSAGE_CHARS, min(MAX_TRIAGE_CHARS, budget))


TRIAGE_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="channel-triage")
WORKER = TriageWorker()
TURN_TIMEOUT_SECONDS = float(os.environ.get("TURN_TIMEOUT_SECONDS", "20"))
SENDER_PATTERN = re.compile(r"^[A-Za-z0-9_.:@-]{1,128}$")
CLIENTS = {"widget", "kiosk", "test"}


class BadRequest(ValueError):
    """The request is malformed (the client's fault): answered with a 4xx."""


class InFlight:
    """The conversations with a turn under way in this process. A second message for the
    same conversation is refused at once (REST: 429) instead of queueing behind the lock
    store for up to the turn timeout and then ending as "can't answer right now"."""

    def __init__(self) -> None:
        self._senders: Set[str] = set()

    def enter(self, sender_id: str) -> bool:
        if sender_id in self._senders:
            return False
        self._senders.add(sender_id)
        return True

    def leave(self, sender_id: str) -> None:
        self._senders.discard(sender_id)

    def __contains__(self, sender_id: object) -> bool:
        return sender_id in self._senders


def check_sender(sender: Any) -> str:
    if not isinstance(sender, str) or not SENDER_PATTERN.match(sender):
        raise BadRequest(
            "'sender' must be a conversation id of 1-128 letters, digits or _ . : @ - (the widget sends a random UUID)"
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
    except Exception as exc:  # never let the safety net itself fail silently
        logger.error("triage failed in the channel safety net: %s", type(exc).__name__)
        return []
    if not result.findings:
        return []
    findings = [f.as_dict() for f in result.findings]
    return replies.red_flag_reply(load_catalogue(), load_profile(), findings)


async def red_flags_off_loop(text: str) -> List[dict]:
    """The escalation for red flags in ``text``, triaged in the worker process (a thread
    when it is not running), so the event loop keeps serving everybody else."""
    text = text[: triage_budget(WORKER.waiting, WORKER.chars_per_second)]
    findings = await WORKER.findings(text)
    if findings is None:
        return await asyncio.get_running_loop().run_in_executor(TRIAGE_POOL, red_flag_messages, text)
    return replies.red_flag_reply(load_catalogue(), load_profile(), findings) if findings else []


async def start_worker() -> None:
    """Start the triage worker process (channels call this when their server starts)."""
    await WORKER.start()


async def text_for_rasa(text: str) -> tuple:
    """What Rasa gets for a (cleaned, non-empty) message, and the command it is, if any.

    An exact button payload without a red flag stays a command; everything else that
    starts with "/" loses its leading slashes, so Rasa reads it as words."""
    command = commands.parse_command(text)
    if command is not None:
        if await red_flags_off_loop(text):
            return commands.as_text(text), None
        return commands.rasa_text(command), command
    if text.lstrip().startswith("/"):
        return commands.as_text(text), None
    return text, None


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
        flagged = await red_flags_off_loop(text)
        await send_all(output, sender_id, flagged + replies.too_long_reply(catalogue, profile, MAX_MESSAGE_CHARS))
        return
    text, command = await text_for_rasa(text)
    if not text:  # nothing but slashes
        await send_all(output, sender_id, replies.empty_message_reply(catalogue, profile))
        return
    observed = ObservedOutput(output)
    message = UserMessage(text, observed, sender_id, input_channel=input_channel, metadata=metadata or {})
    try:
        await asyncio.wait_for(on_new_message(message), timeout=TURN_TIMEOUT_SECONDS)
    except asyncio.TimeoutError:
        logger.error("turn took over %.0f s; sending the safe reply", TURN_TIMEOUT_SECONDS)
    except Exception as exc:  # the traceback could hold the message: type only
        logger.error("turn failed (%s); sending the safe reply", type(exc).__name__)
    if observed.sent_custom:
        return
    if command is not None and command.built_in:
        # Rasa's own /restart and /session_start send nothing: greet the fresh conversation.
        await send_all(output, sender_id, restart_reply(catalogue, profile))
        return
    logger.warning("turn produced no reply (action server down?); sending the safe reply")
    flagged = await red_flags_off_loop(text)
    await send_all(output, sender_id, flagged + replies.unavailable_reply(catalogue, profile))


def restart_reply(catalogue, profile) -> List[dict]:
    """The greeting with the topic menu, marked as the start of a fresh conversation."""
    messages = replies.simple_reply(catalogue, profile, "greet", "greet", buttons=replies.menu_buttons(catalogue))
    messages[0]["custom"]["restarted"] = True
    return messages

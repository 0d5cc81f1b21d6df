"""The socket.io channel (``/socket.io``): origin check, bound sessions, rate limit, safety net.

Same events as Rasa's ``SocketIOInput`` (``user_uttered`` / ``bot_uttered``,
``session_request`` / ``session_confirm``), so Rasa's own clients and ``rasa-webchat``
work unchanged, with what a public endpoint needs on top:

* **Origin allow-list on connect**: only the origins of ``assistant.origins`` (the
  assistant's own pages, the clinic profile's ``website_origins`` and ``WEBSITE_ORIGINS``)
  may open a socket; another website's page is refused at the handshake. A malformed
  origin stops the start-up.
* **Sessions bound to a socket**: the session id is issued by the server and signed
  (a version-4 UUID carrying a MAC), so it is a secret only its holder knows; a client presenting an
  id the server did not issue gets a new one. While a socket holds an id no other socket
  can take it over (it gets a new id instead); after a disconnect (a reload) the holder can
  come back with it. A socket that switches ids leaves the old room. Set
  ``SOCKETIO_SESSION_SECRET`` to the same value on every Rasa instance so ids survive a
  move to another instance; without it each process uses a random key.
* **Per-socket rate limit** (token bucket, ``SOCKETIO_BURST`` messages, refilled at
  ``SOCKETIO_RATE`` per second) and a 16 kB frame limit (``max_http_buffer_size``).
* **Output every socket.io client renders**: text and its buttons go out as one
  ``{"text", "buttons"}`` event with ``type: postback`` buttons (rasa-webchat keeps those
  on screen; ``quick_replies`` vanish after the turn), line breaks written as markdown hard
  breaks, and the reply contract's ``custom`` payload as its own ``{"custom": {...}}`` event
  for the project's widget. Escalation wording and numbers are in the text itself.

Every turn goes through ``channels.safety.handle_turn``. Message text is never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
import time
import uuid
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer
from socketio.exceptions import ConnectionRefusedError

from assistant import replies
from assistant.catalogue import load_catalogue
from assistant.clinic import load_profile
from assistant.origins import allowed_origins, is_allowed
from channels.safety import BadRequest, check_message, handle_turn, safe_metadata, send_all, warm_up

logger = logging.getLogger(__name__)

MAX_FRAME_BYTES = 16 * 1024
BURST = int(os.environ.get("SOCKETIO_BURST", "8"))
RATE_PER_SECOND = float(os.environ.get("SOCKETIO_RATE", "0.5"))


def markdown_text(text: str) -> str:
    """Line breaks that survive markdown renderers (rasa-webchat): a single newline would
    collapse bullet lists and exercise steps into one paragraph, so lines inside a
    paragraph end with a hard break ("  \\n"); blank lines stay paragraph breaks."""
    paragraphs = re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip())
    return "\n\n".join("  \n".join(line.strip() for line in p.split("\n") if line.strip()) for p in paragraphs)


class ContractSocketIOOutput(SocketIOOutput):
    """bot_uttered events that rasa-webchat and the project's widget both render."""

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await self._send_message(recipient_id, {"text": markdown_text(text)})

    async def send_text_with_buttons(
        self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]], **kwargs: Any
    ) -> None:
        # Exactly the keys "text" and "buttons": rasa-webchat draws a message with other
        # keys as a custom component (nothing, without one).
        postbacks = [{"type": "postback", "title": b["title"], "payload": b["payload"]} for b in buttons]
        await self._send_message(recipient_id, {"text": markdown_text(text or ""), "buttons": postbacks})

    async def send_quick_replies(
        self, recipient_id: Text, text: Text, quick_replies: List[Dict[Text, Any]], **kwargs: Any
    ) -> None:
        await self.send_text_with_buttons(recipient_id, text, quick_replies)

    async def send_custom_json(self, recipient_id: Text, json_message: Dict[Text, Any], **kwargs: Any) -> None:
        """Rasa's version spreads the payload into ``emit``'s keyword arguments, which
        fails for the reply contract's fields; send it as ``{"custom": {...}}``."""
        await self._send_message(recipient_id, {"custom": json_message})


class SessionBook:
    """Which socket holds which conversation, and whether an id was issued by us."""

    def __init__(self, secret: Optional[str] = None) -> None:
        if not secret:
            logger.info("SOCKETIO_SESSION_SECRET not set: socket.io session ids are valid in this process only")
        self._key = (secret or secrets.token_hex(32)).encode()
        self.by_socket: Dict[str, str] = {}
        self.holder: Dict[str, str] = {}

    def _mac(self, head: bytes) -> bytes:
        mac = bytearray(hmac.new(self._key, head, hashlib.sha256).digest()[:8])
        mac[0] = (mac[0] & 0x3F) | 0x80  # the UUID variant bits
        return bytes(mac)

    def issue(self) -> str:
        """A version-4 UUID whose last 8 bytes are a MAC of the first 8 (60 random bits,
        62 MAC bits): random to anyone else, checkable by every instance sharing the key."""
        head = bytearray(secrets.token_bytes(8))
        head[6] = (head[6] & 0x0F) | 0x40  # version 4
        return str(uuid.UUID(bytes=bytes(head) + self._mac(bytes(head))))

    def genuine(self, session_id: Any) -> bool:
        if not isinstance(session_id, str) or len(session_id) > 40:
            return False
        try:
            raw = uuid.UUID(session_id).bytes
        except ValueError:
            return False
        return hmac.compare_digest(raw[8:], self._mac(raw[:8])) and str(uuid.UUID(bytes=raw)) == session_id

    def claim(self, sid: str, requested: Any) -> str:
        """The id ``sid`` may use: the one it asked for when genuine and free (or already
        its own), else a new one. Returns the id; the caller updates the rooms."""
        holder = self.holder.get(requested) if isinstance(requested, str) else None
        if self.genuine(requested) and holder in (None, sid):
            chosen = str(requested)
        else:
            if holder not in (None, sid):
                logger.info("socket.io: a session id held by another socket was requested; issued a new one")
            chosen = self.issue()
        self.release(sid)
        self.by_socket[sid] = chosen
        self.holder[chosen] = sid
        return chosen

    def release(self, sid: str) -> Optional[str]:
        old = self.by_socket.pop(sid, None)
        if old is not None and self.holder.get(old) == sid:
            del self.holder[old]
        return old


class RateLimit:
    """Token bucket per socket: ``burst`` messages at once, ``rate`` per second after."""

    def __init__(self, burst: int = BURST, rate: float = RATE_PER_SECOND) -> None:
        self.burst, self.rate = burst, rate
        self.buckets: Dict[str, List[float]] = {}

    def allow(self, sid: str, now: Optional[float] = None) -> bool:
        now = time.monotonic() if now is None else now
        tokens, last = self.buckets.get(sid, [float(self.burst), now])
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        allowed = tokens >= 1.0
        self.buckets[sid] = [tokens - 1.0 if allowed else tokens, now]
        return allowed

    def forget(self, sid: str) -> None:
        self.buckets.pop(sid, None)


class SafeSocketIOInput(SocketIOInput):
    @classmethod
    def name(cls) -> Text:
        return "socketio"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        warm_up()
        origins = allowed_origins()  # raises OriginError (a clear start-up error) when malformed
        logger.info("socket.io: allowed origins %s", " ".join(origins))
        # cors_allowed_origins=[]: engine.io adds no CORS headers of its own (Rasa's --cors,
        # made from the same list, does; two would clash); the origin is checked on connect.
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=[], max_http_buffer_size=MAX_FRAME_BYTES)
        webhook = SocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)
        self.sio = sio
        book = SessionBook(os.environ.get("SOCKETIO_SESSION_SECRET"))
        limits = RateLimit()
        warned: Dict[str, bool] = {}

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect", namespace=self.namespace)
        async def connect(sid: Text, environ: Dict, auth: Optional[Dict] = None) -> bool:
            if not is_allowed(environ.get("HTTP_ORIGIN"), origins):
                logger.warning(
                    "socket.io: connection refused: origin %.100r is not allowed", environ.get("HTTP_ORIGIN")
                )
                raise ConnectionRefusedError("origin not allowed")
            return True

        async def bind(sid: Text, requested: Any) -> Text:
            old = book.by_socket.get(sid)
            session_id = book.claim(sid, requested)
            if old and old != session_id:
                await sio.leave_room(sid, old, namespace=self.namespace)
            await sio.enter_room(sid, session_id, namespace=self.namespace)
            await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)
            return session_id

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: Text, data: Any = None) -> None:
            await bind(sid, data.get("session_id") if isinstance(data, dict) else None)

        @sio.on("disconnect", namespace=self.namespace)
        async def disconnect(sid: Text, *_: Any) -> None:
            book.release(sid)
            limits.forget(sid)
            warned.pop(sid, None)

        async def over_limit(sid: Text, sender_id: Text, output: ContractSocketIOOutput) -> None:
            # One notice (with the emergency number) per burst, then silence until the
            # bucket refills: a flood must not become a flood of replies.
            if not warned.get(sid):
                warned[sid] = True
                logger.warning("socket.io: rate limit reached for a socket")
                notice = replies.unavailable_reply(load_catalogue(), load_profile())
                notice[0]["custom"]["rate_limited"] = True
                await send_all(output, sender_id, notice)

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: Text, data: Any = None) -> None:
            output = ContractSocketIOOutput(sio, self.bot_message_evt)
            if not isinstance(data, dict):
                await sio.emit(
                    "error", {"error": "user_uttered takes an object with 'message' and 'session_id'"}, room=sid
                )
                return
            sender_id = book.by_socket.get(sid)
            if sender_id is None:  # no session_request first: treat the message's id as one
                sender_id = await bind(sid, data.get("session_id"))
            if not limits.allow(sid):
                await over_limit(sid, sender_id, output)
                return
            warned.pop(sid, None)
            try:
                text = check_message(data.get("message", ""))
            except BadRequest as problem:
                await sio.emit("error", {"error": str(problem)}, room=sid)
                return
            raw_meta = data.get(self.metadata_key) or data.get("customData")
            await handle_turn(on_new_message, text, sender_id, output, self.name(), safe_metadata(raw_meta))

        return webhook

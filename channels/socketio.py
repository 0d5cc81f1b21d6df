"""The socket.io channel (``/socket.io``) with input checks and the safety net.

Same events and settings as Rasa's ``SocketIOInput`` (``user_uttered`` / ``bot_uttered``,
``session_request`` / ``session_confirm``); the message handler is replaced so that
malformed events get a polite reply instead of an exception, and every turn goes through
``channels.safety.handle_turn``.
"""
import logging
import uuid
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

from channels.safety import BadRequest, check_message, check_sender, handle_turn, safe_metadata, warm_up

logger = logging.getLogger(__name__)


class ContractSocketIOOutput(SocketIOOutput):
    """Rasa's SocketIOOutput passes a custom payload to ``emit`` as keyword arguments,
    which fails for the reply contract's fields; send it as ``{"custom": {...}}``."""

    async def send_custom_json(self, recipient_id: Text, json_message: Dict[Text, Any], **kwargs: Any) -> None:
        await self._send_message(recipient_id, {"custom": json_message})


class SafeSocketIOInput(SocketIOInput):
    @classmethod
    def name(cls) -> Text:
        return "socketio"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        warm_up()
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=[])
        webhook = SocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)
        self.sio = sio
        # The conversation id a socket asked for at session_request is pinned to that
        # socket: a later user_uttered cannot switch it to another patient's conversation.
        sessions: Dict[Text, Text] = {}

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect", namespace=self.namespace)
        async def connect(sid: Text, environ: Dict, auth: Optional[Dict] = None) -> bool:
            return True

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: Text, data: Any = None) -> None:
            session_id = data.get("session_id") if isinstance(data, dict) else None
            try:
                session_id = check_sender(session_id)
            except BadRequest:
                session_id = uuid.uuid4().hex
            sessions[sid] = session_id
            if self.session_persistence:
                await sio.enter_room(sid, session_id)
            await sio.emit("session_confirm", session_id, room=sid)

        @sio.on("disconnect", namespace=self.namespace)
        async def disconnect(sid: Text) -> None:
            sessions.pop(sid, None)

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: Text, data: Any = None) -> None:
            output = ContractSocketIOOutput(sio, self.bot_message_evt)
            if not isinstance(data, dict):
                await sio.emit("error", {"error": "user_uttered takes an object with 'message' and 'session_id'"}, room=sid)
                return
            try:
                if not self.session_persistence:
                    sender_id = sid
                elif sid in sessions:
                    sender_id = sessions[sid]
                else:  # no session_request first: pin the id it sent, as Rasa's client expects
                    sender_id = sessions[sid] = check_sender(data.get("session_id"))
                    await sio.enter_room(sid, sender_id)
                text = check_message(data.get("message", ""))
            except BadRequest as problem:
                await sio.emit("error", {"error": str(problem)}, room=sid)
                return
            # Replies go to the socket that asked (SocketIOOutput sends to the room named
            # like the recipient id); with session persistence that room is the session id.
            metadata = safe_metadata(data.get(self.metadata_key))
            await handle_turn(on_new_message, text, sender_id, output, self.name(), metadata)

        return webhook

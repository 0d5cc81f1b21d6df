"""The REST channel (``POST /webhooks/rest/webhook``) with input checks and the safety net.

Besides Rasa's own checks:

* 415 unless the request says ``Content-Type: application/json``: a form post or
  ``text/plain`` from any web page would otherwise need no CORS preflight;
* 413 over ``MAX_BODY_BYTES``, 400 for a malformed body (never a 5xx);
* 429 ``{"error": ..., "retry": true}`` at once while a turn for the same sender is still
  under way in this process (the widget and kiosk wait for each reply anyway);
* ``POST /webhooks/rest/forget`` ``{"sender": "<uuid>"}`` deletes that conversation from
  the tracker store (the kiosk's "start again"; see channels/forget.py). Only UUID
  conversation ids can be forgotten; the answer is 200 ``{"forgotten": true}`` whether
  or not the conversation existed, so it tells nothing about other ids.

When ``ACTION_SERVER_TOKEN`` is set, the Rasa server sends it to the action server as
``Authorization: Bearer <token>`` (serving/action_server.py checks it). It is added to
the agent's action endpoint at start-up rather than written into endpoints.yml, because
Rasa refuses to start on an unset ``${VAR}`` and the token is optional.
"""

import json
import logging
import os
import re
from typing import Any, Awaitable, Callable, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.core.lock_store import LockError
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels.forget import NotSupported, forget
from channels.safety import (
    BadRequest,
    InFlight,
    check_message,
    check_sender,
    handle_turn,
    safe_metadata,
    start_worker,
    warm_up,
)

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1_000_000
UUID_PATTERN = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def error(status: int, reason: str, **extra: Any) -> HTTPResponse:
    return response.json({"error": reason, **extra}, status=status)


def json_body(request: Request) -> Any:
    """The request's JSON object, or an error response to send instead."""
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type != "application/json":
        return error(415, "send JSON with Content-Type: application/json")
    if len(request.body or b"") > MAX_BODY_BYTES:
        return error(413, "request body too large")
    try:
        body = json.loads((request.body or b"").decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return error(400, 'body must be JSON (UTF-8) like {"sender": "<id>", "message": "<text>"}')
    if not isinstance(body, dict):
        return error(400, "body must be a JSON object")
    return body


def send_action_token(app: Sanic) -> None:
    """Make Rasa send ACTION_SERVER_TOKEN (when set) with every call to the action server."""
    token = os.environ.get("ACTION_SERVER_TOKEN", "")
    agent = getattr(app.ctx, "agent", None)
    endpoint = getattr(agent, "action_endpoint", None)
    if not token or endpoint is None:
        return
    endpoint.headers = {**(endpoint.headers or {}), "Authorization": f"Bearer {token}"}
    processor = getattr(agent, "processor", None)
    if processor is not None and getattr(processor, "action_endpoint", None) not in (None, endpoint):
        processor.action_endpoint.headers = dict(endpoint.headers)
    logger.info("action server calls carry the shared token")


class SafeRestInput(RestInput):
    """Rasa's REST channel with the checks above."""

    in_flight = InFlight()

    @classmethod
    def name(cls) -> Text:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        warm_up()
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @webhook.listener("after_server_start")
        async def on_start(app: Sanic, _: Any) -> None:
            send_action_token(app)
            app.add_task(start_worker())

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            body = json_body(request)
            if isinstance(body, HTTPResponse):
                return body
            try:
                sender_id = check_sender(body.get("sender"))
                text = check_message(body.get("message"))
            except BadRequest as problem:
                return error(400, str(problem))
            if not self.in_flight.enter(sender_id):
                return error(429, "still answering your previous message: please wait for it", retry=True)
            try:
                collector = CollectingOutputChannel()
                await handle_turn(
                    on_new_message, text, sender_id, collector, self.name(), safe_metadata(body.get("metadata"))
                )
            finally:
                self.in_flight.leave(sender_id)
            return response.json(collector.messages)

        @webhook.route("/forget", methods=["POST"])
        async def forget_conversation(request: Request) -> HTTPResponse:
            body = json_body(request)
            if isinstance(body, HTTPResponse):
                return body
            sender = body.get("sender")
            if not isinstance(sender, str) or not UUID_PATTERN.match(sender):
                return error(400, "'sender' must be the conversation's UUID")
            return await self._forget(request, sender)

        return webhook

    async def _forget(self, request: Request, sender: str) -> HTTPResponse:
        agent: Optional[Any] = getattr(request.app.ctx, "agent", None)
        try:
            deleted = await forget(agent, sender)
        except NotSupported as kind:
            logger.warning("forget is not supported with this tracker store (%s)", kind)
            return error(404, "forgetting a conversation is not available on this server")
        except LockError:  # a turn of this conversation holds the lock for too long
            return error(409, "the conversation is busy: try again", retry=True)
        except Exception as exc:  # the database is down: the kiosk may try again
            logger.error("forget failed: %s", type(exc).__name__)
            return error(503, "could not forget the conversation now: try again", retry=True)
        logger.info("a conversation was forgotten on request (%d event(s))", deleted)
        return response.json({"forgotten": True})

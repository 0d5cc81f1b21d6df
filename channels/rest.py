"""The REST channel (``POST /webhooks/rest/webhook``) with input checks and the safety net."""
import json
import logging
from typing import Any, Awaitable, Callable, Text

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels.safety import BadRequest, check_message, check_sender, handle_turn, safe_metadata, warm_up

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1_000_000


def error(status: int, reason: str) -> HTTPResponse:
    return response.json({"error": reason}, status=status)


class SafeRestInput(RestInput):
    @classmethod
    def name(cls) -> Text:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        warm_up()
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if len(request.body or b"") > MAX_BODY_BYTES:
                return error(413, "request body too large")
            try:
                body = json.loads((request.body or b"").decode("utf-8"))
            except (UnicodeDecodeError, ValueError, RecursionError):
                return error(400, "body must be JSON (UTF-8) like {\"sender\": \"<id>\", \"message\": \"<text>\"}")
            if not isinstance(body, dict):
                return error(400, "body must be a JSON object")
            try:
                sender_id = check_sender(body.get("sender"))
                text = check_message(body.get("message"))
            except BadRequest as problem:
                return error(400, str(problem))
            collector = CollectingOutputChannel()
            await handle_turn(
                on_new_message, text, sender_id, collector, self.name(), safe_metadata(body.get("metadata"))
            )
            return response.json(collector.messages)

        return webhook

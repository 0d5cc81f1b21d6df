"""The action server: rasa_sdk's action executor behind a hardened Sanic app.

Why not plain ``rasa run actions``: rasa_sdk 3.6's endpoint answers any failing request
with ``{"error": str(exc), "request_body": <the whole tracker>}`` and logs the exception
with the request; Rasa then logs that body at ERROR, so one bug in an action wrote a
patient's whole conversation into ``rasa.log``. It also inflates ``Content-Encoding:
deflate`` bodies without limit, listens on 0.0.0.0 and has no authentication. This app
runs the same ``ActionExecutor`` (same actions, same wire format) but

* answers errors with a short fixed body (never the request) and logs only the action
  name and the exception type;
* checks an optional shared token: when ``ACTION_SERVER_TOKEN`` is set, every request
  except ``GET /health`` needs ``Authorization: Bearer <token>`` (401 otherwise), also
  ``GET /actions``. The Rasa side sends it: ``channels/rest.py`` adds the header to the
  agent's action endpoint when the same variable is set in Rasa's environment;
* refuses compressed bodies other than deflate/gzip (415) and inflates those two only up
  to the request size limit (413 beyond), never unbounded;
* listens on ``SANIC_HOST`` (default 127.0.0.1, not rasa_sdk's 0.0.0.0), bounds bodies
  with ``SANIC_REQUEST_MAX_SIZE`` (default 4 MB: a long conversation's tracker) and keeps
  Sanic's access log off.

Command line (from the project root, ``PYTHONPATH`` = the project root)::

    python -m serving.action_server --port 5055 [--actions actions] [--host 127.0.0.1]

Environment: ``ACTION_SERVER_TOKEN`` (optional; the same value must be in the Rasa
server's environment), ``SANIC_HOST`` (127.0.0.1), ``SANIC_REQUEST_MAX_SIZE`` (4000000),
``ACTIONS_PORT`` (5055, when --port is not given), ``LOG_LEVEL`` (INFO), ``CLINIC_PROFILE``.
"""

from __future__ import annotations

import argparse
import hmac
import json
import logging
import os
import zlib
from typing import Any, Dict, Optional, Tuple

from sanic import Sanic, response
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

logger = logging.getLogger(__name__)

DEFAULT_MAX_BODY = 4_000_000
PUBLIC_PATHS = {"/health"}


class BodyError(Exception):
    """A request body we refuse, with its HTTP status and a short public reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


def max_body_bytes() -> int:
    try:
        return max(1024, int(os.environ.get("SANIC_REQUEST_MAX_SIZE", DEFAULT_MAX_BODY)))
    except ValueError:
        return DEFAULT_MAX_BODY


def bounded_inflate(data: bytes, encoding: str, limit: int) -> bytes:
    """Inflate a deflate (zlib or raw) or gzip body, never past ``limit`` bytes: a
    300 kB deflate bomb must not become 300 MB in memory."""
    if encoding == "gzip":
        wbits_options = [16 + zlib.MAX_WBITS]
    else:  # "deflate" is zlib-wrapped in practice (aiohttp, rasa); raw deflate also seen
        wbits_options = [zlib.MAX_WBITS, -zlib.MAX_WBITS]
    for wbits in wbits_options:
        inflater = zlib.decompressobj(wbits)
        try:
            out = inflater.decompress(data, limit + 1)
        except zlib.error:
            continue
        if len(out) > limit or inflater.unconsumed_tail:
            raise BodyError(413, "request body too large")
        return out
    raise BodyError(400, "body is not valid compressed data")


def decode_body(request: Request, limit: int) -> Any:
    """The JSON action call of a request, after the Content-Encoding checks."""
    encoding = (request.headers.get("content-encoding") or "identity").strip().lower()
    data = request.body or b""
    if encoding in {"deflate", "gzip"}:
        data = bounded_inflate(data, encoding, limit)
    elif encoding != "identity":
        raise BodyError(415, "unsupported content encoding")
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BodyError(400, "body must be a JSON action call") from None


def check_action_call(call: Any) -> Tuple[str, Dict[str, Any]]:
    if not isinstance(call, dict):
        raise BodyError(400, "body must be a JSON object")
    name, tracker = call.get("next_action"), call.get("tracker")
    if not isinstance(name, str) or not name or not isinstance(tracker, dict):
        raise BodyError(400, "an action call needs next_action and tracker")
    if not isinstance(call.get("domain", {}), dict):
        raise BodyError(400, "domain must be an object")
    return name, call


def authorised(request: Request, token: str) -> bool:
    header = request.headers.get("authorization") or ""
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


class _DropEventContents(logging.Filter):
    """rasa_sdk logs an invalid event's contents at DEBUG; events can hold message text."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Contents of ignored event")


def create_app(package: str = "actions", token: Optional[str] = None) -> Sanic:
    """The action server app; ``token`` (default: ACTION_SERVER_TOKEN) guards every route but /health."""
    from rasa_sdk.executor import ActionExecutor
    from rasa_sdk.interfaces import ActionExecutionRejection, ActionNotFoundException

    token = os.environ.get("ACTION_SERVER_TOKEN", "") if token is None else token
    limit = max_body_bytes()
    app = Sanic("gluteus_action_server", configure_logging=False)
    app.config.REQUEST_MAX_SIZE = limit
    executor = ActionExecutor()
    executor.register_package(package)
    logging.getLogger("rasa_sdk.executor").addFilter(_DropEventContents())

    @app.middleware("request")
    async def guard(request: Request) -> Optional[HTTPResponse]:
        if token and request.path not in PUBLIC_PATHS and not authorised(request, token):
            return response.json({"error": "unauthorised"}, status=401)
        return None

    @app.get("/health")
    async def health(_: Request) -> HTTPResponse:
        return response.json({"status": "ok"})

    @app.get("/actions")
    async def actions(_: Request) -> HTTPResponse:
        return response.json([{"name": name} for name in executor.actions])

    @app.post("/webhook")
    async def webhook(request: Request) -> HTTPResponse:
        try:
            name, call = check_action_call(decode_body(request, limit))
        except BodyError as problem:
            return response.json({"error": problem.reason}, status=problem.status)
        try:
            result = await executor.run(call)
        except ActionNotFoundException:
            logger.warning("a request named an action that is not registered")
            return response.json({"error": "unknown action"}, status=404)
        except ActionExecutionRejection:
            logger.info("action %s rejected its execution", name)
            return response.json({"error": "action rejected", "action_name": name}, status=400)
        except Exception as exc:  # never echo the body: it is the patient's conversation
            logger.error("action %s failed: %s", name, type(exc).__name__)
            return response.json({"error": "action failed", "action_name": name}, status=500)
        return response.json(result)

    @app.exception(Exception)
    async def on_error(request: Request, exc: Exception) -> HTTPResponse:
        status = exc.status_code if isinstance(exc, SanicException) else 500
        if status >= 500:
            logger.error("request to %s failed: %s", request.path, type(exc).__name__)
        return response.json({"error": "request failed" if status >= 500 else type(exc).__name__}, status=status)

    return app


def main(argv: Optional[list] = None) -> None:
    parser = argparse.ArgumentParser(description="The assistant's action server (see the module docstring).")
    parser.add_argument("--actions", default="actions", help="package with the actions (default: actions)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("ACTIONS_PORT", "5055")))
    parser.add_argument("--host", default=os.environ.get("SANIC_HOST", "127.0.0.1"))
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)-7s %(name)s  - %(message)s",
    )
    app = create_app(args.actions)
    logger.info(
        "action server on http://%s:%d (token %s)",
        args.host,
        args.port,
        "required" if os.environ.get("ACTION_SERVER_TOKEN") else "not set",
    )
    app.run(host=args.host, port=args.port, workers=1, access_log=False, motd=False)


if __name__ == "__main__":
    main()

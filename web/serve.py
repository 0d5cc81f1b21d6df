#!/usr/bin/env python3
"""Serve the assistant's two front ends: the demo page with the chat widget and the kiosk.

Standard-library HTTP server; the clinic profile and the content are read through the
assistant's own modules (assistant.clinic, assistant.catalogue via web/public_settings.py),
so there is one profile parser in the project.

Routes
  /             demo clinic page with the widget (one <script> tag, settings in data-*)
  /visit        a second demo page, to show the conversation surviving navigation
  /kiosk        the front-desk kiosk (full screen, nothing kept in the browser)
  /static/...   the widget, kiosk and shared assets (served from web/static)
  /assistant.json  the clinic's name, phone, booking link and emergency / urgent / crisis
                numbers, topic titles and red-flag labels: the widget and the kiosk read
                them at start-up (data- attributes only override). CORS: any origin (public)
  /qr/booking.svg, /qr/phone.svg  the kiosk's QR codes (booking link, tel: the clinic)
  /healthz      "ok", for start-up scripts
  /staff/insights, /staff/insights.csv  clinic insights for staff (web/staff.py): 404 unless
                STAFF_TOKEN is set; 401 without the token (Bearer header or the sign-in form's
                cookie, POST /staff/signin); never cached

Settings, read once at start-up (flags win over the environment):
  --host (--bind) / WEB_HOST   address to listen on (default 127.0.0.1)
  --port / WEB_PORT            port (default 8080)
  --rasa-url / RASA_URL        the Rasa server's base URL as the browser sees it. When empty,
                               each page uses its own host name with RASA_PORT (default 5005).
  --transport / WEB_TRANSPORT  rest (default) or socketio
  --clinic-profile / CLINIC_PROFILE  clinic profile YAML (default clinic/profile.yml)
  --kiosk-idle / KIOSK_IDLE_SECONDS  kiosk idle time before "still there?" (default 90)
  STAFF_TOKEN                  turns the staff pages on (environment only, >= 16 characters)
  TRACKER_DB_URL, else --endpoints / ENDPOINTS (endpoints.yml, ${TRACKER_DB})  where the
                               staff pages read the conversations (as scripts/retention.py)

Every response carries a Content-Security-Policy without 'unsafe-inline' scripts,
X-Content-Type-Options, Referrer-Policy and friends. Requests are logged as method, path
(without the query string) and status only; request bodies are never read nor logged (the
staff sign-in form's, at most 2 kB, is read and never logged).
The listen backlog is 128 and every connection has a socket time-out (SOCKET_TIMEOUT
seconds), so a burst of connections is served quickly and idle ones do not hold threads.
"""

from __future__ import annotations

import argparse
import html
import json
import logging
import mimetypes
import os
import posixpath
import re
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, Optional
from urllib.parse import unquote, urlsplit

logger = logging.getLogger("web.serve")

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
TEMPLATE_DIR = WEB_DIR / "templates"
REPO_DIR = WEB_DIR.parent
if str(REPO_DIR) not in sys.path:  # run as `python web/serve.py`: the assistant package
    sys.path.insert(0, str(REPO_DIR))

from public_settings import clinic_settings, profile_from, public_settings, qr_svg  # noqa: E402
from staff import ConfigError, Reply, StaffSite, staff_site_from_env  # noqa: E402

SOCKET_TIMEOUT = float(os.environ.get("WEB_SOCKET_TIMEOUT", "15"))  # idle seconds per connection
LISTEN_BACKLOG = 128

CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".woff2": "font/woff2",
}


# --------------------------------------------------------------------------- pages
class Settings:
    def __init__(self, args: argparse.Namespace) -> None:
        self.rasa_url = (args.rasa_url or "").rstrip("/")
        self.rasa_port = str(args.rasa_port)
        self.transport = args.transport
        self.kiosk_idle = str(args.kiosk_idle)
        clinic = profile_from(args.clinic_profile)
        self.profile = clinic_settings(clinic)
        self.public_json = json.dumps(public_settings(clinic), ensure_ascii=False).encode("utf-8")
        self.staff: StaffSite = staff_site_from_env(os.environ, Path(args.endpoints))

    def rasa_url_for(self, host_header: Optional[str]) -> str:
        if self.rasa_url:
            return self.rasa_url
        hostname = "127.0.0.1"
        if host_header:
            # "[::1]:8080" or "example.org:8080" -> host part only
            m = re.match(r"^(\[[^\]]+\]|[^:]+)", host_header.strip())
            if m and re.fullmatch(r"\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+", m.group(1)):
                hostname = m.group(1)
        return f"http://{hostname}:{self.rasa_port}"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def content_security_policy(rasa_url: str) -> str:
    connect = ["'self'"]
    origin = _origin(rasa_url)
    if origin:
        connect.append(origin)
        ws = origin.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
        connect.append(ws)
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src " + " ".join(connect),
            "media-src 'none'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def render_template(name: str, values: Dict[str, str]) -> bytes:
    text = (TEMPLATE_DIR / name).read_text(encoding="utf-8")

    def sub(match: "re.Match[str]") -> str:
        return html.escape(values.get(match.group(1), ""), quote=True)

    return re.sub(r"\{\{\s*([a-z_]+)\s*\}\}", sub, text).encode("utf-8")


def page_values(settings: Settings, host_header: Optional[str], query: str) -> Dict[str, str]:
    p = settings.profile
    transport = settings.transport
    # Demo page only: ?transport=socketio tries the other channel without a restart.
    m = re.search(r"(?:^|&)transport=(rest|socketio)(?:&|$)", query or "")
    if m:
        transport = m.group(1)
    return {
        "rasa_url": settings.rasa_url_for(host_header),
        "transport": transport,
        "kiosk_idle": settings.kiosk_idle,
        "clinic_name": p["clinic_name"] or "Our clinic",
        "clinic_phone": p["clinic_phone"],
        "booking_url": p["booking_url"],
        "hours": p["hours"],
        "address": p["address"],
        "emergency_number": p["emergency_number"],
        "emergency_department": p["emergency_department"],
        "urgent_line": p["urgent_line"],
        "crisis_line": p["crisis_line"],
        # visible-text versions with the wording of shared/clinical/red-flags.md
        "emergency_number_text": p["emergency_number"] or "your local emergency number",
        "emergency_department_text": p["emergency_department"] or "emergency department",
        "clinic_phone_text": p["clinic_phone"] or "the clinic",
        "hours_text": p["hours"] or "Opening hours: please call us.",
        "address_text": p["address"] or "Please call us for directions.",
    }


ROUTES = {"/": "index.html", "/visit": "visit.html", "/kiosk": "kiosk.html"}


class Handler(BaseHTTPRequestHandler):
    server_version = "clinic-assistant-web"
    timeout = SOCKET_TIMEOUT  # StreamRequestHandler sets it on the connection
    sys_version = ""
    settings: Settings  # set on the class by make_server

    # -- logging: method, path without query, status. Never bodies, never queries.
    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        path = urlsplit(self.path).path if isinstance(self.path, str) else "-"
        logger.info("%s %s %s", self.command, path[:200], getattr(code, "value", code))

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        logger.debug("http: " + format, *args)

    def log_error(self, format: str, *args: Any) -> None:  # noqa: A002
        logger.warning("http error: " + format, *args)

    # -- headers
    def _security_headers(self, csp: str) -> None:
        self.send_header("Content-Security-Policy", csp)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")

    def _send(
        self, status: int, body: bytes, ctype: str, *, static: bool = False, head: bool = False, extra: tuple = ()
    ) -> None:
        rasa_url = self.settings.rasa_url_for(self.headers.get("Host"))
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra:
            self.send_header(name, value)
        self._security_headers(content_security_policy(rasa_url))
        if static:
            # The widget's script and styles are loaded by other sites' pages.
            self.send_header("Cross-Origin-Resource-Policy", "cross-origin")
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Cache-Control", "no-cache")
        else:
            self.send_header("X-Frame-Options", "DENY")
            self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _error(self, status: int, head: bool = False) -> None:
        body = f"{status} {HTTPStatus(status).phrase}\n".encode()
        self._send(status, body, "text/plain; charset=utf-8", head=head)

    # -- methods
    def do_GET(self) -> None:  # noqa: N802
        self._handle(head=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self._handle(head=True)

    def _not_allowed(self) -> None:
        # Do not read the body: it is never needed and never logged.
        self.close_connection = True
        self.send_response(HTTPStatus.METHOD_NOT_ALLOWED)
        self.send_header("Allow", "GET, HEAD")
        self.send_header("Content-Length", "0")
        self._security_headers("default-src 'none'")
        self.end_headers()

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _not_allowed  # noqa: N815

    def do_POST(self) -> None:  # noqa: N802
        path = urlsplit(self.path).path
        if not StaffSite.owns(path):
            self._not_allowed()
            return
        reply = self.settings.staff.post(path, self.headers, self.rfile.read, self.client_address[0])
        self.close_connection = True  # a body that was not read must never become the next request
        self._staff_reply(reply, head=False)

    def _staff_reply(self, reply: Reply, head: bool) -> None:
        self._send(reply.status, reply.body, reply.ctype, head=head, extra=tuple(reply.headers))

    def _handle(self, head: bool) -> None:
        parts = urlsplit(self.path)
        path = parts.path
        if path == "/healthz":
            self._send(200, b"ok\n", "text/plain; charset=utf-8", head=head)
            return
        if path == "/assistant.json":
            self._send(200, self.settings.public_json, "application/json", static=True, head=head)
            return
        if path in ("/qr/booking.svg", "/qr/phone.svg"):
            self._qr(path, head)
            return
        if StaffSite.owns(path):
            reply = self.settings.staff.get(path, parts.query, self.headers, self.client_address[0])
            self._staff_reply(reply, head)
            return
        if path in ROUTES:
            values = page_values(self.settings, self.headers.get("Host"), parts.query)
            body = render_template(ROUTES[path], values)
            self._send(200, body, "text/html; charset=utf-8", head=head)
            return
        if path == "/favicon.ico":
            path = "/static/favicon.svg"
        if path.startswith("/static/"):
            file = self._static_file(path[len("/static/") :])
            if file is None:
                self._error(404, head)
                return
            ctype = CONTENT_TYPES.get(file.suffix.lower()) or (
                mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            )
            self._send(200, file.read_bytes(), ctype, static=True, head=head)
            return
        self._error(404, head)

    def _qr(self, path: str, head: bool) -> None:
        p = self.settings.profile
        data = (
            p["booking_url"]
            if path == "/qr/booking.svg"
            else ("tel:" + re.sub(r"[^0-9+]", "", p["clinic_phone"]) if p["clinic_phone"] else "")
        )
        if not data:
            self._error(404, head)
            return
        body = qr_svg(data, "Book online" if "booking" in path else "Call " + p["clinic_phone"])
        self._send(200, body, "image/svg+xml", static=True, head=head)

    @staticmethod
    def _static_file(rel: str) -> Optional[Path]:
        rel = unquote(rel)
        if "\x00" in rel or "\\" in rel:
            return None
        norm = posixpath.normpath("/" + rel).lstrip("/")
        if not norm or norm.startswith("..") or any(p.startswith(".") for p in norm.split("/")):
            return None
        file = (STATIC_DIR / norm).resolve()
        try:
            file.relative_to(STATIC_DIR.resolve())
        except ValueError:
            return None
        return file if file.is_file() else None


def make_server(args: argparse.Namespace) -> ThreadingHTTPServer:
    handler = type("BoundHandler", (Handler,), {"settings": Settings(args)})
    server_class = type("Server", (ThreadingHTTPServer,), {"request_queue_size": LISTEN_BACKLOG})
    server = server_class((args.host, args.port), handler)
    server.daemon_threads = True
    return server


def parse_args(argv: Optional[list] = None) -> argparse.Namespace:
    env = os.environ
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", "--bind", dest="host", default=env.get("WEB_HOST", "127.0.0.1"))
    ap.add_argument("--port", type=int, default=int(env.get("WEB_PORT", "8080")))
    ap.add_argument("--rasa-url", default=env.get("RASA_URL", ""))
    ap.add_argument("--rasa-port", default=env.get("RASA_PORT", "5005"))
    ap.add_argument("--transport", choices=("rest", "socketio"), default=env.get("WEB_TRANSPORT", "rest") or "rest")
    ap.add_argument("--clinic-profile", default=env.get("CLINIC_PROFILE", "clinic/profile.yml"))
    ap.add_argument("--kiosk-idle", type=int, default=int(env.get("KIOSK_IDLE_SECONDS", "90")))
    ap.add_argument("--endpoints", default=env.get("ENDPOINTS", "endpoints.yml"), help="where the tracker store is")
    return ap.parse_args(argv)


def main(argv: Optional[list] = None) -> int:
    logging.basicConfig(
        level=os.environ.get("WEB_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    args = parse_args(argv)
    try:
        server = make_server(args)
    except ConfigError as problem:
        print(f"web: not started: {problem}", file=sys.stderr)
        return 2
    host = args.host if args.host not in ("0.0.0.0", "::") else "localhost"
    print(f"web: widget demo http://{host}:{args.port}/  kiosk http://{host}:{args.port}/kiosk", flush=True)
    if server.RequestHandlerClass.settings.staff.enabled:  # type: ignore[attr-defined]
        print(f"web: staff insights http://{host}:{args.port}/staff/insights (sign in with STAFF_TOKEN)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Serve the assistant's two front ends: the demo page with the chat widget and the kiosk.

Standard library only (PyYAML is used for the clinic profile when it is installed, with a
small fallback reader for the flat profile file otherwise).

Routes
  /             demo clinic page with the widget (one <script> tag, settings in data-*)
  /visit        a second demo page, to show the conversation surviving navigation
  /kiosk        the front-desk kiosk (full screen, nothing kept in the browser)
  /static/...   the widget, kiosk and shared assets (served from web/static)
  /healthz      "ok", for start-up scripts

Settings, read once at start-up (flags win over the environment):
  --host (--bind) / WEB_HOST   address to listen on (default 127.0.0.1)
  --port / WEB_PORT            port (default 8080)
  --rasa-url / RASA_URL        the Rasa server's base URL as the browser sees it. When empty,
                               each page uses its own host name with RASA_PORT (default 5005).
  --transport / WEB_TRANSPORT  rest (default) or socketio
  --clinic-profile / CLINIC_PROFILE  clinic profile YAML (default clinic/profile.yml)
  --kiosk-idle / KIOSK_IDLE_SECONDS  kiosk idle time before "still there?" (default 90)

Every response carries a Content-Security-Policy without 'unsafe-inline' scripts,
X-Content-Type-Options, Referrer-Policy and friends. Requests are logged as method, path
(without the query string) and status only; request bodies are never read nor logged.
"""
from __future__ import annotations

import argparse
import html
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

PROFILE_KEYS = (
    "name",
    "phone",
    "booking_url",
    "hours",
    "address",
    "emergency_number",
    "emergency_department",
    "urgent_line",
)

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


# --------------------------------------------------------------------------- profile
def _scalar(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    if value.startswith("#"):
        return ""
    # strip a trailing comment (" # ...") on unquoted scalars
    return re.split(r"\s+#", value, maxsplit=1)[0].strip()


def _read_flat_yaml(text: str) -> Dict[str, Any]:
    """Tiny reader for a flat `key: value` file with optional `- item` lists.

    Only used when PyYAML is not installed; the clinic profile is flat.
    """
    data: Dict[str, Any] = {}
    current: Optional[str] = None
    for raw in text.splitlines():
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        if not raw.startswith((" ", "\t", "-")):
            key, _, rest = raw.partition(":")
            current = key.strip()
            data[current] = _scalar(rest) if rest.strip() else []
        elif current is not None and raw.strip().startswith("- "):
            if not isinstance(data[current], list):
                data[current] = [data[current]] if data[current] else []
            data[current].append(_scalar(raw.strip()[2:]))
    return data


def _as_text(value: Any) -> str:
    """Profile values may be strings, numbers, lists or day->hours mappings."""
    if value is None:
        return ""
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_as_text(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return "; ".join(_as_text(v) for v in value if _as_text(v))
    return str(value).strip()


def load_profile(path: Optional[str]) -> Dict[str, str]:
    """Read the clinic profile; missing file or keys give empty strings."""
    profile = {key: "" for key in PROFILE_KEYS}
    if not path:
        return profile
    file = Path(path)
    if not file.is_absolute():
        file = (Path.cwd() / file) if (Path.cwd() / file).exists() else REPO_DIR / file
    if not file.exists():
        logger.warning("clinic profile %s not found; using empty settings", file)
        return profile
    text = file.read_text(encoding="utf-8")
    try:
        import yaml  # type: ignore

        data = yaml.safe_load(text) or {}
    except ImportError:
        data = _read_flat_yaml(text)
    if isinstance(data, dict) and isinstance(data.get("clinic"), dict):
        data = {**data, **data["clinic"]}
    if not isinstance(data, dict):
        return profile
    for key in PROFILE_KEYS:
        profile[key] = _as_text(data.get(key))
    return profile


# --------------------------------------------------------------------------- pages
class Settings:
    def __init__(self, args: argparse.Namespace) -> None:
        self.rasa_url = (args.rasa_url or "").rstrip("/")
        self.rasa_port = str(args.rasa_port)
        self.transport = args.transport
        self.kiosk_idle = str(args.kiosk_idle)
        self.profile = load_profile(args.clinic_profile)

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
        "clinic_name": p["name"] or "Our clinic",
        "clinic_phone": p["phone"],
        "booking_url": p["booking_url"],
        "hours": p["hours"],
        "address": p["address"],
        "emergency_number": p["emergency_number"],
        "emergency_department": p["emergency_department"],
        "urgent_line": p["urgent_line"],
        # visible-text versions with the wording of shared/clinical/red-flags.md
        "emergency_number_text": p["emergency_number"] or "your local emergency number",
        "emergency_department_text": p["emergency_department"] or "emergency department",
        "clinic_phone_text": p["phone"] or "the clinic",
        "hours_text": p["hours"] or "Opening hours: please call us.",
        "address_text": p["address"] or "Please call us for directions.",
    }


ROUTES = {"/": "index.html", "/visit": "visit.html", "/kiosk": "kiosk.html"}


class Handler(BaseHTTPRequestHandler):
    server_version = "clinic-assistant-web"
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
        self.send_header(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"
        )
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")

    def _send(self, status: int, body: bytes, ctype: str, *, static: bool = False,
              head: bool = False) -> None:
        rasa_url = self.settings.rasa_url_for(self.headers.get("Host"))
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
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

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _not_allowed  # noqa: N815

    def _handle(self, head: bool) -> None:
        parts = urlsplit(self.path)
        path = parts.path
        if path == "/healthz":
            self._send(200, b"ok\n", "text/plain; charset=utf-8", head=head)
            return
        if path in ROUTES:
            values = page_values(self.settings, self.headers.get("Host"), parts.query)
            body = render_template(ROUTES[path], values)
            self._send(200, body, "text/html; charset=utf-8", head=head)
            return
        if path == "/favicon.ico":
            path = "/static/favicon.svg"
        if path.startswith("/static/"):
            file = self._static_file(path[len("/static/"):])
            if file is None:
                self._error(404, head)
                return
            ctype = CONTENT_TYPES.get(file.suffix.lower()) or (
                mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            )
            self._send(200, file.read_bytes(), ctype, static=True, head=head)
            return
        self._error(404, head)

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
    server = ThreadingHTTPServer((args.host, args.port), handler)
    server.daemon_threads = True
    return server


def parse_args(argv: Optional[list] = None) -> argparse.Namespace:
    env = os.environ
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", "--bind", dest="host", default=env.get("WEB_HOST", "127.0.0.1"))
    ap.add_argument("--port", type=int, default=int(env.get("WEB_PORT", "8080")))
    ap.add_argument("--rasa-url", default=env.get("RASA_URL", ""))
    ap.add_argument("--rasa-port", default=env.get("RASA_PORT", "5005"))
    ap.add_argument("--transport", choices=("rest", "socketio"),
                    default=env.get("WEB_TRANSPORT", "rest") or "rest")
    ap.add_argument("--clinic-profile", default=env.get("CLINIC_PROFILE", "clinic/profile.yml"))
    ap.add_argument("--kiosk-idle", type=int, default=int(env.get("KIOSK_IDLE_SECONDS", "90")))
    return ap.parse_args(argv)


def main(argv: Optional[list] = None) -> int:
    logging.basicConfig(
        level=os.environ.get("WEB_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    args = parse_args(argv)
    server = make_server(args)
    host = args.host if args.host not in ("0.0.0.0", "::") else "localhost"
    print(f"web: widget demo http://{host}:{args.port}/  kiosk http://{host}:{args.port}/kiosk",
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

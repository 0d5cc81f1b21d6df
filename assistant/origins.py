"""The web origins allowed to talk to the assistant: one setting for every check.

The widget sits on the clinic's own website, which is never the assistant's origin, so the
browser only lets it talk to Rasa when that website's origin is allowed. One list feeds
every place that checks an Origin: Rasa's CORS (``rasa run --cors``), the socket.io
channel's check on connect (``channels/socketio.py``) and nginx's Origin allow-list in the
production profile. It is made of, in this order, without duplicates:

1. the assistant's own origins, always allowed so the demo page and the kiosk keep working:
   ``http://localhost:$WEB_PORT``, ``http://127.0.0.1:$WEB_PORT`` and, when ``PUBLIC_HOST``
   is set, ``http://$PUBLIC_HOST:$WEB_PORT`` and ``https://$PUBLIC_HOST``;
2. the clinic profile's ``website_origins`` list (``clinic/profile.yml``), e.g.
   ``website_origins: ["https://www.clinic.org", "https://clinic.org"]``;
3. the environment variable ``WEBSITE_ORIGINS`` (space-separated), which *adds* to them.

An origin is ``scheme://host[:port]``: http or https, no path, query, user or wildcard.
Anything else is a clear start-up error (``OriginError``), never a silently ignored entry.

Command line, for the launch scripts (``python -m assistant.origins``)::

    python -m assistant.origins          # prints the allowed origins, space-separated
    python -m assistant.origins --lines  # one per line

It exits 0 after printing, or 2 with a message naming the bad entry and where it came
from (the profile or ``WEBSITE_ORIGINS``) on standard error. The clinic profile is the one
``CLINIC_PROFILE`` names (default ``clinic/profile.yml``).
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import re
import sys
from typing import Iterable, List, Mapping, Optional, Sequence
from urllib.parse import urlsplit

from assistant.clinic import ClinicProfile, load_profile

logger = logging.getLogger(__name__)

ENV_VAR = "WEBSITE_ORIGINS"
DEFAULT_WEB_PORT = "8080"
_HOST = re.compile(r"^([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*)$")
_DEFAULT_PORTS = {"http": 80, "https": 443}


class OriginError(ValueError):
    """A configured origin is not ``scheme://host[:port]``."""


def parse_origin(value: str, where: str = "origin") -> str:
    """The origin in the form browsers send it (lower case, no default port, no slash).

    ``where`` names the setting in the error message, so an operator knows what to fix.
    """
    text = str(value).strip()
    problem = _origin_problem(text)
    if problem:
        raise OriginError(
            f"{where}: {text!r} is not a web origin ({problem}); "
            "write it as scheme://host[:port], e.g. https://www.clinic.org"
        )
    parts = urlsplit(text.rstrip("/"))
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    netloc = host if port in (None, _DEFAULT_PORTS[parts.scheme.lower()]) else f"{host}:{port}"
    return f"{parts.scheme.lower()}://{netloc}"


def _origin_problem(text: str) -> str:
    """Why ``text`` is not an origin, or "" when it is one."""
    if not text:
        return "empty"
    if "*" in text:
        return "wildcards are not allowed"
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return "bad port"
    if parts.scheme.lower() not in _DEFAULT_PORTS:
        return "the scheme must be http or https"
    if parts.username or parts.password:
        return "no user name or password"
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return "no path, query or fragment"
    if not _host_ok(parts.hostname or ""):
        return "bad host name"
    if port == 0:
        return "bad port"
    return ""


def _host_ok(host: str) -> bool:
    if ":" in host:  # an IPv6 literal, written in brackets
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return False
        return True
    return bool(_HOST.match(host.lower()))


def own_origins(env: Mapping[str, str]) -> List[str]:
    """The demo page's and kiosk's origins (web/serve.py), always allowed."""
    port = str(env.get("WEB_PORT") or DEFAULT_WEB_PORT).strip()
    if not port.isdecimal():
        raise OriginError(f"WEB_PORT: {port!r} is not a port number")
    origins = [f"http://localhost:{port}", f"http://127.0.0.1:{port}"]
    public = str(env.get("PUBLIC_HOST") or "").strip()
    if public and public not in ("localhost", "127.0.0.1"):
        host = f"[{public}]" if ":" in public and not public.startswith("[") else public
        origins += [f"http://{host}:{port}", f"https://{host}"]
    return [parse_origin(o, "PUBLIC_HOST / WEB_PORT") for o in origins]


def allowed_origins(profile: Optional[ClinicProfile] = None, env: Optional[Mapping[str, str]] = None) -> List[str]:
    """Own origins + the profile's ``website_origins`` + ``WEBSITE_ORIGINS``, de-duplicated.

    Raises ``OriginError`` for a malformed entry: a typo must stop the start-up, not leave
    the clinic's website silently locked out (or a wildcard silently let in).
    """
    env = os.environ if env is None else env
    profile = load_profile() if profile is None else profile
    found = own_origins(env)
    found += [parse_origin(o, "clinic profile website_origins") for o in profile.website_origins]
    found += [parse_origin(o, ENV_VAR) for o in str(env.get(ENV_VAR) or "").split()]
    return _unique(found)


def _unique(items: Iterable[str]) -> List[str]:
    seen: List[str] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


def is_allowed(origin: Optional[str], allowed: Sequence[str]) -> bool:
    """Exact match of a request's Origin header against the allowed list.

    A missing Origin (not a browser: curl, a server, the tests' own clients) is allowed;
    browsers always send it on cross-origin requests and websocket handshakes, and the
    point of the check is that another website's page cannot use the assistant.
    """
    if origin is None or origin == "":
        return True
    try:
        return parse_origin(origin) in allowed
    except OriginError:
        return False


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Print the allowed origins (space-separated) or a clear error; see the module doc."""
    parser = argparse.ArgumentParser(description="Print the web origins allowed to use the assistant.")
    parser.add_argument("--lines", action="store_true", help="one origin per line")
    args = parser.parse_args(argv)
    try:
        origins = allowed_origins()
    except OriginError as problem:
        print(f"assistant.origins: {problem}", file=sys.stderr)
        return 2
    print(("\n" if args.lines else " ").join(origins))
    return 0


if __name__ == "__main__":
    sys.exit(main())

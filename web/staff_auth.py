"""Who may see the staff pages: the staff token and the session cookie the sign-in sets.

Constant-time checks everywhere (hmac.compare_digest over SHA-256 digests, so neither the
token nor its length shows in the timing). The cookie holds an expiry time and an HMAC of
it keyed with the token, never the token itself: a copied cookie expires, and changing the
token signs everybody out. FailureLimiter slows down guessing from one address.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from typing import Dict, List, Optional

COOKIE = "staff_session"
SESSION_SECONDS = 8 * 3600  # a working day; then the form asks again
FAILURE_LIMIT = 10
FAILURE_WINDOW = 300.0
MAX_CLIENTS = 10_000  # addresses remembered at most (then the stale ones are swept)


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()


class StaffAuth:
    """Checks the token (Bearer header or sign-in form) and the session cookie."""

    def __init__(self, token: str) -> None:
        self._token_digest = _digest(token)
        self._key = hashlib.sha256(b"staff-session\0" + token.encode("utf-8")).digest()

    def token_matches(self, given: str) -> bool:
        return hmac.compare_digest(_digest(given), self._token_digest)

    def bearer(self, header: Optional[str]) -> Optional[bool]:
        """None without an Authorization header, else whether it carries the token."""
        if not header:
            return None
        scheme, _, value = header.strip().partition(" ")
        return scheme.lower() == "bearer" and self.token_matches(value.strip())

    def _mac(self, expires: int) -> str:
        return hmac.new(self._key, f"staff:{expires}".encode(), hashlib.sha256).hexdigest()

    def session_value(self, now: float) -> str:
        expires = int(now) + SESSION_SECONDS
        return f"{expires}.{self._mac(expires)}"

    def session_ok(self, cookie_header: Optional[str], now: float) -> bool:
        value = read_cookie(cookie_header, COOKIE)
        if not value:
            return False
        expires, _, mac = value.partition(".")
        if not expires.isdecimal() or not expires.isascii() or len(expires) > 12:
            return False
        return hmac.compare_digest(mac.encode(), self._mac(int(expires)).encode()) and int(expires) > now


def read_cookie(header: Optional[str], name: str) -> str:
    """One cookie's value from a Cookie header (no SimpleCookie: it drops the whole header
    on one malformed pair, which would sign a staff member out over another site's cookie)."""
    for part in (header or "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value.strip()
    return ""


class FailureLimiter:
    """At most FAILURE_LIMIT wrong tokens per client address in FAILURE_WINDOW seconds."""

    def __init__(self, limit: int = FAILURE_LIMIT, window: float = FAILURE_WINDOW) -> None:
        self.limit, self.window = limit, window
        self._seen: Dict[str, List[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> List[float]:
        kept = [t for t in self._seen.get(client, []) if now - t < self.window]
        if kept:
            self._seen[client] = kept
        else:
            self._seen.pop(client, None)
        return kept

    def blocked(self, client: str, now: float) -> bool:
        with self._lock:
            return len(self._recent(client, now)) >= self.limit

    def failed(self, client: str, now: float) -> None:
        with self._lock:
            if len(self._seen) >= MAX_CLIENTS:  # many addresses guessing: forget the stale ones
                for other in list(self._seen):
                    self._recent(other, now)
            self._seen[client] = self._recent(client, now) + [now]

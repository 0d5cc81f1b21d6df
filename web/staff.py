"""The staff pages of the web server: clinic insights for the practice manager and clinicians.

Routes (all under /staff/, all 404 while no staff token is configured):
  GET  /staff/insights      the insights page (assistant.insights.render_html) for a period
  GET  /staff/insights.csv  the same figures as a CSV download (Content-Disposition: attachment)
  POST /staff/signin        the sign-in form's target: sets the session cookie, 303 to the page
  POST /staff/signout       clears the session cookie

Why a token and not accounts: the web server has no user store, and a clinic has one or two
people who read these figures. The token is a setting (``STAFF_TOKEN`` in the environment,
never the clinic profile, which is committed, and never a command-line flag, which `ps`
shows); at least MIN_TOKEN_LENGTH characters, or the server does not start. A request is let
in with either
  * ``Authorization: Bearer <token>`` (scripts, curl), or
  * the session cookie the sign-in form sets (a browser): HttpOnly, SameSite=Strict, Path=/staff,
    Secure when the request came over HTTPS (``X-Forwarded-Proto: https`` from the TLS proxy,
    or STAFF_COOKIE_SECURE=1). The cookie holds an expiry time and an HMAC of it keyed with
    the token, not the token itself; changing the token signs everybody out.
Comparisons are constant-time (hmac.compare_digest over SHA-256 digests, so the length of
the token does not show either). The token never travels in a URL and is never logged: the
server's log line stays method, path (no query) and status. Too many wrong tokens from one
address (FAILURE_LIMIT in FAILURE_WINDOW seconds) get 429 for the rest of the window.

The period comes from the query string (the clinic's calendar days, both ends included;
the time zone is the insights' own: INSIGHTS_TIMEZONE, else TZ, else the machine's):
  ?days=N            the N days up to today (default 30; 1..MAX_DAYS)
  ?since=YYYY-MM-DD  from that day up to today (or up to ?until)
  ?until=YYYY-MM-DD  up to that day (with days=N: the N days ending there)
Anything else (unknown or repeated parameter, a malformed date, since after until, days
with since) is answered 400 with the reason. Every response is Cache-Control: no-store.

The figures never hold message text nor sender ids (assistant.insights reads neither); this
module only decides who may see them and for which period.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Optional, Tuple
from urllib.parse import parse_qsl, urlencode

from staff_auth import COOKIE, FAILURE_LIMIT, SESSION_SECONDS, FailureLimiter, StaffAuth  # noqa: F401
from staff_html import signin_page, with_staff_bar

logger = logging.getLogger(__name__)

PAGE = "/staff/insights"
CSV = "/staff/insights.csv"
SIGNIN = "/staff/signin"
SIGNOUT = "/staff/signout"
MIN_TOKEN_LENGTH = 16
MAX_FORM_BYTES = 2048
DEFAULT_DAYS = 30
MAX_DAYS = 3660
FIRST_DAY = date(2000, 1, 1)
ROOT = Path(__file__).resolve().parents[1]

Headers = List[Tuple[str, str]]


class ConfigError(ValueError):
    """A staff setting that must stop the start-up (a too-short token)."""


class PeriodError(ValueError):
    """A period query that is answered 400; the message says what is wrong."""


# --------------------------------------------------------------------------- period
@dataclass(frozen=True)
class Period:
    """The clinic's calendar days ``first`` .. ``last`` (both included) and their bounds."""

    first: date
    last: date
    zone: tzinfo = timezone.utc

    @property
    def start(self) -> datetime:
        return datetime(self.first.year, self.first.month, self.first.day, tzinfo=self.zone)

    @property
    def end(self) -> datetime:
        """Exclusive: the midnight after the last day (a local midnight, also across DST)."""
        after = self.last + timedelta(days=1)
        return datetime(after.year, after.month, after.day, tzinfo=self.zone)


def _day(name: str, value: str) -> date:
    try:
        if len(value) != 10:
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise PeriodError(f"{name} must be a date written YYYY-MM-DD") from None


def parse_period(query: str, today: date, zone: tzinfo = timezone.utc) -> Period:
    """The period a query string asks for, or PeriodError (answered 400)."""
    try:
        pairs = parse_qsl(query or "", keep_blank_values=True, max_num_fields=10)
    except ValueError:
        raise PeriodError("the query string has too many parameters") from None
    params: Dict[str, str] = {}
    seen = set()
    for key, value in pairs:
        if key not in ("days", "since", "until"):
            raise PeriodError("the period takes days, since and until only")
        if key in seen:
            raise PeriodError(f"{key} is given twice")
        seen.add(key)
        if value.strip():  # a form's empty field means "not given"
            params[key] = value.strip()
    if "days" in params and "since" in params:
        raise PeriodError("give either days or since, not both")
    last = _day("until", params["until"]) if params.get("until") else today
    if "since" in params:
        first = _day("since", params["since"])
    else:
        raw = params.get("days", str(DEFAULT_DAYS))
        if not raw.isdecimal() or not raw.isascii() or not 1 <= int(raw) <= MAX_DAYS:
            raise PeriodError(f"days must be a whole number from 1 to {MAX_DAYS}")
        first = last - timedelta(days=int(raw) - 1)
    if first > last:
        raise PeriodError("since must not be after until")
    if first < FIRST_DAY or (last - first).days >= MAX_DAYS:
        raise PeriodError(f"the period must start in {FIRST_DAY.year} or later and be at most {MAX_DAYS} days")
    return Period(first, last, zone)


def canonical_query(query: str) -> str:
    """A valid period query rebuilt from its parsed values ("" if it is not valid), so the
    sign-in's redirect never carries anything the client made up (a CR/LF, another key)."""
    try:
        parse_period(query, date.today())
    except PeriodError:
        return ""
    return urlencode([(k, v.strip()) for k, v in parse_qsl(query, keep_blank_values=True) if v.strip()])


# --------------------------------------------------------------------------- responses
@dataclass
class Reply:
    status: int
    body: bytes
    ctype: str = "text/plain; charset=utf-8"
    headers: Headers = field(default_factory=list)


def _text(status: int, message: str, headers: Optional[Headers] = None) -> Reply:
    return Reply(status, (message + "\n").encode("utf-8"), headers=headers or [])


@dataclass
class Insights:
    """The three calls into assistant.insights, imported on first use (the web server
    starts without SQLAlchemy work when nobody asks for the page)."""

    db_url: str
    _mod: Optional[object] = None
    _zone: Optional[tzinfo] = None

    def _module(self):  # type: ignore[no-untyped-def]
        if self._mod is None:
            import assistant.insights as mod

            self._mod = mod
        return self._mod

    def zone(self) -> tzinfo:
        """The clinic's time zone, as `make insights` has it (INSIGHTS_TIMEZONE, TZ, the
        machine's): "today" and the days of the period are the clinic's."""
        if self._zone is None:
            self._zone = self._module().resolve_zone()[0]
        return self._zone

    def html(self, period: Period) -> bytes:
        mod = self._module()
        page = mod.render_html(mod.load_summary(self.db_url, period.start, period.end))
        return with_staff_bar(page, period.first, period.last).encode("utf-8")

    def csv(self, period: Period) -> bytes:
        mod = self._module()
        return mod.render_csv(mod.load_summary(self.db_url, period.start, period.end)).encode("utf-8")


class StaffSite:
    """Answers the /staff/ routes; the HTTP handler only sends the Reply."""

    def __init__(self, token: Optional[str], insights: Optional[Insights], force_secure: bool = False) -> None:
        token = token or ""
        if token and len(token.strip()) < MIN_TOKEN_LENGTH:
            raise ConfigError(f"STAFF_TOKEN must be at least {MIN_TOKEN_LENGTH} characters (a random one is best)")
        self.auth = StaffAuth(token.strip()) if token.strip() else None
        self.insights = insights
        self.force_secure = force_secure
        self.limiter = FailureLimiter()

    @property
    def enabled(self) -> bool:
        return self.auth is not None and self.insights is not None

    @staticmethod
    def owns(path: str) -> bool:
        return path == "/staff" or path.startswith("/staff/")

    # -- GET / HEAD
    def get(self, path: str, query: str, headers: Mapping[str, str], client: str) -> Reply:
        if not self.enabled or path not in (PAGE, CSV):
            return _text(404, "404 Not Found")
        assert self.auth is not None and self.insights is not None
        now = time.time()
        if self.limiter.blocked(client, now):
            return _text(429, "Too many wrong tokens: try again in a few minutes.", [("Retry-After", "300")])
        bearer = self.auth.bearer(headers.get("Authorization"))
        if bearer is False:
            self.limiter.failed(client, now)
            return self._refused(path, query, 'Bearer realm="clinic staff", error="invalid_token"', "wrong token")
        if bearer is None and not self.auth.session_ok(headers.get("Cookie"), now):
            return self._refused(path, query, 'Bearer realm="clinic staff"', "")
        try:
            zone = self.insights.zone()
            period = parse_period(query, datetime.now(zone).date(), zone)
        except PeriodError as problem:
            return _text(400, f"400 Bad Request: {problem}")
        except Exception as problem:  # the insights package failed to load
            logger.error("staff insights unavailable: %s", type(problem).__name__)
            return _text(503, "503 Service Unavailable: the insights cannot be computed right now.")
        return self._figures(path, period)

    def _refused(self, path: str, query: str, challenge: str, reason: str) -> Reply:
        headers = [("WWW-Authenticate", challenge)]
        if path == CSV:
            return _text(401, "401 Unauthorized: send Authorization: Bearer <staff token>", headers)
        message = "That token is not right." if reason else ""
        return Reply(401, signin_page(message, query), "text/html; charset=utf-8", headers)

    def _figures(self, path: str, period: Period) -> Reply:
        assert self.insights is not None
        started = time.perf_counter()
        try:
            if path == CSV:
                body = self.insights.csv(period)
                name = f"insights-{period.first.isoformat()}-to-{period.last.isoformat()}.csv"
                reply = Reply(
                    200, body, "text/csv; charset=utf-8", [("Content-Disposition", f'attachment; filename="{name}"')]
                )
            else:
                reply = Reply(200, self.insights.html(period), "text/html; charset=utf-8")
        except Exception as problem:  # the store is down or unreadable: say so, log the type only
            logger.error("staff insights failed: %s", type(problem).__name__)
            return _text(503, "503 Service Unavailable: the conversation store cannot be read right now.")
        logger.info(
            "staff insights %s: %d days in %.0f ms",
            "csv" if path == CSV else "page",
            (period.last - period.first).days + 1,
            (time.perf_counter() - started) * 1000,
        )
        return reply

    # -- POST
    def post(self, path: str, headers: Mapping[str, str], read: Callable[[int], bytes], client: str) -> Reply:
        """Sign in / out. ``read(n)`` reads the body; it is called only when it is small."""
        if not self.enabled or path not in (SIGNIN, SIGNOUT):
            return _text(404, "404 Not Found")
        assert self.auth is not None
        if path == SIGNOUT:
            return Reply(303, b"", headers=[("Location", PAGE), ("Set-Cookie", self._cookie("", headers, 0))])
        form, problem = self._form(headers, read)
        if problem:
            return problem
        now = time.time()
        if self.limiter.blocked(client, now):
            return _text(429, "Too many wrong tokens: try again in a few minutes.", [("Retry-After", "300")])
        period = canonical_query(form.get("period", ""))
        if not self.auth.token_matches(form.get("token", "")):
            self.limiter.failed(client, now)
            body = signin_page("That token is not right.", period)
            return Reply(401, body, "text/html; charset=utf-8", [("WWW-Authenticate", 'Bearer realm="clinic staff"')])
        cookie = self._cookie(self.auth.session_value(now), headers, SESSION_SECONDS)
        location = PAGE + ("?" + period if period else "")
        return Reply(303, b"", headers=[("Location", location), ("Set-Cookie", cookie)])

    @staticmethod
    def _form(headers: Mapping[str, str], read: Callable[[int], bytes]) -> Tuple[Dict[str, str], Optional[Reply]]:
        ctype = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            return {}, _text(415, "415 Unsupported Media Type: send the sign-in form")
        raw_length = headers.get("Content-Length") or ""
        if not raw_length.isdecimal():
            return {}, _text(411, "411 Length Required")
        if int(raw_length) > MAX_FORM_BYTES:
            return {}, _text(413, "413 Content Too Large")
        try:
            body = read(int(raw_length)).decode("utf-8")
            pairs = parse_qsl(body, keep_blank_values=True, max_num_fields=5)
        except (UnicodeDecodeError, ValueError):
            return {}, _text(400, "400 Bad Request: the form is malformed")
        return dict(pairs), None

    def _cookie(self, value: str, headers: Mapping[str, str], max_age: int) -> str:
        secure = self.force_secure or (headers.get("X-Forwarded-Proto") or "").strip().lower() == "https"
        parts = [f"{COOKIE}={value}", "Path=/staff", f"Max-Age={max_age}", "HttpOnly", "SameSite=Strict"]
        if secure:
            parts.append("Secure")
        return "; ".join(parts)


def tracker_db_url(endpoints: Path) -> str:
    """Where the conversations are, found as everywhere else in the project
    (assistant.store_url, which the retention script and `make insights` use too):
    TRACKER_DB_URL, else the tracker_store section of the endpoints file with its ${VARS}
    from the environment (TRACKER_DB: run/tracker.db unless scripts/run.sh says otherwise)."""
    from assistant.store_url import StoreConfigError, resolve_db_url

    try:
        url = resolve_db_url(None, endpoints if endpoints.is_absolute() else ROOT / endpoints)
    except (StoreConfigError, OSError) as problem:
        raise ConfigError(f"staff insights: {problem}") from None
    return url.render_as_string(hide_password=False)


def staff_site_from_env(env: Mapping[str, str], endpoints: Path) -> StaffSite:
    """The staff site as configured: off without STAFF_TOKEN; the tracker store is looked
    up only when it is on."""
    token = env.get("STAFF_TOKEN", "")
    if not token.strip():
        return StaffSite(None, None)
    secure = env.get("STAFF_COOKIE_SECURE", "").lower() in ("1", "true", "yes")
    site = StaffSite(token, None, force_secure=secure)  # checks the length first
    site.insights = Insights(tracker_db_url(endpoints))
    return site

"""web/staff.py on its own: the period query, the token and cookie checks, the routes.

The figures come from a stand-in for assistant.insights that records the period it was
asked for; the real page, through the real channels and in Chromium, is tested in
tests/browser/test_staff_page.py.
"""

from __future__ import annotations

import sys
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))

import staff  # noqa: E402
from staff import COOKIE, SESSION_SECONDS, PeriodError, StaffAuth, StaffSite, parse_period  # noqa: E402

TOKEN = "correct-horse-battery-staple-42"
TODAY = date(2026, 12, 2)


class RecordingInsights:
    def __init__(self) -> None:
        self.periods = []

    def zone(self):
        return timezone.utc

    def html(self, period) -> bytes:
        self.periods.append(period)
        return b"<!doctype html><title>insights</title>"

    def csv(self, period) -> bytes:
        self.periods.append(period)
        return b"section,key,value\n"


def site(token: str = TOKEN, **kw) -> StaffSite:
    s = StaffSite(token, RecordingInsights(), **kw)
    return s


@pytest.mark.parametrize(
    "query,first,last",
    [
        ("", date(2026, 11, 3), TODAY),
        ("days=1", TODAY, TODAY),
        ("days=7", date(2026, 11, 26), TODAY),
        ("since=2026-11-01", date(2026, 11, 1), TODAY),
        ("since=2026-11-01&until=2026-11-30", date(2026, 11, 1), date(2026, 11, 30)),
        ("until=2026-11-30&days=2", date(2026, 11, 29), date(2026, 11, 30)),
        ("days=&since=2026-11-20&until=", date(2026, 11, 20), TODAY),  # a GET form's empty fields
    ],
)
def test_period(query, first, last):
    p = parse_period(query, TODAY)
    assert (p.first, p.last) == (first, last)
    assert p.start == datetime(first.year, first.month, first.day, tzinfo=timezone.utc)
    assert (p.end - p.start).days == (last - first).days + 1


@pytest.mark.parametrize(
    "query",
    [
        "days=0",
        "days=-3",
        "days=abc",
        "days=%D9%A3",  # an Arabic-Indic digit is not a number of days
        "days=3661",
        "since=2026-13-01",
        "since=20261101",
        "since=2026-1-1",
        "since=2026-12-03",  # after today
        "since=2026-11-10&until=2026-11-01",
        "since=1999-12-31",
        "days=7&since=2026-11-01",
        "days=1&days=2",
        "foo=1",
        "token=" + TOKEN,
        "x" + "&x" * 20,
    ],
)
def test_bad_period_is_refused(query):
    with pytest.raises(PeriodError):
        parse_period(query, TODAY)


def test_bearer_and_cookie_checks():
    auth = StaffAuth(TOKEN)
    assert auth.bearer(None) is None and auth.bearer("") is None
    assert auth.bearer(f"Bearer {TOKEN}") is True and auth.bearer(f"bearer  {TOKEN} ") is True
    assert auth.bearer(f"Basic {TOKEN}") is False and auth.bearer("Bearer " + TOKEN[:-1]) is False
    now = 1_800_000_000.0
    value = auth.session_value(now)
    assert TOKEN not in value
    assert auth.session_ok(f"other=1; {COOKIE}={value}", now + 60)
    assert not auth.session_ok(f"{COOKIE}={value}", now + SESSION_SECONDS + 1)  # expired
    expires, _, mac = value.partition(".")
    assert not auth.session_ok(f"{COOKIE}={int(expires) + 3600}.{mac}", now)  # extended by hand
    assert not StaffAuth(TOKEN + "x").session_ok(f"{COOKIE}={value}", now)  # the token changed
    assert not auth.session_ok(f"{COOKIE}=garbage", now) and not auth.session_ok(None, now)


def test_off_without_token_and_short_tokens_refused():
    off = StaffSite(None, None)
    assert not off.enabled
    assert off.get("/staff/insights", "", {"Authorization": f"Bearer {TOKEN}"}, "c").status == 404
    assert off.post("/staff/signin", {}, lambda n: b"", "c").status == 404
    with pytest.raises(staff.ConfigError):
        StaffSite("short", RecordingInsights())
    assert not staff.staff_site_from_env({}, Path("endpoints.yml")).enabled


def test_routes():
    s = site()
    assert s.get("/staff/insights", "", {}, "c").status == 401
    refused = s.get("/staff/insights.csv", "", {"Authorization": "Bearer nope"}, "c")
    assert (
        refused.status == 401
        and ("WWW-Authenticate", 'Bearer realm="clinic staff", error="invalid_token"') in refused.headers
    )
    ok = s.get("/staff/insights.csv", "days=7", {"Authorization": f"Bearer {TOKEN}"}, "c")
    assert ok.status == 200 and ok.ctype.startswith("text/csv")
    disposition = dict(ok.headers)["Content-Disposition"]
    assert disposition.startswith("attachment;") and ".csv" in disposition
    assert s.get("/staff/insights", "days=x", {"Authorization": f"Bearer {TOKEN}"}, "c").status == 400
    assert s.get("/staff/other", "", {"Authorization": f"Bearer {TOKEN}"}, "c").status == 404
    assert (s.insights.periods[0].last - s.insights.periods[0].first).days == 6


def test_signin_sets_a_strict_cookie_that_opens_the_page():
    s = site()
    form = f"token={TOKEN}&period=days%3D7".encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Content-Length": str(len(form))}
    reply = s.post("/staff/signin", headers, lambda n: form[:n], "c")
    assert reply.status == 303
    h = dict(reply.headers)
    assert h["Location"] == "/staff/insights?days=7"
    cookie = h["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/staff" in cookie
    assert "Secure" not in cookie and TOKEN not in cookie
    value = cookie.split(";")[0]
    assert s.get("/staff/insights", "", {"Cookie": value}, "c").status == 200
    https = s.post("/staff/signin", {**headers, "X-Forwarded-Proto": "https"}, lambda n: form[:n], "c")
    assert "; Secure" in dict(https.headers)["Set-Cookie"]
    out = s.post("/staff/signout", {}, lambda n: b"", "c")
    assert out.status == 303 and "Max-Age=0" in dict(out.headers)["Set-Cookie"]


def test_signin_form_problems():
    s = site()
    bad = b"token=wrong-token-wrong-token"
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Content-Length": str(len(bad))}
    wrong = s.post("/staff/signin", headers, lambda n: bad[:n], "c")
    assert wrong.status == 401 and b"That token is not right." in wrong.body and b"wrong-token" not in wrong.body
    assert s.post("/staff/signin", {**headers, "Content-Type": "application/json"}, lambda n: bad, "c").status == 415
    assert s.post("/staff/signin", {**headers, "Content-Length": "99999"}, lambda n: b"", "c").status == 413
    assert s.post("/staff/signin", {**headers, "Content-Length": ""}, lambda n: b"", "c").status == 411


def test_too_many_wrong_tokens_are_held_off():
    s = site()
    for _ in range(staff.FAILURE_LIMIT):
        assert s.get("/staff/insights", "", {"Authorization": "Bearer wrong"}, "10.0.0.9").status == 401
    assert s.get("/staff/insights", "", {"Authorization": f"Bearer {TOKEN}"}, "10.0.0.9").status == 429
    assert s.get("/staff/insights", "", {"Authorization": f"Bearer {TOKEN}"}, "10.0.0.10").status == 200


def test_period_days_are_the_clinics_days_across_a_clock_change():
    from zoneinfo import ZoneInfo

    london = ZoneInfo("Europe/London")
    p = parse_period("since=2026-10-24&until=2026-10-25", date(2026, 11, 1), london)  # clocks go back on the 25th
    assert p.start.isoformat() == "2026-10-24T00:00:00+01:00"
    assert p.end.isoformat() == "2026-10-26T00:00:00+00:00"
    assert p.end.timestamp() - p.start.timestamp() == 49 * 3600


def test_staff_bar_goes_into_the_page():
    from staff_html import with_staff_bar

    page = "<!doctype html><html><head><title>t</title></head><body><h1>Clinic insights</h1></body></html>"
    out = with_staff_bar(page, date(2026, 11, 3), date(2026, 12, 2))
    assert out.index("</head>") > out.index('href="/static/staff.css"')
    assert out.index('<nav class="staff-bar"') < out.index("<h1>")
    assert 'value="2026-11-03"' in out and 'value="2026-12-02"' in out
    assert "/staff/insights.csv?since=2026-11-03&amp;until=2026-12-02" in out
    assert 'action="/staff/signout"' in out and "<script" not in out and " style=" not in out
    assert with_staff_bar("no body here", TODAY, TODAY) == "no body here"


def test_the_store_is_found_as_everywhere_else(monkeypatch, tmp_path):
    monkeypatch.delenv("TRACKER_DB_URL", raising=False)
    monkeypatch.setenv("TRACKER_DB", str(tmp_path / "tracker.db"))
    on = staff.staff_site_from_env({"STAFF_TOKEN": TOKEN}, Path("endpoints.yml"))  # endpoints.yml: ${TRACKER_DB}
    assert on.enabled and on.insights.db_url == f"sqlite:///{tmp_path / 'tracker.db'}"
    monkeypatch.setenv("TRACKER_DB_URL", "postgresql://rasa:secret@db.example:5432/rasa")
    on = staff.staff_site_from_env({"STAFF_TOKEN": TOKEN}, Path("endpoints.yml"))
    assert on.insights.db_url == "postgresql://rasa:secret@db.example:5432/rasa"
    monkeypatch.delenv("TRACKER_DB_URL")
    with pytest.raises(staff.ConfigError):  # an endpoints file without an SQL store stops the start
        bad = tmp_path / "endpoints.yml"
        bad.write_text("tracker_store:\n  type: redis\n")
        staff.staff_site_from_env({"STAFF_TOKEN": TOKEN}, bad)


@pytest.mark.parametrize(
    "period,location",
    [
        ("days=7", "/staff/insights?days=7"),
        ("days=%0d%0aSet-Cookie:%20x=1", "/staff/insights"),
        ("days=&since=2026-11-01&until=", "/staff/insights?since=2026-11-01"),
        ("days=7&next=https://evil.example", "/staff/insights"),
    ],
)
def test_signin_redirect_carries_only_a_rebuilt_period(period, location):
    from urllib.parse import quote

    form = f"token={TOKEN}&period={quote(period)}".encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Content-Length": str(len(form))}
    reply = site().post("/staff/signin", headers, lambda n: form[:n], "c")
    assert reply.status == 303 and dict(reply.headers)["Location"] == location


def test_the_failure_memory_is_swept(monkeypatch):
    from staff_auth import FailureLimiter

    monkeypatch.setattr("staff_auth.MAX_CLIENTS", 3)
    limiter = FailureLimiter(limit=2, window=10)
    for i in range(3):
        limiter.failed(f"10.0.0.{i}", now=0.0)
    limiter.failed("10.0.0.9", now=100.0)  # the others are stale by now
    assert set(limiter._seen) == {"10.0.0.9"}

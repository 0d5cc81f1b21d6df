"""The staff insights page end to end: real channels in, exact figures out, nothing private.

One stack of its own for the whole module (staff_traffic.StaffStack: scripts/run.sh on
ports 5305/5355/8380 with a fresh tracker store and a STAFF_TOKEN), one round of
conversations through REST and socket.io as the widget and the kiosk (staff_traffic.PLAN:
red flags of both tiers, "did you mean", out of scope, "tell me more", "the second one"),
then:
  * the page and the CSV, fetched with the token, hold exactly the counts the plan makes,
    with every count under 5 shown as "fewer than 5";
  * no marker word of the messages and no sender id appear in the page, the CSV or any
    log file of the stack (nor the staff token);
  * without the token, with a wrong one, with a forged cookie: refused; bad periods: 400;
    a web server without STAFF_TOKEN: 404;
  * in Chromium: the sign-in form, the charts (SVG with bars), axe-core, the keyboard, 320 px.
"""

from __future__ import annotations

import csv
import io
import re
import urllib.error
import urllib.request
from datetime import datetime
from html.parser import HTMLParser
from typing import Iterator

import pytest
from conftest import ROOT
from playwright.sync_api import expect
from staff_traffic import StaffStack, Traffic, customs, fetch, send_traffic
from test_serve import serve
from ui import axe_scan, describe

PAGE = "/staff/insights"
CSV = "/staff/insights.csv"


@pytest.fixture(scope="module")
def staff_stack() -> Iterator[StaffStack]:
    s = StaffStack()
    try:
        s.start()
    except Exception as problem:
        s.stop()
        pytest.fail(f"could not start the staff stack: {problem}", pytrace=False)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def traffic(staff_stack) -> Traffic:
    return send_traffic(staff_stack)


# ----------------------------------------------------------------------------- refusals
def test_make_run_prints_the_staff_address(staff_stack):
    assert f"http://localhost:{staff_stack.web_url.rsplit(':', 1)[1]}{PAGE}" in staff_stack.ready_message
    assert staff_stack.token not in staff_stack.ready_message


def test_refused_without_the_right_token(staff_stack, traffic):
    base = staff_stack.web_url
    for path in (PAGE, CSV):
        status, headers, body = fetch(base + path)
        assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
        assert headers["Cache-Control"] == "no-store"
        assert traffic.marker not in body
        # one character off (a random token may itself end in "x": never send the real one)
        wrong = staff_stack.token[:-1] + ("y" if staff_stack.token.endswith("x") else "x")
        status, headers, body = fetch(base + path, token=wrong)
        assert status == 401 and 'error="invalid_token"' in headers["WWW-Authenticate"]
        assert fetch(base + path, cookie="staff_session=9999999999.00")[0] == 401
        # the token in the URL is not a way in
        assert fetch(base + path + "?token=" + staff_stack.token)[0] == 401
    status, headers, body = fetch(base + PAGE)
    assert headers["Content-Type"].startswith("text/html") and 'name="token"' in body and "<svg" not in body
    assert headers["X-Frame-Options"] == "DENY" and "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert fetch(base + PAGE, method="HEAD")[0] == 401
    status, headers, body = fetch(base + PAGE, token=staff_stack.token, method="HEAD")
    assert status == 200 and body == "" and headers["Cache-Control"] == "no-store"


def test_bad_periods_are_400(staff_stack):
    for query in (
        "days=0",
        "days=abc",
        "since=2026-02-30",
        "since=2026-11-10&until=2026-11-01",
        "days=1&days=2",
        "x=1",
    ):
        status, _, body = fetch(f"{staff_stack.web_url}{PAGE}?{query}", token=staff_stack.token)
        assert status == 400, (query, status)
        assert fetch(f"{staff_stack.web_url}{CSV}?{query}", token=staff_stack.token)[0] == 400


def test_off_when_no_token_is_configured(tmp_path):
    with serve(tmp_path / "off.log", STAFF_TOKEN="") as (_, base):
        for path in (PAGE, CSV, "/staff/signin"):
            assert fetch(base + path)[0] == 404
            assert fetch(base + path, token="anything-at-all-long-enough")[0] == 404
        req = urllib.request.Request(base + "/staff/signin", data=b"token=x", method="POST")
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            urllib.request.urlopen(req, timeout=5)
            raise AssertionError("POST /staff/signin answered while off")
        except urllib.error.HTTPError as e:
            assert e.code == 404


def test_a_short_token_stops_the_start(tmp_path):
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, str(ROOT / "web" / "serve.py"), "--port", "9"],
        env={"STAFF_TOKEN": "short", "PATH": "/usr/bin:/bin"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and "at least 16 characters" in proc.stderr and "short" not in proc.stdout


# ----------------------------------------------------------------------------- the figures
F = "fewer than 5"
# What staff_traffic.PLAN must show. Raw counts: 15 conversations (12 widget, 3 kiosk), 32
# messages (27 widget, 5 kiosk); replies: exercises 10 (5 answers + 5 "tell me more"),
# crab steps 2 (the second one), greet 1 (small talk: not a topic asked); emergency 7 (5 x bladder+saddle, 2 x fracture;
# 1 from the kiosk), urgent 5 (infection); out of scope 5, "did you mean" 2; follow-ups:
# tell me more 5 in 5 conversations, an ordinal 2. Kiosk messages are 5 but hidden: "other
# clients" is 0 (< 5), and a lone hidden cell of a partition hides the next smallest too.
EXPECTED = {
    ("overview", "conversations"): "15",
    ("overview", "messages"): "32",
    ("overview", "median_conversation_length"): "2",
    ("overview", "crisis_replies"): F,
    ("overview", "check_questions"): F,
    ("overview", "conversations_with_follow_up"): "5",
    ("conversations_by_client", "web"): "12",
    ("conversations_by_client", "kiosk"): F,
    ("conversations_by_client", "other"): F,
    ("messages_by_client", "web"): "27",
    ("messages_by_client", "kiosk"): F,
    ("messages_by_client", "other"): F,
    ("topics", "exercises"): "10",
    ("topics", "exercise_crab_steps"): F,
    ("escalations", "emergency"): "7",
    ("escalations", "urgent"): "5",
    ("flags", "bladder_bowel"): "5",
    ("flags", "saddle_numbness"): "5",
    ("flags", "infection"): "5",
    ("flags", "fracture"): F,
    ("outcomes", "out_of_scope"): "5",
    ("outcomes", "clarify"): F,
    ("outcomes", "other_body_part"): F,
    ("outcomes", "no_reply"): F,
    ("outcomes", "unavailable"): F,
    ("follow_ups", "tell_me_more"): "5",
    ("follow_ups", "choose_option"): F,
    ("follow_ups", "affirm"): F,
    ("escalations_by_client", "emergency/web"): "6",
    ("escalations_by_client", "emergency/kiosk"): F,
    ("escalations_by_client", "emergency/other"): F,
    ("escalations_by_client", "urgent/web"): "5",
    ("escalations_by_client", "urgent/kiosk"): F,
    ("escalations_by_client", "crisis/web"): F,
}


def csv_cells(text: str) -> dict:
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["section", "key", "value"], rows[0]
    cells = {(section, key): value for section, key, value in rows[1:]}
    assert len(cells) == len(rows) - 1, "a (section, key) pair appears twice"
    return cells


class Tables(HTMLParser):
    """Every <table> of a page as {caption: [[cell texts]]}, and the overview's dt/dd pairs."""

    def __init__(self) -> None:
        super().__init__()
        self.tables, self.cards = {}, {}
        self._caption, self._rows, self._text, self._in, self._dt = None, None, [], None, None

    def handle_starttag(self, tag, attrs) -> None:
        if tag == "table":
            self._rows = []
        elif tag == "tr" and self._rows is not None:
            self._rows.append([])
        if tag in ("caption", "th", "td", "dt", "dd"):
            self._in, self._text = tag, []

    def handle_data(self, data) -> None:
        if self._in:
            self._text.append(data)

    def handle_endtag(self, tag) -> None:
        if tag != self._in and tag != "table":
            return
        text = " ".join("".join(self._text).split())
        if tag == "caption":
            self._caption = text
        elif tag in ("th", "td") and self._rows:
            self._rows[-1].append(text)
        elif tag == "dt":
            self._dt = text
        elif tag == "dd":
            self.cards[self._dt] = text
        elif tag == "table":
            self.tables[self._caption] = [r for r in self._rows if r]
            self._rows = None
        self._in = None


def local_day(moment: float) -> str:
    from assistant.insights import resolve_zone

    return datetime.fromtimestamp(moment, resolve_zone()[0]).date().isoformat()


def test_csv_has_exactly_the_generated_counts(staff_stack, traffic):
    status, headers, body = fetch(staff_stack.web_url + CSV, token=staff_stack.token)
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert headers["Content-Disposition"].startswith('attachment; filename="insights-')
    assert headers["Cache-Control"] == "no-store"
    cells = csv_cells(body)
    wrong = {key: (cells.get(key), want) for key, want in EXPECTED.items() if cells.get(key) != want}
    assert wrong == {}, f"(got, expected): {wrong}"
    assert {k for s, k in cells if s == "topics"} == {"exercises", "exercise_crab_steps"}  # greet: not a topic
    assert {k for s, k in cells if s == "flags"} == {"bladder_bowel", "saddle_numbness", "infection", "fracture"}
    # "did you mean": the topics it offered are those the replies carried, each under 5
    offered = {
        c
        for _, step, msgs in traffic.turns
        if step.topic == "clarify"
        for p in customs(msgs)
        for c in p.get("candidates") or []
    }
    assert {k for s, k in cells if s == "clarify_offered"} == offered and offered
    assert all(cells[("clarify_offered", k)] == F for k in offered)
    # days: everything happened today, every other day of the 30 reads "fewer than 5"
    day = local_day(traffic.started)
    per_day = {k: v for (s, k), v in cells.items() if s == "conversations_per_day"}
    assert len(per_day) == 30
    if day == local_day(traffic.finished):
        assert per_day[day] == "15" and cells[("messages_per_day", day)] == "32"
        assert all(v == F for k, v in per_day.items() if k != day)
    # and nowhere an exact number under 5
    small = {key: v for key, v in cells.items() if v.isdecimal() and int(v) < 5 and key[0] != "period"}
    small.pop(("overview", "median_conversation_length"), None)
    assert small == {}, f"exact small numbers: {small}"


def test_page_shows_the_same_counts(staff_stack, traffic):
    status, headers, body = fetch(staff_stack.web_url + PAGE + "?days=30", token=staff_stack.token)
    assert status == 200 and headers["Cache-Control"] == "no-store"
    assert headers["Content-Type"].startswith("text/html")
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    page = Tables()
    page.feed(body)
    assert page.cards["Conversations"] == "15" and page.cards["Patient messages"] == "32"
    assert page.cards["Median conversation length"] == "2 messages"
    assert page.cards["Crisis replies shown"] == F
    tiers = {row[0]: row[1] for row in page.tables["Escalation replies per tier"][1:]}
    assert tiers["Emergency"] == "7" and tiers["Urgent"] == "5" and tiers["Crisis (suicide or self-harm)"] == F
    flags = {row[0]: row[1] for row in page.tables["Red flags found, per flag"][1:]}
    assert flags == {"bladder_bowel": "5", "infection": "5", "saddle_numbness": "5", "fracture": F}
    ends = {row[0]: row[1:] for row in page.tables["Conversations and messages by front end"][1:]}
    assert ends["Website widget"] == ["12", "27"] and ends["Front-desk kiosk"] == [F, F]
    by_client = {row[0]: row[1:] for row in page.tables["Escalation replies by front end"][1:]}
    assert by_client["Emergency"] == ["6", F, F] and by_client["Urgent"] == ["5", F, F]
    follow = {row[0]: row[1] for row in page.tables["Follow-up messages"][1:]}
    assert follow["Tell me more"] == "5" and list(follow.values()).count(F) == 2
    assert body.count("<svg") >= 5 and 'class="bar"' in body and "bar suppressed" in body
    # the staff bar: the period chooser, the CSV of the same period, sign-out
    assert 'action="/staff/insights"' in body and 'action="/staff/signout"' in body
    assert "/staff/insights.csv?since=" in body and staff_stack.token not in body


# ----------------------------------------------------------------------------- privacy
# Words of the plan's messages that no figure, label or log line has any business holding.
PHRASES = (
    "strengthen my gluteus medius",
    "numbness between my legs",
    "high fever",
    "weather like tomorrow",
    "what about it",
    "after a fall",
)


def test_no_text_no_sender_id_no_token_anywhere(staff_stack, traffic):
    token = staff_stack.token
    page = fetch(staff_stack.web_url + PAGE, token=token)
    csv = fetch(staff_stack.web_url + CSV, token=token)
    assert page[0] == 200 and csv[0] == 200
    places = {"page": page[2], "csv": csv[2], **staff_stack.log_text()}
    assert {"rasa.log", "actions.log", "web.log"} <= set(places), sorted(places)
    assert "GET /staff/insights 200" in places["web.log"]
    leaks = {}
    for name, text in places.items():
        found = [w for w in (traffic.marker, *PHRASES, *traffic.senders) if w in text]
        if name.endswith(".log") and token in text:
            found.append("the staff token")
        if found:
            leaks[name] = found
    assert leaks == {}, f"private words in the staff page, the CSV or the logs: {leaks}"


# ----------------------------------------------------------------------------- Chromium
def sign_in(page, stack: StaffStack, token: str, query: str = "") -> None:
    """Open the page, refused, and sign in with the keyboard only."""
    response = page.goto(stack.web_url + PAGE + (f"?{query}" if query else ""))
    assert response is not None and response.status == 401
    field = page.get_by_label("Staff token")
    expect(field).to_be_visible()
    page.keyboard.press("Tab")
    expect(field).to_be_focused()
    page.keyboard.type(token)
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Sign in")).to_be_focused()
    # the form posts to the URL the page is already on: wait for that navigation itself,
    # not for the URL (a loaded CI machine read the cookies before the answer came)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def focus_walk(page, limit: int = 200) -> list:
    """Press Tab until focus comes back round; returns the elements focused, in order."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        key = page.evaluate(
            "() => { const e = document.activeElement; if (!e || e === document.body) return null;"
            " if (!e.dataset.walk) e.dataset.walk = String(Math.random()); return e.dataset.walk; }"
        )
        if key is None or (seen and key == seen[-1]):  # a date field's day, month, year
            continue
        if seen and key == seen[0]:
            break
        seen.append(key)
    return seen


def test_signin_page_in_chromium(staff_stack, traffic, new_page, no_page_problems):
    page = new_page(1280, 900)
    problems_allowed = no_page_problems.allowed
    problems_allowed.append("401 (Unauthorized)")  # the refused page load itself
    response = page.goto(staff_stack.web_url + PAGE)
    assert response is not None and response.status == 401
    assert page.locator("svg").count() == 0 and traffic.marker not in page.content()
    bad = axe_scan(page, no_page_problems)
    assert not bad, "sign-in form:\n" + describe(bad)

    sign_in(page, staff_stack, "not-the-staff-token-at-all")
    expect(page.get_by_role("alert")).to_contain_text("That token is not right.")
    expect(page.get_by_label("Staff token")).to_have_value("")
    bad = axe_scan(page, no_page_problems)
    assert not bad, "sign-in form with the error:\n" + describe(bad)
    assert page.context.cookies() == []


def test_signed_in_page_in_chromium(staff_stack, traffic, new_page, no_page_problems):
    page = new_page(1280, 900)
    no_page_problems.allowed.append("401 (Unauthorized)")
    sign_in(page, staff_stack, staff_stack.token, "days=7")
    page.wait_for_url(re.compile(r"/staff/insights\?days=7$"))
    cookie = {c["name"]: c for c in page.context.cookies()}["staff_session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/staff"
    assert not cookie["secure"]  # plain http here; behind the TLS proxy it is Secure
    assert staff_stack.token not in cookie["value"] and staff_stack.token not in page.url

    charts = page.locator("svg")
    expect(charts.first).to_be_visible()
    bars = page.locator("svg rect")
    assert bars.count() > 0, "the charts have no bars"
    assert traffic.marker not in page.content()
    bad = axe_scan(page, no_page_problems)
    assert not bad, "insights page:\n" + describe(bad)

    interactive = page.evaluate(
        "() => Array.from(document.querySelectorAll('a[href], button, input:not([type=hidden]), select,"
        ' textarea, summary, [tabindex]:not([tabindex="-1"])\')).filter(e => e.offsetParent !== null).length'
    )
    reached = focus_walk(page)
    assert len(reached) >= interactive > 0, f"Tab reached {len(reached)} of {interactive} controls"

    # the period chooser, then sign-out: the cookie goes and the page is refused again
    page.get_by_label("From").fill("2026-01-01")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"since=2026-01-01&until="))
    expect(page.locator("h1")).to_contain_text("Clinic insights")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Staff token")).to_be_visible()
    assert page.context.cookies() == []


def test_page_at_320_px(staff_stack, traffic, new_page, no_page_problems):
    page = new_page(320, 640)
    no_page_problems.allowed.append("401 (Unauthorized)")
    sign_in(page, staff_stack, staff_stack.token)
    page.wait_for_url(re.compile(r"/staff/insights$"))
    expect(page.locator("svg").first).to_be_visible()
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 320, f"the page scrolls sideways at 320 px ({width} px wide)"
    bad = axe_scan(page, no_page_problems)
    assert not bad, "insights page at 320 px:\n" + describe(bad)


# ----------------------------------------------------------------------------- retention (last)
def test_what_retention_deleted_is_gone_from_the_figures(staff_stack, traffic):
    """Runs last in this module: it deletes every conversation of the stack."""
    import subprocess
    import sys

    from staff_traffic import RUN_DIR

    db = f"sqlite:///{RUN_DIR / 'tracker.db'}"
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "retention.py"), "--days", "0", "--no-logs", "--db-url", db],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0 and f"deleted {len(traffic.senders)} conversation(s)" in out.stdout, (
        out.stdout + out.stderr
    )
    cells = csv_cells(fetch(staff_stack.web_url + CSV, token=staff_stack.token)[2])
    assert cells[("overview", "conversations")] == F and cells[("overview", "messages")] == F
    assert [k for s, k in cells if s in ("topics", "flags", "clarify_offered")] == []
    assert cells[("escalations", "emergency")] == F and cells[("follow_ups", "tell_me_more")] == F

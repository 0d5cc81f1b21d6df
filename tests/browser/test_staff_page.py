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

import re
import urllib.request
from typing import Iterator

import pytest
from conftest import ROOT
from playwright.sync_api import expect
from staff_traffic import StaffStack, Traffic, fetch, send_traffic
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
        status, headers, body = fetch(base + path, token=staff_stack.token[:-1] + "x")
        assert status == 401 and 'error="invalid_token"' in headers["WWW-Authenticate"]
        assert fetch(base + path, cookie="staff_session=9999999999.00")[0] == 401
        # the token in the URL is not a way in
        assert fetch(base + path + "?token=" + staff_stack.token)[0] == 401
    status, headers, body = fetch(base + PAGE)
    assert headers["Content-Type"].startswith("text/html") and 'name="token"' in body and "<svg" not in body


def test_bad_periods_are_400(staff_stack):
    for query in ("days=0", "days=abc", "since=2026-02-30", "since=2026-11-10&until=2026-11-01", "days=1&days=2", "x=1"):
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

"""web/serve.py on its own: routes, security headers, settings injection, quiet logs.

Runs its own serve.py (free port, the unconfigured clinic profile); the browser part routes
the REST channel inside the page, so no Rasa is needed here.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import ROOT, http_ok
from playwright.sync_api import expect
from ui import ask, axe_scan, describe, fulfil_rest, open_widget

EMPTY_PROFILE = Path(__file__).parent / "fixtures" / "empty-profile.yml"
SECRET = "my-private-symptom-words"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(log, **env: str):
    """web/serve.py on a free port with the empty clinic profile; yields (port, base URL)."""
    port = free_port()
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "web" / "serve.py"),
                "--port",
                str(port),
                "--clinic-profile",
                str(EMPTY_PROFILE),
                "--rasa-url",
                "http://127.0.0.1:9",
            ],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **env},
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 15
        while not http_ok(base + "/healthz") and time.time() < deadline:
            time.sleep(0.2)
        try:
            yield port, base
        finally:
            proc.terminate()
            proc.wait(10)


@pytest.fixture(scope="module")
def plain_server(tmp_path_factory):
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with serve(log) as (_, base):
        yield base, log


def get(url: str, method: str = "GET", data: bytes = None):
    req = urllib.request.Request(url, method=method, data=data)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, dict(r.headers), r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode("utf-8", "replace")


@pytest.mark.parametrize(
    "path", ["/", "/visit", "/kiosk", "/static/widget.js", "/static/assistant.css", "/static/vendor/socket.io.min.js"]
)
def test_pages_and_assets_with_security_headers(plain_server, path):
    base, _ = plain_server
    status, headers, body = get(base + path)
    assert status == 200 and body
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "object-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "http://127.0.0.1:9" in csp  # connect-src allows the Rasa server
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    if path.startswith("/static/"):
        assert headers["Content-Type"].split(";")[0] in ("text/javascript", "text/css")
    else:
        assert headers["Content-Type"].startswith("text/html")
        assert headers["Cache-Control"] == "no-store"
        assert "<script>" not in body  # no inline script anywhere
        assert " style=" not in body


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs) -> None:
        attrs = dict(attrs)
        if tag in ("script", "img", "iframe", "source") and attrs.get("src"):
            self.urls.append(attrs["src"])
        if tag == "link" and attrs.get("href"):
            self.urls.append(attrs["href"])


def test_no_cdn_every_asset_is_local(plain_server):
    base, _ = plain_server
    for path in ("/", "/visit", "/kiosk"):
        parser = _Assets()
        parser.feed(get(base + path)[2])
        assert parser.urls
        for url in parser.urls:
            assert url.startswith("/static/"), url
    for name in ("widget.js", "assistant-core.js", "kiosk.js", "assistant.css", "widget.css", "kiosk.css", "site.css"):
        body = get(base + "/static/" + name)[2]
        hosts = set(re.findall(r"https?://([a-z0-9-]+(?:\.[a-z0-9-]+)+)", body, re.I))
        assert hosts <= {"assistant.example.org", "www.w3.org"}, (name, hosts)


@pytest.mark.parametrize(
    "path",
    [
        "/static/../serve.py",
        "/static/%2e%2e/serve.py",
        "/static/..%2fserve.py",
        "/static/.hidden",
        "/nope",
        "/static/",
        "/templates/index.html",
    ],
)
def test_unknown_and_traversal_paths_are_404(plain_server, path):
    base, _ = plain_server
    status, headers, body = get(base + path)
    assert status == 404
    assert "argparse" not in body


def test_post_is_refused_and_bodies_never_logged(plain_server):
    base, log = plain_server
    status, headers, _ = get(base + "/?q=" + SECRET + "-query", method="POST", data=("message=" + SECRET).encode())
    assert status == 405
    get(base + "/?q=" + SECRET + "-query")
    time.sleep(0.3)
    text = log.read_text()
    assert "GET / 200" in text
    assert SECRET not in text


def test_unconfigured_clinic_says_local_emergency_number(plain_server, new_page, no_page_problems):
    base, _ = plain_server
    page = new_page(1280, 800)
    page.goto(base + "/")
    expect(page.locator(".card--alert")).to_contain_text("your local emergency number")
    open_widget(page, base + "/")
    footer = page.locator(".ca-footer")
    expect(footer).to_contain_text("your local emergency number")
    assert footer.locator("a[href^='tel:']").count() == 0

    fulfil_rest(
        page,
        [
            {"text": "Call your local emergency number or go to the nearest emergency department now if: ..."},
            {
                "custom": {
                    "topic": "red_flag",
                    "escalation": "emergency",
                    "flags": ["saddle_numbness"],
                    "emergency_number": "",
                }
            },
        ],
    )
    turn = ask(page, "numb between my legs")
    banner = turn.locator(".ca-banner--emergency")
    expect(banner).to_contain_text("Call your local emergency number now.")
    assert banner.locator("a[href^='tel:']").count() == 0

    page.unroute("**/webhooks/rest/webhook")
    fulfil_rest(page, [])
    page.locator(".ca-input").fill("hello")
    page.locator(".ca-input").press("Enter")
    fallback = page.locator(".ca-fallback")
    expect(fallback).to_contain_text("your local emergency number")
    assert fallback.locator("a[href^='tel:']").count() == 0
    bad = axe_scan(page, no_page_problems)
    assert not bad, describe(bad)


def test_kiosk_page_without_clinic_settings(plain_server, new_page, no_page_problems):
    base, _ = plain_server
    page = new_page(1280, 900)
    page.goto(base + "/kiosk")
    expect(page.locator(".k-footer")).to_contain_text("your local emergency number")
    expect(page.locator(".k-clinic")).to_have_text("Our clinic")


def test_reading_turns_of_every_shape(plain_server, new_page, no_page_problems):
    """assistant-core's analyseTurn on the shapes Rasa's REST and socket.io channels send."""
    base, _ = plain_server
    page = new_page(800, 600)
    page.goto(base + "/kiosk")
    analyse = """turn => { const t = ClinicAssistantCore.analyseTurn(turn);
        return {escalation: t.escalation, topics: t.topics, flags: t.flags, empty: t.empty,
                segments: t.segments.map(s => [s.topic, s.items.map(m => m.text)])}; }"""
    rf = {"topic": "red_flag", "escalation": "emergency", "flags": ["saddle_numbness"]}
    ans = {"topic": "symptoms", "escalation": "routine", "sources": []}
    # REST: text then custom, a trailing line, the disclaimer after a banner
    got = page.evaluate(
        analyse,
        [
            {"text": "Call 999"},
            {"custom": rf},
            {"text": "Symptoms are...", "buttons": [{"title": "More", "payload": "/tell_me_more"}]},
            {"custom": ans},
            {"text": "See a GP"},
        ],
    )
    assert got["escalation"] == "emergency" and got["flags"] == ["saddle_numbness"]
    assert got["segments"] == [["red_flag", ["Call 999"]], ["symptoms", ["Symptoms are...", "See a GP"]]]
    got = page.evaluate(analyse, [{"text": "Call 999"}, {"custom": rf}, {"text": "disclaimer"}])
    assert got["segments"] == [["red_flag", ["Call 999"]], ["", ["disclaimer"]]]
    # text and custom in one message; urgent beats routine; order does not matter
    got = page.evaluate(analyse, [{"text": "A", "custom": ans}, {"text": "B", "custom": dict(rf, escalation="urgent")}])
    assert got["escalation"] == "urgent" and got["topics"] == ["symptoms", "red_flag"]
    # custom first, then its text
    got = page.evaluate(analyse, [{"custom": rf}, {"text": "Call 999"}])
    assert got["segments"] == [["red_flag", ["Call 999"]]]
    # socket.io: quick_replies; stock send_custom_json spreads the custom into the event
    got = page.evaluate(
        analyse,
        [
            {"text": "Hi", "quick_replies": [{"content_type": "text", "title": "X", "payload": "/x"}]},
            dict(ans, room="abc"),
        ],
    )
    assert got["segments"] == [["symptoms", ["Hi"]]] and got["escalation"] == "routine"
    # nothing to show, unknown tiers and junk
    assert page.evaluate(analyse, [])["empty"] is True
    assert page.evaluate(analyse, [{"custom": {"topic": "greet", "escalation": "none"}}])["empty"]
    got = page.evaluate(analyse, [None, 3, "plain", {"text": "x", "custom": {"escalation": "weird"}}])
    assert got["escalation"] == "none" and not got["empty"]


# ----------------------------------------------------------------------------- one source
def test_public_settings_come_from_the_profile_and_the_catalogue(plain_server):
    """/assistant.json: the numbers of the clinic profile, topic titles of the catalogue,
    red-flag labels of the red-flag table; any origin may read it (it is public)."""
    import json

    import yaml

    from assistant.catalogue import load_catalogue

    base, _ = plain_server
    status, headers, body = get(base + "/assistant.json")
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert headers["Access-Control-Allow-Origin"] == "*"
    data = json.loads(body)
    assert data["clinic"]["emergency_number"] == "" and data["clinic"]["clinic_phone"] == ""
    catalogue = load_catalogue()
    for tid, topic in catalogue.topics.items():
        assert data["topics"][tid] == topic.title
    flags = yaml.safe_load((ROOT / "content" / "red_flags.yml").read_text())["flags"]
    assert {f["id"]: f["watch_for"].strip() for f in flags} == data["flags"]
    # the front ends keep no tables of their own
    core = (ROOT / "web" / "static" / "assistant-core.js").read_text()
    assert "TOPIC_LABELS" not in core and "FLAG_LABELS" not in core
    assert "saddle_numbness" not in core and "Trendelenburg" not in core


def test_starter_topics_are_catalogue_topics_or_booking():
    """The start-screen buttons keep short titles of their own; their payloads must be
    topics the catalogue answers (or the booking intent)."""
    from assistant.catalogue import load_catalogue

    core = (ROOT / "web" / "static" / "assistant-core.js").read_text()
    block = core[core.index("STARTER_TOPICS = [") :]
    payloads = re.findall(r'payload: "/([a-z_]+)"', block[: block.index("];")])
    assert len(payloads) >= 5
    topics = load_catalogue().topics
    assert all(p in topics or p == "appointment" for p in payloads), payloads


def test_serve_has_no_profile_parser_of_its_own():
    source = (ROOT / "web" / "serve.py").read_text()
    assert "import yaml" not in source and "_read_flat_yaml" not in source and "safe_load" not in source
    assert "assistant" in (ROOT / "web" / "public_settings.py").read_text()


def test_qr_codes_only_for_the_profile_values(plain_server):
    base, _ = plain_server
    assert get(base + "/qr/booking.svg")[0] == 404  # the empty profile has no booking link
    assert get(base + "/qr/other.svg")[0] == 404


# ----------------------------------------------------------------------------- connections
@pytest.fixture(scope="module")
def quick_timeout_server(tmp_path_factory):
    with serve(tmp_path_factory.mktemp("serve-timeout") / "serve.log", WEB_SOCKET_TIMEOUT="2") as (port, _):
        yield port


def test_a_burst_of_100_connections_is_quick(quick_timeout_server):
    from concurrent.futures import ThreadPoolExecutor

    def one(_):
        with socket.create_connection(("127.0.0.1", quick_timeout_server), timeout=10) as s:
            s.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
            return s.recv(64)[:12]

    start = time.monotonic()
    with ThreadPoolExecutor(100) as pool:
        answers = list(pool.map(one, range(100)))
    took = time.monotonic() - start
    assert answers == [b"HTTP/1.0 200"] * 100
    assert took < 3, f"100 connections took {took:.1f}s"


def test_idle_connections_are_closed(quick_timeout_server):
    idle = [socket.create_connection(("127.0.0.1", quick_timeout_server), timeout=10) for _ in range(20)]
    try:
        start = time.monotonic()
        for s in idle:
            assert s.recv(64) == b""  # the server closed it (time-out), sending nothing
        assert time.monotonic() - start < 8
    finally:
        for s in idle:
            s.close()
    with socket.create_connection(("127.0.0.1", quick_timeout_server), timeout=5) as s:
        s.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
        assert s.recv(64).startswith(b"HTTP/1.0 200")

"""The assistant on the clinic's own website: another origin than the assistant's.

A small server in the test plays the clinic's website on two origins: SITE_PORT (8281),
allowed through the one origins setting (WEBSITE_ORIGINS, passed to Rasa the way the
launch scripts do), and OTHER_SITE_PORT (8282), not allowed. On them: the project's widget
over REST and socket.io, and the stock rasa-webchat 1.0.1 client (vendored from npm in
tests/browser/site/vendor with its licence) against the socket.io channel. Also here: the
socket.io channel's session binding, rate limit and frame limit, checked with a Python
socket.io client, and the kiosk's QR codes decoded with zxing-cpp.
"""

from __future__ import annotations

import io
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator, List, Tuple
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import BACKEND, HOST, OTHER_SITE_PORT, SITE_PORT
from playwright.sync_api import expect
from ui import ANSWER_TIMEOUT, QUESTION, RED_FLAG, ask, fulfil_rest

SITE = Path(__file__).parent / "site"
BOOKING_URL = "https://example.org/book"  # tests/browser/fixtures/clinic-profile.yml
real_only = pytest.mark.skipif(BACKEND == "fake", reason="the fake backend checks no origins")


# ----------------------------------------------------------------------------- the website
def site_server(port: int, web_url: str, rasa_url: str) -> ThreadingHTTPServer:
    class Site(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            if parts.path == "/favicon.ico":
                self.send_response(204)
                self.end_headers()
                return
            name = parts.path.lstrip("/") or "widget.html"
            file = (SITE / name).resolve()
            if SITE.resolve() not in file.parents or not file.is_file():
                self.send_error(404)
                return
            body = file.read_bytes()
            if file.suffix == ".html":
                extra = "".join(f'\n          data-{k[5:]}="{v[0]}"' for k, v in query.items() if k.startswith("data-"))
                text = body.decode()
                for key, value in {
                    "{{WEB}}": web_url,
                    "{{RASA}}": rasa_url,
                    "{{RASA_WS}}": rasa_url.replace("http://", "ws://"),
                    "{{TRANSPORT}}": query.get("transport", ["rest"])[0],
                    "{{EXTRA}}": extra,
                }.items():
                    text = text.replace(key, value)
                body = text.encode()
            ctype = {".html": "text/html", ".js": "text/javascript"}.get(file.suffix, "text/plain")
            self.send_response(200)
            self.send_header("Content-Type", ctype + "; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer((HOST, port), Site)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def sites(stack) -> Iterator[Tuple[str, str]]:
    servers = [site_server(p, stack.web_url, stack.rasa_url) for p in (SITE_PORT, OTHER_SITE_PORT)]
    yield f"http://{HOST}:{SITE_PORT}", f"http://{HOST}:{OTHER_SITE_PORT}"
    for s in servers:
        s.shutdown()
        s.server_close()


def open_embedded(page, url: str) -> None:
    page.goto(url)
    page.get_by_role("button", name=re.compile("Ask about hip pain")).click()
    expect(page.locator(".ca-panel")).to_be_visible()


# ----------------------------------------------------------------------------- the widget
@pytest.mark.parametrize("transport", ["rest", "socketio"])
def test_widget_on_an_allowed_website(stack, sites, new_page, no_page_problems, transport):
    page = new_page(1280, 800)
    open_embedded(page, f"{sites[0]}/widget.html?transport={transport}")
    turn = ask(page, QUESTION)
    expect(turn).to_have_attribute("data-escalation", "routine")
    expect(turn.locator(".ca-sources .ca-source").first).to_be_visible()
    turn = ask(page, RED_FLAG)
    banner = turn.locator(".ca-banner--emergency")
    expect(banner).to_be_visible()
    # the number comes from the clinic profile via /assistant.json: the tag has none
    expect(banner.locator("a.ca-call--emergency")).to_have_attribute("href", "tel:999")
    expect(page.locator(".ca-fallback")).to_have_count(0)


@real_only
@pytest.mark.parametrize("transport", ["rest", "socketio"])
def test_widget_on_a_website_not_allowed_falls_back(stack, sites, new_page, problems, transport):
    problems.allowed += ["CORS policy", "Failed to load resource", "ERR_FAILED", "WebSocket", "websocket"]
    page = new_page(1280, 800)
    open_embedded(page, f"{sites[1]}/widget.html?transport={transport}")
    page.locator(".ca-input").fill(RED_FLAG)
    page.locator(".ca-input").press("Enter")
    fallback = page.locator(".ca-fallback")
    expect(fallback).to_be_visible(timeout=ANSWER_TIMEOUT)
    expect(fallback).to_contain_text("can't reach the assistant")
    expect(fallback).to_contain_text("999")  # numbers still there, from the profile
    expect(fallback).to_contain_text("01632 960123")
    assert page.locator(".ca-turn--bot").count() == 0
    assert not problems.dialogs


def test_data_attributes_override_the_profile(stack, sites, new_page, no_page_problems):
    page = new_page(1280, 800)
    fulfil_rest(page, [])  # an empty reply: the fallback shows the numbers in use
    open_embedded(page, f"{sites[0]}/widget.html?data-clinic-phone=0000%20111222")
    page.locator(".ca-input").fill("hello")
    page.locator(".ca-input").press("Enter")
    fallback = page.locator(".ca-fallback")
    expect(fallback).to_contain_text("0000 111222")
    expect(fallback).not_to_contain_text("01632 960123")
    expect(fallback).to_contain_text("999")  # not overridden: from the profile


# ----------------------------------------------------------------------------- socket.io
def sio_client(origin: str):
    import socketio

    return socketio.Client(reconnection=False, logger=False, engineio_logger=False)


def connect(client, stack, origin: str) -> None:
    # long-polling: websocket-client would add an Origin header of its own next to ours
    client.connect(stack.rasa_url, transports=["polling"], headers={"Origin": origin}, wait_timeout=10)


def session(client, requested=None) -> str:
    got: List = []
    client.on("session_confirm", got.append)
    client.emit("session_request", {"session_id": requested})
    deadline = time.time() + 10
    while not got and time.time() < deadline:
        time.sleep(0.05)
    assert got, "no session_confirm"
    return got[-1] if isinstance(got[-1], str) else got[-1]["session_id"]


@real_only
def test_socketio_refuses_an_origin_not_allowed(stack, sites):
    import socketio

    client = sio_client(sites[1])
    with pytest.raises(socketio.exceptions.ConnectionError):
        connect(client, stack, sites[1])
    ok = sio_client(sites[0])
    connect(ok, stack, sites[0])
    ok.disconnect()


@real_only
def test_socketio_session_cannot_be_taken_over(stack, sites):
    a, b = sio_client(sites[0]), sio_client(sites[0])
    a_got, b_got = [], []
    a.on("bot_uttered", a_got.append)
    b.on("bot_uttered", b_got.append)
    connect(a, stack, sites[0])
    connect(b, stack, sites[0])
    try:
        a_id = session(a, "patient-chosen-id")
        assert a_id != "patient-chosen-id"  # the server issues the id
        assert session(a, a_id) == a_id  # and confirms it to its holder
        b_id = session(b, a_id)  # B presents A's id while A is connected
        assert b_id != a_id
        a.emit("user_uttered", {"message": "   ", "session_id": a_id})
        b.emit("user_uttered", {"message": " ", "session_id": a_id})  # B claims A's id again
        deadline = time.time() + 15
        while (not a_got or not b_got) and time.time() < deadline:
            time.sleep(0.1)
        time.sleep(1)
        assert a_got and b_got
        assert len(a_got) == len(b_got)  # each got only its own reply
        # a switch leaves the old room: A moves to a new id, B takes nothing of A's
        a_new = session(a, None)
        assert a_new not in (a_id, b_id)
    finally:
        a.disconnect()
        b.disconnect()
    # after A has gone (a reload), its id can come back
    c = sio_client(sites[0])
    connect(c, stack, sites[0])
    try:
        assert session(c, a_new) == a_new
    finally:
        c.disconnect()


@real_only
def test_socketio_rate_limit_and_frame_limit(stack, sites):
    client = sio_client(sites[0])
    got: List = []
    client.on("bot_uttered", got.append)
    connect(client, stack, sites[0])
    try:
        sid = session(client)
        for _ in range(30):  # empty messages: answered without the model; 30 in 1.5 s
            client.emit("user_uttered", {"message": " ", "session_id": sid})
            time.sleep(0.05)  # (long-polling batches over 16 packets are refused anyway)
        time.sleep(4)
        customs = [m["custom"] for m in got if isinstance(m, dict) and "custom" in m]
        limited = [c for c in customs if c.get("rate_limited")]
        assert len(limited) == 1, customs
        assert len(customs) <= 12, f"{len(customs)} replies to a burst of 30"
        texts = " ".join(m.get("text", "") for m in got if isinstance(m, dict))
        assert "999" in texts  # the notice still gives the emergency number
        client.emit("user_uttered", {"message": "x" * 20_000, "session_id": sid})
        deadline = time.time() + 10
        while client.connected and time.time() < deadline:
            time.sleep(0.1)
        assert not client.connected, "a 20 kB frame should close the socket (limit 16 kB)"
    finally:
        if client.connected:
            client.disconnect()


# ----------------------------------------------------------------------------- rasa-webchat
def webchat_page(new_page, url: str):
    page = new_page(1280, 900)
    # rasa-webchat's stylesheet @imports a web font from Google: not the assistant's, and the
    # tests run offline; answer it with an empty stylesheet.
    page.route("https://fonts.googleapis.com/**", lambda r: r.fulfill(status=200, body="", content_type="text/css"))
    page.goto(url)
    expect(page.locator(".rw-new-message")).to_be_visible(timeout=20_000)
    return page


def webchat_ask(page, text: str, expect_text, settle_ms: int = 6000):
    """Send ``text`` and wait for a bot message of this turn containing ``expect_text``
    (rasa-webchat shows a turn's messages one by one, with a typing delay each), then let
    the turn finish. Only messages after those already shown count: an earlier one with the
    same words (the first turn's disclaimer names the emergency number too) is no answer."""
    responses = page.locator(".rw-response")
    before = responses.count()
    page.locator(".rw-new-message").fill(text)
    page.locator(".rw-new-message").press("Enter")
    matches = expect_text.search if isinstance(expect_text, re.Pattern) else (lambda t: expect_text in t)
    deadline = time.monotonic() + ANSWER_TIMEOUT / 1000
    while True:
        found = [i for i in range(before, responses.count()) if matches(responses.nth(i).inner_text())]
        if found:
            answer = responses.nth(found[0])
            break
        assert time.monotonic() < deadline, f"no new reply with {expect_text!r} to {text!r}"
        page.wait_for_timeout(250)
    expect(answer).to_be_visible()
    page.wait_for_timeout(settle_ms)  # the rest of the turn, and longer than quick replies lasted
    return answer


@real_only
def test_rasa_webchat_on_an_allowed_website(stack, sites, new_page, no_page_problems):
    page = webchat_page(new_page, f"{sites[0]}/webchat.html")
    webchat_ask(page, QUESTION, re.compile("hip drops", re.I))
    expect(page.locator(".rw-response").filter(has_text="01632 960123").first).to_be_visible(timeout=ANSWER_TIMEOUT)
    buttons = page.locator(".rw-replies .rw-reply")
    expect(buttons.first).to_be_visible()  # still there after the turn (postback buttons)
    count = buttons.count()
    titles = buttons.all_inner_texts()
    assert count >= 2, titles
    before = page.locator(".rw-response").count()
    buttons.first.click()
    expect(page.locator(".rw-response")).not_to_have_count(before, timeout=ANSWER_TIMEOUT)
    page.wait_for_timeout(6000)
    assert page.locator(".rw-replies .rw-reply").count() >= count  # earlier buttons stay
    expect(page.locator(".rw-replies .rw-reply", has_text=titles[1]).first).to_be_visible()
    red = webchat_ask(page, RED_FLAG, "999")
    text = red.inner_text()
    assert "A&E" in text and "Call 999" in text, text
    assert text.count("\n") >= 2, text  # bullet lines stay separate lines (markdown hard breaks)
    before = page.locator(".rw-message").count()
    page.reload()
    expect(page.locator(".rw-new-message")).to_be_visible(timeout=20_000)
    expect(page.locator(".rw-message")).to_have_count(before, timeout=10_000)
    expect(page.locator(".rw-response").filter(has_text="Call 999").first).to_be_visible()


# ----------------------------------------------------------------------------- kiosk
def test_kiosk_qr_codes_decode_to_the_booking_link_and_phone(stack, new_page, no_page_problems):
    import zxingcpp
    from PIL import Image

    page = new_page(1920, 1080)
    page.goto(stack.web_url + "/kiosk")
    for selector, expected in (("#k-qr-booking img", BOOKING_URL), ("#k-qr-phone img", "tel:01632960123")):
        img = page.locator(selector)
        expect(img).to_be_visible()
        picture = Image.open(io.BytesIO(img.screenshot()))
        found = zxingcpp.read_barcodes(picture)
        assert [r.text for r in found] == [expected]


def test_kiosk_summary_says_a_crisis_reply_was_shown(stack, new_page, no_page_problems):
    page = new_page(1280, 900)
    fulfil_rest(
        page,
        [
            {"text": "Please call the crisis line now."},
            {"custom": {"topic": "red_flag", "escalation": "emergency", "flags": ["crisis"]}},
        ],
    )
    page.goto(stack.web_url + "/kiosk")
    expect(page.locator("#kiosk")).to_have_attribute("data-ready", "true")
    ask(page, "something", "#k-input")
    page.get_by_role("button", name="Ask at the front desk").click()
    safety = page.locator("#k-summary-safety")
    expect(safety).to_have_attribute("data-crisis", "true")
    expect(safety).to_contain_text("crisis support reply was shown")


def test_kiosk_reset_asks_the_server_to_forget(stack, new_page, no_page_problems):
    page = new_page(1280, 900)
    page.goto(stack.web_url + "/kiosk")
    expect(page.locator("#kiosk")).to_have_attribute("data-ready", "true")
    ask(page, "hello", "#k-input")
    cid = page.locator("#kiosk").get_attribute("data-conversation-id")
    with page.expect_request(lambda r: r.url.endswith("/webhooks/rest/forget") and r.method == "POST") as req:
        page.get_by_role("button", name="Start over").click()
    assert req.value.post_data_json == {"sender": cid}

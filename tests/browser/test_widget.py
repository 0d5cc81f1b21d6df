"""The website chat widget in headless Chromium, against the real Rasa + action servers."""

from __future__ import annotations

import re

import pytest
from conftest import screenshot
from playwright.sync_api import expect
from ui import (
    ANSWER_TIMEOUT,
    QUESTION,
    RED_FLAG,
    XSS,
    ask,
    bot_turns,
    click_and_wait,
    conversation_id,
    fulfil_rest,
    open_widget,
    senders,
)


def test_question_gets_answer_with_source_and_follow_up(stack, new_page, no_page_problems):
    page = new_page(1280, 800)
    open_widget(page, stack.web_url + "/")
    turn = ask(page, QUESTION)

    expect(turn).to_have_attribute("data-escalation", "routine")
    expect(turn.locator(".ca-bubble--bot").first).to_be_visible()
    source = turn.locator(".ca-sources .ca-source").first
    expect(source).to_be_visible()
    assert source.inner_text().strip()

    # a follow-up button: its payload goes to the server, its title shows as the user's words
    follow_up = turn.locator("button.ca-chip").last
    title = follow_up.inner_text().strip()
    next_turn = click_and_wait(page, follow_up)
    expect(page.locator(".ca-turn--user .ca-bubble").last).to_have_text(title)
    expect(next_turn.locator(".ca-bubble--bot").first).to_be_visible()
    expect(page.locator(".ca-typing")).to_be_hidden()
    screenshot(page, "widget-desktop")


def test_red_flag_shows_emergency_banner_and_number(stack, new_page, no_page_problems):
    page = new_page(390, 780, scale=2)
    open_widget(page, stack.web_url + "/")
    turn = ask(page, RED_FLAG)

    expect(turn).to_have_attribute("data-escalation", "emergency")
    banner = turn.locator(".ca-banner--emergency")
    expect(banner).to_be_visible()
    call = banner.locator("a.ca-call--emergency")
    expect(call).to_have_attribute("href", "tel:999")
    expect(call).to_contain_text("Call 999")
    # the banner is the first thing in the turn: never behind a button or below the answer
    first = turn.locator(":scope > :not(.ca-sr-only)").first
    expect(first).to_have_class(re.compile("ca-banner--emergency"))
    # announced assertively
    expect(page.locator("[aria-live=assertive]")).to_contain_text("Emergency", timeout=3000)
    # red and readable
    bg = banner.evaluate("el => getComputedStyle(el).backgroundColor")
    assert bg == "rgb(180, 35, 24)", bg
    screenshot(page, "widget-phone-emergency")


def test_phone_320_and_dark_mode(stack, new_page, no_page_problems):
    for dark in (False, True):
        page = new_page(320, 640, dark=dark, scale=2)
        page.goto(stack.web_url + "/")
        if not dark:
            screenshot(page, "widget-phone-closed")
        open_widget(page, stack.web_url + "/")
        turn = ask(page, QUESTION)
        expect(turn.locator(".ca-sources")).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 320, f"horizontal scroll at 320 px: {width}"
        box = page.locator(".ca-panel").bounding_box()
        assert box and box["width"] <= 320 and box["x"] >= 0
        for locator in (page.locator(".ca-input"), page.locator(".ca-send"), page.locator(".ca-close")):
            b = locator.bounding_box()
            assert b and b["x"] >= 0 and b["x"] + b["width"] <= 320, b
        screenshot(page, "widget-phone-dark" if dark else "widget-phone")


def test_conversation_survives_reload_and_navigation(stack, new_page, no_page_problems):
    page = new_page(1280, 800)
    sent = senders(page)
    open_widget(page, stack.web_url + "/")
    ask(page, QUESTION)
    cid = conversation_id(page)
    transcript = page.locator(".ca-log").inner_text()

    turns = page.locator(".ca-turn").count()

    page.reload()
    expect(page.locator(".ca-panel")).to_be_visible()  # stays open
    expect(page.locator(".ca-turn")).to_have_count(turns)
    assert page.locator(".ca-log").inner_text() == transcript
    assert conversation_id(page) == cid

    page.get_by_role("link", name="Visiting us").click()
    page.wait_for_url("**/visit")
    # the new page restores the panel as it was (open) before its text can be read: wait
    # for it as after the reload (inner_text of a panel not yet shown is "")
    expect(page.locator(".ca-panel")).to_be_visible()
    expect(page.locator(".ca-turn")).to_have_count(turns)
    assert page.locator(".ca-log").inner_text() == transcript
    ask(page, "What are the symptoms?")
    assert set(sent) == {cid}, sent
    stored = page.evaluate("JSON.parse(sessionStorage.getItem('clinic-assistant:v1')).id")
    assert stored == cid
    assert page.evaluate("localStorage.length") == 0


def test_start_over_gives_a_new_conversation(stack, new_page, no_page_problems):
    page = new_page(1280, 800)
    sent = senders(page)
    open_widget(page, stack.web_url + "/")
    ask(page, QUESTION)
    old = conversation_id(page)

    page.get_by_role("button", name="Start over").click()
    expect(bot_turns(page)).to_have_count(0)
    expect(page.locator(".ca-turn--user")).to_have_count(0)
    new = conversation_id(page)
    assert new and new != old
    expect(page.locator(".ca-input")).to_be_focused()
    ask(page, "hello")
    assert sent[-1] == new and old not in sent[1:], sent
    page.reload()
    expect(page.locator(".ca-turn--user")).to_have_count(1)


def test_markup_in_messages_is_shown_as_text(stack, new_page, no_page_problems):
    page = new_page(1280, 800)
    open_widget(page, stack.web_url + "/")
    ask(page, XSS)  # to the real server
    user = page.locator(".ca-turn--user .ca-bubble").last
    expect(user).to_have_text(XSS)
    assert page.locator(".ca-log img, .ca-log script").count() == 0

    # and whatever a (compromised) server sends back is text too
    evil = "<img src=x onerror=alert(3)><script>alert(4)</script>"
    fulfil_rest(
        page,
        [
            {
                "text": f"**bold** {evil} [click](javascript:alert(5))",
                "buttons": [{"title": evil, "payload": "/greet"}],
            },
            {
                "custom": {
                    "topic": "red_flag",
                    "escalation": "emergency",
                    "flags": [evil],
                    "emergency_number": evil,
                    "sources": [{"title": evil, "url": "javascript:alert(6)", "publisher": evil}],
                    "unknown_field": {"nested": [evil]},
                }
            },
            {
                "custom": {
                    "topic": "symptoms",
                    "escalation": "routine",
                    "sources": [{"title": evil, "url": "javascript:alert(7)"}],
                }
            },
        ],
    )
    turn = ask(page, "anything")
    expect(turn.locator(".ca-banner--emergency")).to_contain_text(evil)
    expect(turn.locator("button.ca-chip")).to_have_text(evil)
    expect(turn.locator("strong", has_text="bold")).to_have_count(1)
    assert page.locator(".ca-log img, .ca-log script").count() == 0
    hrefs = page.locator(".ca-log a").evaluate_all("els => els.map(a => a.getAttribute('href'))")
    assert not any(h and h.lower().startswith("javascript") for h in hrefs), hrefs
    page.wait_for_timeout(300)
    assert not no_page_problems.dialogs


def test_empty_reply_shows_clinic_and_emergency_numbers(stack, new_page, no_page_problems):
    page = new_page(1280, 800)
    open_widget(page, stack.web_url + "/")
    fulfil_rest(page, [])
    page.locator(".ca-input").fill("hello")
    page.locator(".ca-input").press("Enter")
    fallback = page.locator(".ca-fallback")
    expect(fallback).to_be_visible()
    expect(fallback).to_have_attribute("data-kind", "empty")
    expect(fallback.locator("a[href='tel:01632960123']")).to_be_visible()
    expect(fallback.locator("a[href='tel:999']")).to_be_visible()
    expect(page.locator(".ca-typing")).to_be_hidden()

    page.unroute("**/webhooks/rest/webhook")
    retry = fallback.get_by_role("button", name="Try again")
    turn = click_and_wait(page, retry)
    expect(turn.locator(".ca-bubble--bot").first).to_be_visible()
    expect(page.locator(".ca-fallback")).to_have_count(0)


def test_slow_server_shows_notice_then_fallback(stack, new_page, no_page_problems):
    page = new_page(1280, 800)
    page.add_init_script("window.ClinicAssistantConfig = {timeoutMs: 3000, slowMs: 800};")
    open_widget(page, stack.web_url + "/")
    fulfil_rest(page, [{"text": "too late"}], delay_ms=6000)
    page.locator(".ca-input").fill("hello")
    page.locator(".ca-input").press("Enter")
    expect(page.locator(".ca-typing")).to_be_visible()
    expect(page.locator(".ca-slow")).to_be_visible(timeout=2500)
    fallback = page.locator(".ca-fallback")
    expect(fallback).to_be_visible(timeout=5000)
    expect(fallback).to_have_attribute("data-kind", "timeout")
    expect(page.locator(".ca-typing")).to_be_hidden()
    expect(page.locator(".ca-slow")).to_be_hidden()
    expect(fallback.locator("a[href='tel:999']")).to_be_visible()
    page.wait_for_timeout(3500)  # the late answer must not appear afterwards
    expect(bot_turns(page)).to_have_count(0)


def test_keyboard_only(stack, new_page, no_page_problems):
    page = new_page(1280, 800)
    page.goto(stack.web_url + "/")
    # Tab from the top of the page until the launcher has focus
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == "clinic-assistant":
            break
    active = page.locator(".ca-launcher")
    expect(active).to_be_focused()
    outline = active.evaluate("el => getComputedStyle(el).outlineStyle")
    assert outline != "none", "focus is not visible on the launcher"

    page.keyboard.press("Enter")
    expect(page.locator(".ca-input")).to_be_focused()
    page.keyboard.type(QUESTION)
    page.keyboard.press("Enter")
    expect(bot_turns(page)).to_have_count(1, timeout=ANSWER_TIMEOUT)

    # Tab onwards into the answer's buttons: each focused control shows a focus ring
    page.keyboard.press("Shift+Tab")
    focused = page.evaluate_handle("document.activeElement.shadowRoot.activeElement")
    style = focused.evaluate("el => getComputedStyle(el).outlineStyle + ' ' + el.tagName")
    assert not style.startswith("none"), style

    page.keyboard.press("Escape")
    expect(page.locator(".ca-panel")).to_be_hidden()
    expect(page.locator(".ca-launcher")).to_be_focused()
    expect(page.locator(".ca-launcher")).to_have_attribute("aria-expanded", "false")


def test_every_control_has_a_name(stack, new_page, no_page_problems):
    page = new_page(1280, 800)
    open_widget(page, stack.web_url + "/")
    ask(page, QUESTION)
    unnamed = page.locator(".ca-widget button, .ca-widget textarea, .ca-widget a").evaluate_all(
        """els => els.filter(e => {
              const label = e.getAttribute('aria-label') || e.textContent.trim() ||
                (e.id && e.getRootNode().querySelector(`label[for="${e.id}"]`));
              return !label;
           }).map(e => e.outerHTML.slice(0, 120))"""
    )
    assert not unnamed, unnamed


@pytest.mark.stops_server
def test_rasa_down_shows_fallback_and_recovers(stack, new_page, problems):
    problems.allowed += ["ERR_CONNECTION_REFUSED", "Failed to load resource", "Failed to fetch"]
    page = new_page(1280, 800)
    open_widget(page, stack.web_url + "/")
    ask(page, "hello")

    stack.stop_rasa()
    try:
        page.locator(".ca-input").fill(QUESTION)
        page.locator(".ca-input").press("Enter")
        fallback = page.locator(".ca-fallback")
        expect(fallback).to_be_visible(timeout=30_000)
        expect(fallback).to_contain_text("can't reach")
        expect(fallback.locator("a[href='tel:01632960123']")).to_be_visible()
        expect(fallback.locator("a[href='tel:999']")).to_be_visible()
        expect(page.locator(".ca-typing")).to_be_hidden()
        screenshot(page, "widget-server-down")
    finally:
        stack.start()

    turn = click_and_wait(page, page.get_by_role("button", name="Try again"))
    expect(turn.locator(".ca-bubble--bot").first).to_be_visible()
    expect(page.locator(".ca-fallback")).to_have_count(0)
    assert not problems.dialogs


def test_socketio_channel(stack, new_page, no_page_problems):
    """The same widget over socket.io (websocket only) against Rasa's socket.io channel."""
    page = new_page(1280, 800)
    open_widget(page, stack.web_url + "/?transport=socketio")
    turn = ask(page, QUESTION)
    expect(turn).to_have_attribute("data-escalation", "routine")
    expect(turn.locator(".ca-sources .ca-source").first).to_be_visible()
    turn = ask(page, RED_FLAG)
    expect(turn.locator(".ca-banner--emergency a.ca-call--emergency")).to_have_attribute("href", "tel:999")
    cid = conversation_id(page)
    page.reload()
    expect(page.locator(".ca-turn--bot")).to_have_count(2)
    assert conversation_id(page) == cid

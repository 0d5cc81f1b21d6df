"""The front-desk kiosk in headless Chromium, against the real Rasa + action servers."""

from __future__ import annotations

from conftest import screenshot
from playwright.sync_api import expect
from ui import ANSWER_TIMEOUT, RED_FLAG, ask, click_and_wait, conversation_id, senders

KIOSK = "#kiosk"
TOPICS = ["What is it?", "Symptoms", "Exercises", "Treatments", "When to see someone", "Book"]


def open_kiosk(page, url):
    page.goto(url)
    expect(page.locator(KIOSK)).to_have_attribute("data-ready", "true")


def tap_topic(page, name):
    """Tap a topic (start screen or topic bar) and return the answer's turn."""
    start = page.locator("#k-start")
    scope = start if start.is_visible() else page.locator("#k-topicbar")
    return click_and_wait(page, scope.get_by_role("button", name=name, exact=True))


def test_start_screen_topic_gets_an_answer(stack, new_page, no_page_problems):
    page = new_page(1920, 1080)  # a common kiosk screen
    open_kiosk(page, stack.web_url + "/kiosk")
    for name in TOPICS:
        expect(page.locator("#k-start").get_by_role("button", name=name, exact=True)).to_be_visible()
    expect(page.locator(".k-privacy")).to_contain_text("personal details")
    screenshot(page, "kiosk-start")

    turn = tap_topic(page, "Exercises")
    expect(turn).to_have_attribute("data-topics", "exercises")
    expect(turn.locator(".ca-sources")).to_be_visible()
    expect(turn.get_by_role("button", name="Read aloud")).to_be_visible()
    expect(page.locator(".ca-turn--user .ca-bubble").last).to_have_text("Exercises")
    expect(page.locator("#k-start")).to_be_hidden()
    screenshot(page, "kiosk-answer")


def test_typed_question_and_portrait_screen(stack, new_page, no_page_problems):
    page = new_page(1080, 1920)
    open_kiosk(page, stack.web_url + "/kiosk")
    screenshot(page, "kiosk-portrait-start")
    turn = ask(page, "What are the symptoms?", "#k-input")
    expect(turn.locator(".ca-bubble--bot").first).to_be_visible()


def test_touch_targets_are_large(stack, new_page, no_page_problems):
    page = new_page(1280, 900)
    open_kiosk(page, stack.web_url + "/kiosk")
    tap_topic(page, "Symptoms")
    sizes = page.locator("button:visible, input:visible, a:visible").evaluate_all(
        "els => els.map(e => { const r = e.getBoundingClientRect();"
        " return [e.textContent.trim().slice(0, 30) || e.id, r.width, r.height]; })"
    )
    small = [s for s in sizes if s[1] < 48 or s[2] < 48]
    assert sizes and not small, f"touch targets under 48 px: {small}"
    font = page.locator(".ca-bubble--bot").first.evaluate("el => parseFloat(getComputedStyle(el).fontSize)")
    assert font >= 22, font


def test_read_aloud_uses_speech_synthesis(stack, new_page, no_page_problems):
    page = new_page(1280, 900)
    page.add_init_script("""
        window.__spoken = [];
        window.speechSynthesis.speak = u => { window.__spoken.push(u.text); };
        window.speechSynthesis.cancel = () => {};
    """)
    open_kiosk(page, stack.web_url + "/kiosk")
    turn = tap_topic(page, "What is it?")
    button = turn.get_by_role("button", name="Read aloud")
    button.click()
    expect(button).to_have_attribute("aria-pressed", "true")
    spoken = page.evaluate("window.__spoken")
    answer = turn.locator(".ca-bubble--bot p").first.inner_text()
    assert len(spoken) == 1 and answer[:40] in spoken[0], (spoken, answer)


def test_idle_timeout_resets_to_a_new_conversation(stack, new_page, no_page_problems):
    page = new_page(1280, 900)
    sent = senders(page)
    open_kiosk(page, stack.web_url + "/kiosk?idle=2&countdown=3")
    old = conversation_id(page, KIOSK)
    tap_topic(page, "Symptoms")
    page.locator("#k-input").fill("my private words")

    dialog = page.locator("#k-idle")
    expect(dialog).to_be_visible(timeout=6000)
    expect(dialog).to_contain_text("Are you still there?")
    screenshot(page, "kiosk-idle")

    expect(page.locator("#k-start")).to_be_visible(timeout=8000)
    expect(dialog).to_be_hidden()
    expect(page.locator(".ca-turn")).to_have_count(0)
    expect(page.locator("#k-input")).to_have_value("")
    new = conversation_id(page, KIOSK)
    assert new and new != old
    expect(page.locator(KIOSK)).to_have_attribute("data-reset-reason", "idle")

    tap_topic(page, "Exercises")
    assert sent == [old, new], sent  # the old conversation is never continued


def test_still_here_keeps_the_conversation(stack, new_page, no_page_problems):
    page = new_page(1280, 900)
    open_kiosk(page, stack.web_url + "/kiosk?idle=2&countdown=6")
    tap_topic(page, "Symptoms")
    cid = conversation_id(page, KIOSK)
    dialog = page.locator("#k-idle")
    expect(dialog).to_be_visible(timeout=6000)
    expect(page.locator("#k-idle-stay")).to_be_focused()
    page.get_by_role("button", name="I'm still here").click()
    expect(dialog).to_be_hidden()
    assert conversation_id(page, KIOSK) == cid
    expect(page.locator(".ca-turn--bot")).to_have_count(1)


def test_front_desk_summary_lists_topics_and_red_flag(stack, new_page, no_page_problems):
    page = new_page(1280, 900)
    open_kiosk(page, stack.web_url + "/kiosk")
    tap_topic(page, "Symptoms")
    tap_topic(page, "Exercises")
    turn = ask(page, RED_FLAG, "#k-input")
    banner = turn.locator(".ca-banner--emergency")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("999")
    assert banner.locator("a[href^='tel:']").count() == 0  # nobody dials from a kiosk

    page.get_by_role("button", name="Ask at the front desk").click()
    summary = page.locator("#k-summary")
    expect(summary).to_be_visible()
    topics = summary.locator("#k-summary-topics li")
    # the labels are the catalogue's titles (content/catalogue.yml via /assistant.json)
    from assistant.catalogue import load_catalogue

    titles = [load_catalogue().title("symptoms"), load_catalogue().title("exercises")]
    assert titles[0] == "Symptoms" and "exercises" in titles[1].lower()
    expect(topics).to_contain_text(titles)
    safety = summary.locator("#k-summary-safety")
    expect(safety).to_have_attribute("data-escalation", "emergency")
    expect(safety).to_contain_text("EMERGENCY")
    assert "bladder" not in summary.inner_text().lower().split("signs:")[0]
    assert "can't control" not in summary.inner_text()
    screenshot(page, "kiosk-summary")
    page.get_by_role("button", name="Close").click()
    expect(summary).to_be_hidden()


def test_nothing_is_kept_in_the_browser(stack, new_page, no_page_problems):
    page = new_page(1280, 900)
    open_kiosk(page, stack.web_url + "/kiosk")
    tap_topic(page, "Symptoms")
    ask(page, "Does sitting make it worse?", "#k-input")
    page.get_by_role("button", name="Ask at the front desk").click()
    page.get_by_role("button", name="Close").click()
    stored = page.evaluate("""async () => ({
        local: localStorage.length, session: sessionStorage.length, cookie: document.cookie,
        idb: indexedDB.databases ? (await indexedDB.databases()).length : 0,
        caches: (await caches.keys()).length })""")
    assert stored == {"local": 0, "session": 0, "cookie": "", "idb": 0, "caches": 0}, stored
    state = page.context.storage_state()
    assert not state["cookies"] and not state["origins"], state
    # and "Start over" wipes the screen and the id
    old = conversation_id(page, KIOSK)
    page.get_by_role("button", name="Start over").click()
    expect(page.locator("#k-start")).to_be_visible()
    assert conversation_id(page, KIOSK) != old


def test_kiosk_recovers_from_an_unreachable_server(stack, new_page, problems):
    problems.allowed += ["ERR_FAILED", "Failed to load resource", "Failed to fetch"]
    page = new_page(1280, 900)
    open_kiosk(page, stack.web_url + "/kiosk")
    page.route("**/webhooks/rest/webhook", lambda route: route.abort())
    page.locator("#k-start").get_by_role("button", name="Symptoms", exact=True).click()
    fallback = page.locator(".ca-fallback")
    expect(fallback).to_be_visible(timeout=ANSWER_TIMEOUT)
    expect(fallback).to_contain_text("999")
    page.unroute("**/webhooks/rest/webhook")
    turn = click_and_wait(page, fallback.get_by_role("button", name="Try again"))
    expect(turn.locator(".ca-bubble--bot").first).to_be_visible()


def test_book_shows_details_without_links_out_of_the_kiosk(stack, new_page, no_page_problems):
    page = new_page(1280, 900)
    open_kiosk(page, stack.web_url + "/kiosk")
    turn = tap_topic(page, "Book")
    expect(turn.locator(".ca-bubble--bot").first).to_be_visible()
    assert page.locator("#k-log a").count() == 0  # nobody leaves the kiosk page

"""axe-core scans of the widget and the kiosk: no serious or critical violations.

axe-core 4.x comes from the PyPI package axe-playwright-python (it ships axe.min.js); it is
injected with page.evaluate, which the pages' Content-Security-Policy does not block.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from ui import QUESTION, RED_FLAG, ask, axe_scan, describe, fulfil_rest, open_widget


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize("width,height", [(1280, 800), (320, 640)], ids=["desktop", "phone"])
def test_widget_has_no_serious_violations(stack, new_page, no_page_problems, dark, width, height):
    page = new_page(width, height, dark=dark)
    page.goto(stack.web_url + "/")
    expect(page.locator(".ca-launcher")).to_be_visible()
    bad = axe_scan(page, no_page_problems)
    assert not bad, "closed widget:\n" + describe(bad)

    open_widget(page, stack.web_url + "/")
    ask(page, QUESTION)
    ask(page, RED_FLAG)
    bad = axe_scan(page, no_page_problems)
    assert not bad, "open widget with answers and an emergency banner:\n" + describe(bad)


def test_widget_fallback_and_urgent_have_no_serious_violations(stack, new_page, no_page_problems):
    page = new_page(1280, 800)
    open_widget(page, stack.web_url + "/")
    fulfil_rest(
        page,
        [
            {"text": "Please see a doctor today. If you cannot get an appointment, call 111."},
            {"custom": {"topic": "red_flag", "escalation": "urgent", "flags": ["infection"], "urgent_line": "111"}},
        ],
    )
    ask(page, "fever")
    page.unroute("**/webhooks/rest/webhook")
    fulfil_rest(page, [])
    page.locator(".ca-input").fill("again")
    page.locator(".ca-input").press("Enter")
    expect(page.locator(".ca-fallback")).to_be_visible()
    bad = axe_scan(page, no_page_problems)
    assert not bad, describe(bad)


def test_kiosk_has_no_serious_violations(stack, new_page, no_page_problems):
    page = new_page(1280, 900)
    page.goto(stack.web_url + "/kiosk?idle=3&countdown=30")
    expect(page.locator("#kiosk")).to_have_attribute("data-ready", "true")
    bad = axe_scan(page, no_page_problems)
    assert not bad, "start screen:\n" + describe(bad)

    ask(page, QUESTION, "#k-input")
    ask(page, RED_FLAG, "#k-input")
    bad = axe_scan(page, no_page_problems)
    assert not bad, "conversation:\n" + describe(bad)

    page.get_by_role("button", name="Ask at the front desk").click()
    expect(page.locator("#k-summary")).to_be_visible()
    bad = axe_scan(page, no_page_problems)
    assert not bad, "front-desk summary:\n" + describe(bad)
    page.get_by_role("button", name="Close").click()

    expect(page.locator("#k-idle")).to_be_visible(timeout=8000)
    bad = axe_scan(page, no_page_problems)
    assert not bad, "still-there dialog:\n" + describe(bad)

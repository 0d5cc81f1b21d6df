"""Small page helpers shared by the browser tests (widget and kiosk)."""

from __future__ import annotations

import json
import re
from typing import Dict, List, Optional

from playwright.sync_api import Page, Route, expect

ANSWER_TIMEOUT = 45_000  # ms: a real turn (NLU + action server), generous for slow CI

# Questions the real assistant answers (see data/nlu and content/red_flags.yml).
QUESTION = "What exercises can I do to strengthen my gluteus medius?"
RED_FLAG = "I suddenly have numbness between my legs and I can't control my bladder"
XSS = "<img src=x onerror=alert(1)> <script>alert(2)</script> hello"


# ----------------------------------------------------------------------------- widget
def open_widget(page: Page, url: str) -> None:
    page.goto(url)
    page.get_by_role("button", name=re.compile("Ask about hip pain")).click()
    expect(page.locator(".ca-panel")).to_be_visible()
    expect(page.locator(".ca-input")).to_be_focused()


def bot_turns(page: Page):
    return page.locator(".ca-turn--bot")


def ask(page: Page, text: str, input_selector: str = ".ca-input", timeout: int = ANSWER_TIMEOUT):
    """Type `text`, send with Enter, wait for the bot's turn and return it."""
    before = bot_turns(page).count()
    box = page.locator(input_selector)
    box.fill(text)
    box.press("Enter")
    expect(bot_turns(page)).to_have_count(before + 1, timeout=timeout)
    return bot_turns(page).nth(before)


def click_and_wait(page: Page, locator, timeout: int = ANSWER_TIMEOUT):
    before = bot_turns(page).count()
    locator.click()
    expect(bot_turns(page)).to_have_count(before + 1, timeout=timeout)
    return bot_turns(page).nth(before)


def conversation_id(page: Page, selector: str = "#clinic-assistant") -> str:
    return page.locator(selector).get_attribute("data-conversation-id") or ""


def senders(page: Page) -> List[str]:
    """Record the `sender` of every REST request the page makes (returns the live list)."""
    seen: List[str] = []

    def on_request(request) -> None:
        if request.method == "POST" and request.url.endswith("/webhooks/rest/webhook"):
            try:
                seen.append(json.loads(request.post_data or "{}").get("sender", ""))
            except ValueError:
                seen.append("?")

    page.on("request", on_request)
    return seen


def fulfil_rest(page: Page, reply, delay_ms: int = 0) -> None:
    """Answer the REST channel from the test (for shapes the real server never sends)."""

    def handler(route: Route) -> None:
        if route.request.method == "OPTIONS":
            route.fulfill(status=204, headers=_cors(route))
            return
        if delay_ms:
            page.wait_for_timeout(delay_ms)
        body = reply if isinstance(reply, (bytes, str)) else json.dumps(reply)
        route.fulfill(status=200, headers={**_cors(route), "Content-Type": "application/json"}, body=body)

    page.route("**/webhooks/rest/webhook", handler)


def _cors(route: Route) -> Dict[str, str]:
    return {
        "Access-Control-Allow-Origin": route.request.headers.get("origin", "*"),
        "Access-Control-Allow-Headers": "Content-Type",
        "Access-Control-Allow-Methods": "POST, OPTIONS",
    }


# ----------------------------------------------------------------------------- axe-core
def axe_scan(page: Page, problems=None, context: Optional[dict] = None) -> List[dict]:
    """Run axe-core on the page; return violations with impact serious or critical.

    All violations are printed so that minor ones are visible in the test log too. axe
    itself applies inline styles while it checks (the pages' CSP refuses them): those
    console messages, and only those, are ignored while it runs.
    """
    from axe_playwright_python.sync_playwright import Axe

    if problems is not None:
        problems.allowed.append("Applying inline style violates")
    try:
        return _axe(page, Axe, context)
    finally:
        if problems is not None:
            page.wait_for_timeout(100)
            problems.allowed.remove("Applying inline style violates")


def _axe(page: Page, Axe, context: Optional[dict]) -> List[dict]:

    options = {
        "resultTypes": ["violations"],
        "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]},
    }
    results = Axe().run(page, context=context, options=options)
    violations = results.response["violations"]
    for v in violations:
        targets = [n["target"] for n in v["nodes"]][:5]
        print(f"axe {v['impact']}: {v['id']}: {v['help']} {targets}")
    return [v for v in violations if v["impact"] in ("serious", "critical")]


def describe(violations: List[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['impact']}: {v['id']} - {v['help']}")
        for n in v["nodes"][:5]:
            lines.append(f"    {n['target']}: {n.get('failureSummary', '')[:300]}")
    return "\n".join(lines)

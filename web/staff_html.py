"""The staff pages' own HTML: the sign-in form and the bar put on top of the insights page.

The insights page itself is assistant.insights.render_html (a complete page, no script);
the web server adds what only it knows: the period chooser (a plain GET form), the CSV
link for the same period and the sign-out button. No script and no inline style, so the
pages keep the server's Content-Security-Policy.
"""

from __future__ import annotations

import html
from datetime import date
from pathlib import Path
from urllib.parse import urlencode

TEMPLATE = Path(__file__).resolve().parent / "templates" / "staff-signin.html"
STYLESHEET = '<link rel="stylesheet" href="/static/staff.css">'
QUICK_DAYS = (7, 30, 90)


def signin_page(message: str = "", period_query: str = "") -> bytes:
    """The sign-in form (also the body of a 401 for a browser)."""
    text = TEMPLATE.read_text(encoding="utf-8")
    notice = f'<p class="staff-error" role="alert" id="signin-error">{html.escape(message)}</p>' if message else ""
    text = text.replace("{{notice}}", notice)
    text = text.replace("{{described}}", ' aria-describedby="signin-error"' if message else "")
    text = text.replace("{{period}}", html.escape(period_query, quote=True))
    return text.encode("utf-8")


def staff_bar(first: date, last: date) -> str:
    """Period chooser, quick periods, CSV download and sign-out for the insights page."""
    since, until = first.isoformat(), last.isoformat()
    csv = "/staff/insights.csv?" + urlencode({"since": since, "until": until})
    quick = "".join(f'<li><a href="/staff/insights?days={n}">Last {n} days</a></li>' for n in QUICK_DAYS)
    return (
        '<nav class="staff-bar" aria-label="Period and export">'
        '<form class="staff-period" method="get" action="/staff/insights">'
        f'<label for="period-since">From</label><input type="date" id="period-since" name="since" value="{since}" required>'
        f'<label for="period-until">To</label><input type="date" id="period-until" name="until" value="{until}" required>'
        '<button type="submit">Show</button></form>'
        f'<ul class="staff-quick">{quick}</ul>'
        f'<a class="staff-csv" href="{html.escape(csv, quote=True)}" download>Download CSV</a>'
        '<form class="staff-signout" method="post" action="/staff/signout"><button type="submit">Sign out</button></form>'
        "</nav>"
    )


def with_staff_bar(page: str, first: date, last: date) -> str:
    """The insights page with the staff style sheet and the bar at the top of the body."""
    page = page.replace("</head>", STYLESHEET + "</head>", 1)
    head, sep, rest = page.partition("<body>")
    if not sep:  # not the page shape we know: the figures alone are still right
        return page
    return head + sep + staff_bar(first, last) + rest

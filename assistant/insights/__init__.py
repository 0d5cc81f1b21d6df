"""Clinic insights: what patients ask, what escalated, what the assistant could not
answer, from the tracker store's events, without reading a word patients wrote.

    from assistant.insights import load_summary, render_html, render_csv
    summary = load_summary("sqlite:///run/tracker.db", start, end)

``load_summary`` counts in SQL (``queries.py``) and suppresses small numbers in one place
(``privacy.py``) before anything is shown; ``render_html`` and ``render_csv`` only format
the suppressed cells. ``python -m assistant.insights`` prints the tables. No Rasa import:
this is part of the core (``assistant/``). See docs/insights.md.
"""

from assistant.insights.privacy import SMALL_NUMBER, Count, Share
from assistant.insights.render import render_csv, render_html
from assistant.insights.summary import Period, Ranked, Summary, load_summary, resolve_zone

__all__ = [
    "SMALL_NUMBER",
    "Count",
    "Period",
    "Ranked",
    "Share",
    "Summary",
    "load_summary",
    "render_csv",
    "render_html",
    "resolve_zone",
]

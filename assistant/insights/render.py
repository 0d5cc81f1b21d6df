"""The insights as an HTML page, a CSV file and plain-text tables.

Only formatting: every number arrives suppressed (``Count``, ``Share``), so nothing here
can show a small number. The page is complete and self-contained apart from one style
sheet (``STYLESHEET``, served by the web server from ``web/static/insights.css``): no
script, no inline style, no external asset, so it runs under a strict Content Security
Policy. Headings follow the readers: overview, when, what was asked, what escalated,
what could not be answered, follow-ups, web and kiosk.
"""

import csv
import io
from html import escape
from typing import Iterable, List, Sequence, Tuple

from assistant.insights import charts
from assistant.insights.privacy import Count
from assistant.insights.summary import Ranked, Summary

STYLESHEET = "/static/insights.css"
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
CLIENT_LABELS = {"web": "Website widget", "kiosk": "Front-desk kiosk", "other": "Other clients"}
TIER_LABELS = {"emergency": "Emergency", "urgent": "Urgent", "crisis": "Crisis (suicide or self-harm)"}


def _table(caption: str, head: Sequence[str], rows: Iterable[Sequence[object]], css: str = "") -> str:
    cls = f' class="{css}"' if css else ""
    if "scroll" in css.split():  # a scrolling table must take keyboard focus (axe: scrollable-region-focusable)
        cls += ' tabindex="0"'
    out = [f"<table{cls}><caption>{escape(caption)}</caption><thead><tr>"]
    out += [f'<th scope="col">{escape(h)}</th>' for h in head]
    out.append("</tr></thead><tbody>")
    for row in rows:
        cells = [f'<th scope="row">{escape(str(row[0]))}</th>'] + [f"<td>{escape(str(c))}</td>" for c in row[1:]]
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _ranked_rows(rows: Sequence[Ranked]) -> List[Tuple[str, str, str]]:
    return [(r.label, str(r.count), str(r.share) if r.share is not None else "") for r in rows]


def _figure(svg: str, table: str) -> str:
    return f'<div class="pair"><figure>{svg}</figure>{table}</div>'


def _section(section_id: str, title: str, body: Iterable[str], intro: str = "") -> str:
    lead = f"<p>{escape(intro)}</p>" if intro else ""
    return f'<section aria-labelledby="{section_id}"><h2 id="{section_id}">{escape(title)}</h2>{lead}{"".join(body)}</section>'


def _overview(s: Summary) -> str:
    median = f"{s.median_conversation_length:g} messages" if s.median_conversation_length is not None else "not shown"
    items = [
        ("Conversations", str(s.conversations)),
        ("Patient messages", str(s.messages)),
        ("Median conversation length", median),
        ("Crisis replies shown", str(s.crisis_replies)),
        ("Check questions asked", str(s.check_questions)),
        (
            "Conversations with a follow-up",
            f"{s.conversations_with_follow_up.count} ({s.conversations_with_follow_up.share})",
        ),
    ]
    cards = "".join(f"<div><dt>{escape(k)}</dt><dd>{escape(v)}</dd></div>" for k, v in items)
    return _section("overview", "Overview", [f'<dl class="cards">{cards}</dl>'])


def _when(s: Summary) -> str:
    days = [(d.strftime("%d %b"), c) for d, c in s.conversations_per_day]
    msg_days = dict(s.messages_per_day)
    day_table = _table(
        "Conversations and messages per day",
        ("Day", "Conversations", "Messages"),
        ((d.strftime("%a %d %b %Y"), c, msg_days[d]) for d, c in s.conversations_per_day),
        css="scroll",
    )
    hours = [(f"{h:02d}", c) for h, c in enumerate(s.messages_per_hour)]
    hour_table = _table("Messages per hour of the day", ("Hour", "Messages"), ((f"{h}:00", c) for h, c in hours))
    week_rows = [[WEEKDAYS[d]] + [str(s.messages_per_hour_of_week[(d, h)]) for h in range(24)] for d in range(7)]
    week = _table(
        "Messages per hour of the week (rows: days; columns: hours)",
        ["Day"] + [f"{h:02d}" for h in range(24)],
        week_rows,
        css="week scroll",
    )
    weekday_bars = [(WEEKDAYS[d], c) for d, c in enumerate(s.messages_per_weekday)]
    return _section(
        "when",
        "When patients use the assistant",
        [
            _figure(charts.day_line("per-day", "Conversations per day", days), day_table),
            _figure(charts.vertical_bars("per-hour", "Messages per hour of the day", hours), hour_table),
            _figure(
                charts.vertical_bars("per-weekday", "Messages per day of the week", weekday_bars),
                _table("Messages per day of the week", ("Day", "Messages"), weekday_bars),
            ),
            week,
        ],
        intro=f"Times are in {s.period.timezone}. A conversation counts on the day and hour of its first message.",
    )


def _ranked_pair(chart_id: str, title: str, rows: Sequence[Ranked], first_col: str, share: bool = True) -> str:
    svg = charts.horizontal_bars(chart_id, title, [(r.label, r.count) for r in rows])
    head = (first_col, "Count", "Share of messages") if share else (first_col, "Count")
    body = _ranked_rows(rows) if share else [(r.label, str(r.count)) for r in rows]
    return _figure(svg, _table(title, head, body))


def _escalations(s: Summary) -> str:
    tiers = list(s.escalations) + [Ranked("crisis", TIER_LABELS["crisis"], s.crisis_replies)]
    by_client = _table(
        "Escalation replies by front end",
        ("Tier", *[CLIENT_LABELS[c] for c in ("web", "kiosk", "other")]),
        (
            (TIER_LABELS[t], *[s.escalations_by_client[(t, c)] for c in ("web", "kiosk", "other")])
            for t in ("emergency", "urgent", "crisis")
        ),
    )
    return _section(
        "escalations",
        "Red flags and escalations",
        [
            _ranked_pair("tiers", "Escalation replies per tier", tiers, "Tier", share=False),
            by_client,
            _ranked_pair("flags", "Red flags found, per flag", s.flags, "Flag", share=False),
            _ranked_pair("checks", "Check questions asked, per flag", s.check_flags, "Flag", share=False),
        ],
        intro="Counted per reply shown. A check question asks about a flag the assistant was unsure of.",
    )


def _clients(s: Summary) -> str:
    return _section(
        "clients",
        "Website and kiosk",
        [
            _table(
                "Conversations and messages by front end",
                ("Front end", "Conversations", "Messages"),
                ((CLIENT_LABELS[c], conv, msg) for c, conv, msg in s.clients),
            )
        ],
    )


def render_html(summary: Summary) -> str:
    """The whole page (UTF-8 HTML5), for the web server's staff route or a file."""
    s = summary
    start, end = s.period.start.strftime("%d %b %Y %H:%M"), s.period.end.strftime("%d %b %Y %H:%M")
    sections = [
        _overview(s),
        _when(s),
        _section(
            "topics",
            "What patients asked about",
            [_ranked_pair("topic-chart", "Topics answered", s.topics, "Topic")],
            intro="Each answer counted once per message; follow-ups count for the topic they opened.",
        ),
        _escalations(s),
        _section(
            "unanswered",
            "What the assistant could not answer",
            [
                _ranked_pair("outcome-chart", "Messages that did not get a topic answer", s.outcomes, "Outcome"),
                _ranked_pair(
                    "offered", 'Topics offered by "did you mean"', s.clarify_offered, "Topic offered", share=False
                ),
            ],
            intro="Where the content could grow: the share of all patient messages that ended this way.",
        ),
        _section(
            "follow-ups",
            "Follow-ups",
            [_ranked_pair("follow-chart", "Follow-up messages", s.follow_ups, "Follow-up")],
        ),
        _clients(s),
        _section(
            "notes", "About these figures", ["<ul>" + "".join(f"<li>{escape(n)}</li>" for n in s.notes) + "</ul>"]
        ),
    ]
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Clinic insights, {escape(start)} to {escape(end)}</title>"
        f'<link rel="stylesheet" href="{STYLESHEET}"></head><body>'
        "<header><h1>Clinic insights</h1>"
        f"<p>{escape(start)} to {escape(end)} ({escape(s.period.timezone)}). "
        f"Counts under {s.small_number} read &ldquo;fewer than {s.small_number}&rdquo;, so that no figure "
        "can point at a patient. No message text and no conversation id is read.</p></header>"
        f"<main>{''.join(sections)}</main></body></html>\n"
    )


def csv_rows(summary: Summary) -> List[Tuple[str, str, str]]:
    """Tidy rows (section, key, value); suppressed cells read "fewer than 5"."""
    s = summary
    rows: List[Tuple[str, str, str]] = [
        ("period", "start", s.period.start.isoformat()),
        ("period", "end", s.period.end.isoformat()),
        ("period", "timezone", s.period.timezone),
        ("period", "small_number", str(s.small_number)),
        ("overview", "conversations", s.conversations.plain()),
        ("overview", "messages", s.messages.plain()),
        ("overview", "median_conversation_length", _median(s)),
        ("overview", "crisis_replies", s.crisis_replies.plain()),
        ("overview", "check_questions", s.check_questions.plain()),
        ("overview", "conversations_with_follow_up", s.conversations_with_follow_up.count.plain()),
    ]
    rows += [("conversations_per_day", d.isoformat(), c.plain()) for d, c in s.conversations_per_day]
    rows += [("messages_per_day", d.isoformat(), c.plain()) for d, c in s.messages_per_day]
    rows += [("messages_per_hour", f"{h:02d}", c.plain()) for h, c in enumerate(s.messages_per_hour)]
    rows += [("messages_per_weekday", WEEKDAYS[d], c.plain()) for d, c in enumerate(s.messages_per_weekday)]
    for name, week in (
        ("messages_per_hour_of_week", s.messages_per_hour_of_week),
        ("conversations_per_hour_of_week", s.conversations_per_hour_of_week),
    ):
        rows += [(name, f"{WEEKDAYS[d]} {h:02d}", week[(d, h)].plain()) for d in range(7) for h in range(24)]
    for name, ranked in (
        ("topics", s.topics),
        ("escalations", s.escalations),
        ("flags", s.flags),
        ("outcomes", s.outcomes),
        ("clarify_offered", s.clarify_offered),
        ("follow_ups", s.follow_ups),
        ("check_flags", s.check_flags),
    ):
        rows += [(name, r.key, r.count.plain()) for r in ranked]
        rows += [(f"{name}_share", r.key, str(r.share)) for r in ranked if r.share is not None]
    rows += [("escalations_by_client", f"{t}/{c}", cell.plain()) for (t, c), cell in s.escalations_by_client.items()]
    rows += [("conversations_by_client", c, conv.plain()) for c, conv, _ in s.clients]
    rows += [("messages_by_client", c, msg.plain()) for c, _, msg in s.clients]
    return rows


def _median(s: Summary) -> str:
    return f"{s.median_conversation_length:g}" if s.median_conversation_length is not None else "not shown"


def render_csv(summary: Summary) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("section", "key", "value"))
    writer.writerows(csv_rows(summary))
    return out.getvalue()


def render_text(summary: Summary) -> str:
    """The command line's tables: each section's rows, aligned."""
    lines: List[str] = []
    current = None
    for section, key, value in csv_rows(summary):
        if section.endswith("_hour_of_week") or (section.endswith("_per_day") and value.startswith("fewer")):
            continue  # long grids: in the CSV and the page
        if section != current:
            lines.append(f"\n{section.replace('_', ' ')}")
            current = section
        lines.append(f"  {key:<40} {value}")
    return "\n".join(lines).lstrip("\n") + "\n"


def cells(summary: Summary) -> List[Count]:
    """Every count cell of a summary (for checks that nothing small slipped through)."""
    s = summary
    out: List[Count] = [s.conversations, s.messages, s.crisis_replies, s.check_questions]
    out += [c for _, c in s.conversations_per_day] + [c for _, c in s.messages_per_day]
    out += list(s.messages_per_hour_of_week.values()) + list(s.conversations_per_hour_of_week.values())
    out += list(s.messages_per_hour) + list(s.messages_per_weekday) + list(s.escalations_by_client.values())
    for ranked in (s.topics, s.escalations, s.flags, s.outcomes, s.clarify_offered, s.follow_ups, s.check_flags):
        out += [r.count for r in ranked]
    out += [c for _, conv, msg in s.clients for c in (conv, msg)]
    return out

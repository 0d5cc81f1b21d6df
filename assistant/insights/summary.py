"""``load_summary``: what the assistant was used for in a period, without a word of it.

Read from the tracker store's ``events`` table with one SQL statement (``queries.py``),
counted in the database; the rows that come back hold 15-minute buckets, front ends,
intents, topics, tiers, flag ids and counts, never a sender id or a message. Every number
then goes through ``privacy.py`` (small-number suppression) before it is put into the
``Summary``: what the page, the CSV and the command line show is already safe to show.

What the store cannot tell: messages the channels answered without Rasa (an empty or
over-long message, a turn that timed out) never reach the store, and the channels' own
safety-net reply is not stored either. What the store does show is a patient message with
no reply carrying the reply contract's payload after it (the action server was down or
failed, and the channel answered) and the actions' own "can't answer right now" reply
(``custom.unavailable``). Both are reported, and ``Summary.notes`` says what is missing.
"""

import logging
import os
import time
from dataclasses import dataclass
from datetime import date, datetime, timezone, tzinfo
from pathlib import Path
from typing import Dict, Mapping, Optional, Sequence, Tuple, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa

from assistant.catalogue import load_catalogue
from assistant.insights import aggregate, privacy
from assistant.insights.privacy import Count, Share
from assistant.insights.queries import summary_sql

logger = logging.getLogger(__name__)

TIMEZONE_ENV = "INSIGHTS_TIMEZONE"
TIERS = ("emergency", "urgent")
CLIENT_ORDER = ("web", "kiosk", "other")
ASKED_CONVERSATION_TOPICS = {"appointment": "Booking, opening hours, address", "handoff": "Asked for a person"}
FOLLOW_UP_LABELS = {
    "tell_me_more": "Tell me more",
    "choose_option": "Picked an offered topic (the second one, the last one ...)",
    "affirm": "Yes (to more detail or a check question)",
}
OUTCOME_LABELS = {
    "clarify": 'Ended in "did you mean"',
    "out_of_scope": "Out of scope",
    "other_body_part": "Another body part (out of scope, see a clinician)",
    "no_reply": "No stored reply (the channel's safety net answered)",
    "unavailable": '"Can\'t answer right now" (an action failed)',
}
NOTES = (
    "Messages answered by the channels without Rasa (empty, over-long, or a turn that timed out) "
    "are not in the tracker store and are not counted.",
    "The channels' own safety-net reply is not stored: a message after which no reply with the "
    "reply contract's payload was stored is counted as answered by the safety net.",
    "Red-flag escalations are counted per reply shown: a message with several flags gets one "
    "emergency or urgent reply naming them all, and a crisis reply of its own.",
    "Deleted conversations (retention) are gone from these figures too.",
)

Series = Tuple[Tuple[date, Count], ...]


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime
    timezone: str

    @property
    def days(self) -> Tuple[date, ...]:
        return aggregate.days_between(self.start, self.end)


@dataclass(frozen=True)
class Ranked:
    """One row of a ranked table: id, label, count, share of its total (if meaningful)."""

    key: str
    label: str
    count: Count
    share: Optional[Share] = None


@dataclass(frozen=True)
class Summary:
    """Everything the insights show. Every count is a suppressed ``Count``."""

    period: Period
    small_number: int
    conversations: Count
    messages: Count
    conversations_per_day: Series
    messages_per_day: Series
    conversations_per_hour_of_week: Dict[Tuple[int, int], Count]
    messages_per_hour_of_week: Dict[Tuple[int, int], Count]
    messages_per_hour: Tuple[Count, ...]
    messages_per_weekday: Tuple[Count, ...]
    topics: Tuple[Ranked, ...]
    escalations: Tuple[Ranked, ...]
    escalations_by_client: Dict[Tuple[str, str], Count]
    crisis_replies: Count
    flags: Tuple[Ranked, ...]
    outcomes: Tuple[Ranked, ...]
    clarify_offered: Tuple[Ranked, ...]
    follow_ups: Tuple[Ranked, ...]
    conversations_with_follow_up: Ranked
    clients: Tuple[Tuple[str, Count, Count], ...]
    check_questions: Count
    check_flags: Tuple[Ranked, ...]
    median_conversation_length: Optional[float]
    notes: Tuple[str, ...] = NOTES


def resolve_zone(name: Optional[str] = None) -> Tuple[tzinfo, str]:
    """The clinic's time zone: ``name``, else INSIGHTS_TIMEZONE, else TZ, else the
    machine's (/etc/timezone), else UTC. Days and hours are cut in it."""
    candidates = [name, os.environ.get(TIMEZONE_ENV), os.environ.get("TZ")]
    etc = Path("/etc/timezone")
    if etc.is_file():
        candidates.append(etc.read_text().strip())
    for candidate in candidates:
        if candidate:
            try:
                return ZoneInfo(candidate.lstrip(":")), candidate.lstrip(":")
            except (ZoneInfoNotFoundError, ValueError):
                if candidate is name:
                    raise ValueError(f"unknown time zone {name!r}") from None
    return timezone.utc, "UTC"


def _aware(moment: datetime, zone: tzinfo) -> datetime:
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment.astimezone(zone)


def _ranked(
    raw: Mapping[str, int], labels: Mapping[str, str], whole: Optional[Count] = None, keep: Sequence[str] = ()
) -> Tuple[Ranked, ...]:
    """Rows ranked by count. Suppressed rows come last in key order, so their order says
    nothing about their size. ``keep``: rows listed even when zero."""
    keys = set(raw) | set(keep)
    rows = [
        Ranked(key, labels.get(key, key), privacy.count(raw.get(key, 0)), None)
        for key in keys
        if raw.get(key, 0) > 0 or key in keep
    ]
    if whole is not None:
        rows = [Ranked(r.key, r.label, r.count, Share(r.count, whole)) for r in rows]
    shown = sorted((r for r in rows if not r.count.suppressed), key=lambda r: (-(r.count.value or 0), r.key))
    hidden = sorted((r for r in rows if r.count.suppressed), key=lambda r: r.key)
    return tuple(shown + hidden)


def _series(days: Sequence[date], raw: Mapping[date, int]) -> Series:
    cells = privacy.partition({day: raw.get(day, 0) for day in days})
    return tuple((day, cells[day]) for day in days)


def _week(raw: Mapping[Tuple[int, int], int]) -> Dict[Tuple[int, int], Count]:
    return privacy.partition({(d, h): raw.get((d, h), 0) for d in range(7) for h in range(24)})


def _asked(topics: Mapping[str, int]) -> Dict[str, int]:
    """Content topics and the practical asks (booking, a person); small talk is left out."""
    catalogue = load_catalogue()
    return {k: n for k, n in topics.items() if catalogue.topic(k) or k in ASKED_CONVERSATION_TOPICS}


def _topic_labels(keys) -> Dict[str, str]:
    catalogue = load_catalogue()
    labels = {key: catalogue.title(key) for key in keys}
    labels.update(ASKED_CONVERSATION_TOPICS)
    return labels


def build_summary(raw: aggregate.Raw, period: Period) -> Summary:
    """Suppress every raw count and arrange them for the readers."""
    messages = privacy.count(raw.messages)
    conversations = privacy.count(raw.conversations)
    hours, weekdays = aggregate.by_hour(raw.messages_by_hour_of_week)
    hour_cells = privacy.partition({h: hours.get(h, 0) for h in range(24)})
    weekday_cells = privacy.partition({d: weekdays.get(d, 0) for d in range(7)})
    conv_clients = privacy.partition({c: raw.conversations_by_client.get(c, 0) for c in CLIENT_ORDER})
    msg_clients = privacy.partition({c: raw.messages_by_client.get(c, 0) for c in CLIENT_ORDER})
    tiers = privacy.partition({t: raw.tiers.get(t, 0) for t in TIERS})
    by_client = {
        (tier, client): cell
        for tier in (*TIERS, "crisis")
        for client, cell in privacy.partition(
            {c: raw.escalations_by_client.get((tier, c), 0) for c in CLIENT_ORDER}
        ).items()
    }
    outcomes = dict(raw.out_of_scope, clarify=raw.clarify, no_reply=raw.no_reply, unavailable=raw.unavailable)
    follow_conv = privacy.count(raw.conversations_with_follow_up)
    median = aggregate.median_length(raw.conversation_lengths) if not conversations.suppressed else None
    return Summary(
        period=period,
        small_number=privacy.SMALL_NUMBER,
        conversations=conversations,
        messages=messages,
        conversations_per_day=_series(period.days, raw.conversations_by_day),
        messages_per_day=_series(period.days, raw.messages_by_day),
        conversations_per_hour_of_week=_week(raw.conversations_by_hour_of_week),
        messages_per_hour_of_week=_week(raw.messages_by_hour_of_week),
        messages_per_hour=tuple(hour_cells[h] for h in range(24)),
        messages_per_weekday=tuple(weekday_cells[d] for d in range(7)),
        topics=_ranked(_asked(raw.topics), _topic_labels(raw.topics), whole=messages),
        escalations=tuple(Ranked(t, t.capitalize(), tiers[t], Share(tiers[t], messages)) for t in TIERS),
        escalations_by_client=by_client,
        crisis_replies=privacy.count(raw.crisis),
        flags=_ranked(raw.flags, {}),
        outcomes=_ranked(outcomes, OUTCOME_LABELS, whole=messages, keep=tuple(OUTCOME_LABELS)),
        clarify_offered=_ranked(raw.clarify_offered, _topic_labels(raw.clarify_offered)),
        follow_ups=_ranked(raw.follow_ups, FOLLOW_UP_LABELS, whole=messages, keep=tuple(FOLLOW_UP_LABELS)),
        conversations_with_follow_up=Ranked(
            "conversations_with_follow_up",
            "Conversations with a follow-up",
            follow_conv,
            Share(follow_conv, conversations),
        ),
        clients=tuple((c, conv_clients[c], msg_clients[c]) for c in CLIENT_ORDER),
        check_questions=privacy.count(sum(raw.checks.values())),
        check_flags=_ranked(raw.checks, {}),
        median_conversation_length=median,
    )


def _rows(url: sa.engine.URL, start: float, end: float) -> list:
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        return []  # no store yet: never create an empty file by connecting
    engine = sa.create_engine(url, hide_parameters=True)
    try:
        if not sa.inspect(engine).has_table("events"):
            return []
        with engine.connect() as conn:
            return list(conn.execute(sa.text(summary_sql(url.get_backend_name())), {"start": start, "end": end}))
    finally:
        engine.dispose()


def load_summary(
    db_url: Union[str, sa.engine.URL], start: datetime, end: datetime, timezone_name: Optional[str] = None
) -> Summary:
    """The summary of [start, end) from the tracker store at ``db_url``.

    Naive datetimes are read in the clinic's time zone (``resolve_zone``). Only counts
    are logged.
    """
    zone, zone_name = resolve_zone(timezone_name)
    start, end = _aware(start, zone), _aware(end, zone)
    if end <= start:
        raise ValueError("the period must end after it starts")
    url = sa.engine.make_url(db_url)
    started = time.perf_counter()
    rows = _rows(url, start.timestamp(), end.timestamp())
    raw = aggregate.collect(rows, zone)
    logger.info(
        "insights: %d grouped rows from %s in %.2f s", len(rows), url.get_backend_name(), time.perf_counter() - started
    )
    return build_summary(raw, Period(start=start, end=end, timezone=zone_name))

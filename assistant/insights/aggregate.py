"""Raw counts from the statement's grouped rows (``queries.py``), before suppression.

Nothing here leaves the package: ``summary.py`` turns every number into a suppressed
``Count`` first. The rows carry no sender id and no text, only 15-minute buckets, the front
end, intents, topics, tiers, flag ids and counts.
"""

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from assistant.insights.queries import BUCKET_SECONDS

CLIENTS = {"widget": "web", "kiosk": "kiosk"}
CRISIS_FLAG = "crisis"
_EPSILON = timedelta(microseconds=1)


def client_label(value: Optional[str]) -> str:
    """The front end a message came from: the widget ("web"), the kiosk, or another client."""
    return CLIENTS.get(value or "", "other")


def _json_list(value: Optional[str]) -> List[str]:
    if not value:
        return []
    try:
        items = json.loads(value)
    except ValueError:
        return []
    return [str(item) for item in items] if isinstance(items, list) else []


@dataclass
class Raw:
    """Every count the summary shows, exact, in the clinic's time zone."""

    zone: tzinfo
    messages_by_day: Counter = field(default_factory=Counter)
    messages_by_hour_of_week: Counter = field(default_factory=Counter)
    messages_by_client: Counter = field(default_factory=Counter)
    follow_ups: Counter = field(default_factory=Counter)
    conversations_by_day: Counter = field(default_factory=Counter)
    conversations_by_hour_of_week: Counter = field(default_factory=Counter)
    conversations_by_client: Counter = field(default_factory=Counter)
    conversation_lengths: Counter = field(default_factory=Counter)
    conversations_with_follow_up: int = 0
    topics: Counter = field(default_factory=Counter)
    replies: int = 0
    tiers: Counter = field(default_factory=Counter)
    crisis: int = 0
    flags: Counter = field(default_factory=Counter)
    clarify: int = 0
    clarify_offered: Counter = field(default_factory=Counter)
    out_of_scope: Counter = field(default_factory=Counter)
    checks: Counter = field(default_factory=Counter)
    unavailable: int = 0
    escalations_by_client: Counter = field(default_factory=Counter)
    escalating_messages: int = 0
    escalating_replies: int = 0
    escalating_no_reply: int = 0

    @property
    def messages(self) -> int:
        return sum(self.messages_by_client.values())

    @property
    def conversations(self) -> int:
        return sum(self.conversations_by_client.values())

    @property
    def no_reply(self) -> int:
        """Messages after which the store holds no reply with the contract's payload.

        In a conversation without a red flag or a check question, every answered message
        has exactly one reply carrying ``custom`` (``actions/actions.py``: only a red-flag
        warning or a check question puts a second one in front of the answer), so there the
        unanswered messages are messages minus replies. Conversations with a red flag or a
        check question were walked turn by turn in the database (``escalating``).
        """
        plain_messages = self.messages - self.escalating_messages
        plain_replies = self.replies - self.escalating_replies
        return max(0, plain_messages - plain_replies) + self.escalating_no_reply

    def local(self, bucket: int) -> datetime:
        return datetime.fromtimestamp(bucket * BUCKET_SECONDS, self.zone)

    def add_message(self, bucket: int, client: Optional[str], follow_up: Optional[str], n: int) -> None:
        moment = self.local(bucket)
        self.messages_by_day[moment.date()] += n
        self.messages_by_hour_of_week[(moment.weekday(), moment.hour)] += n
        self.messages_by_client[client_label(client)] += n
        if follow_up:
            self.follow_ups[follow_up] += n

    def add_conversation(self, bucket: int, client: Optional[str], followed_up: str, length: int, n: int) -> None:
        moment = self.local(bucket)
        self.conversations_by_day[moment.date()] += n
        self.conversations_by_hour_of_week[(moment.weekday(), moment.hour)] += n
        self.conversations_by_client[client_label(client)] += n
        self.conversation_lengths[int(length)] += n
        if str(followed_up) == "1":
            self.conversations_with_follow_up += n

    def add_reply(self, row: Sequence, n: int) -> None:
        topic, escalation, flags, candidates, check_flag, unavailable = row
        self.replies += n
        if check_flag:
            self.checks[str(check_flag)] += n  # the answer that follows names the topic
        elif topic == "red_flag":
            found = _json_list(flags)
            if found == [CRISIS_FLAG]:
                self.crisis += n
            else:
                self.tiers[str(escalation)] += n
            for flag in found:
                self.flags[flag] += n
        elif topic == "clarify":
            self.clarify += n
            for offered in _json_list(candidates):
                self.clarify_offered[offered] += n
        elif topic == "out_of_scope":
            self.out_of_scope["other_body_part" if escalation == "routine" else "out_of_scope"] += n
        elif unavailable:
            self.unavailable += n
        elif topic:
            self.topics[str(topic)] += n

    def add_escalating(self, client: Optional[str], kind: str, escalation: Optional[str], flags, no_reply, n) -> None:
        if kind == "user":
            self.escalating_messages += n
            if no_reply:
                self.escalating_no_reply += n
            return
        self.escalating_replies += n
        found = _json_list(flags)
        if found:
            tier = "crisis" if found == [CRISIS_FLAG] else str(escalation)
            self.escalations_by_client[(tier, client_label(client))] += n


def collect(rows: Iterable[Sequence], zone: tzinfo) -> Raw:
    """Fold the statement's rows (section, bucket, client, k1..k5, num, n) into ``Raw``."""
    raw = Raw(zone=zone)
    for section, bucket, client, k1, k2, k3, k4, k5, num, n in rows:
        n = int(n)
        if section == "message":
            raw.add_message(int(bucket), client, k1, n)
        elif section == "conversation":
            raw.add_conversation(int(bucket), client, k1, int(num), n)
        elif section == "reply":
            raw.add_reply((k1, k2, k3, k4, k5, num), n)
        elif section == "escalating":
            raw.add_escalating(client, k1, k2, k3, k4, n)
    return raw


def median_length(lengths: Counter) -> Optional[float]:
    """The median of a histogram {length: conversations}."""
    total = sum(lengths.values())
    if not total:
        return None
    ordered = sorted(lengths.items())
    targets = ((total - 1) // 2, total // 2)
    values: List[int] = []
    seen = 0
    for length, n in ordered:
        for target in targets:
            if seen <= target < seen + n:
                values.append(length)
        seen += n
    return sum(values) / len(values)


def days_between(start: datetime, end: datetime) -> Tuple[date, ...]:
    """Every local date the period touches (end exclusive)."""
    first, last = start.date(), (end - _EPSILON).date()
    return tuple(date.fromordinal(d) for d in range(first.toordinal(), last.toordinal() + 1))


def by_hour(counter: Dict[Tuple[int, int], int]) -> Tuple[Dict[int, int], Dict[int, int]]:
    """Hour-of-week counts folded into hours of the day and days of the week."""
    hours: Counter = Counter()
    weekdays: Counter = Counter()
    for (weekday, hour), n in counter.items():
        hours[hour] += n
        weekdays[weekday] += n
    return dict(hours), dict(weekdays)

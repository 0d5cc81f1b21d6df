"""Tracker-store rows shaped like the ones Rasa 3.6 writes for this assistant, for the
insights tests (known events, exact counts) and the insights benchmark (100,000
generated conversations).

Every event is a row of Rasa's ``SQLTrackerStore`` table ``events``: ``(sender_id,
type_name, timestamp, intent_name, action_name, data)``, where ``data`` is the event's
JSON as Rasa dumps it (``json.dumps(event.as_dict())``) and ``intent_name`` /
``action_name`` are filled as ``SQLTrackerStore.save`` fills them (a slot event's
``action_name`` is the slot's name). The event mix of one turn is what the store holds
after a real turn through the channels (compare ``build/browser-run/tracker.db``):
``user``, ``user_featurization``, the action, its ``bot`` messages (the reply contract's
``custom`` payload in ``data.custom``, plain text messages without), its ``slot`` events,
``action_listen``; a conversation starts with the four session-start events.

Nothing here imports Rasa: rows are built directly, so 100,000 conversations take seconds.
"""

from __future__ import annotations

import io
import json
import random
import sqlite3
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, List, Optional, Sequence, Tuple

Row = Tuple[str, str, float, Optional[str], Optional[str], str]
MODEL_META = {"model_id": "431fa5f0c21d4018a6ae4a0af89483e0", "assistant_id": "gluteus-medius-patient-assistant"}
CONTENT_VERSION = "2026.12.1"
SOURCE = {
    "title": "Gluteus medius pain: injuries, causes, symptoms and treatment",
    "publisher": "Alleviate Pain Clinic",
}
SEE_CLINICIAN = "If the pain lasts more than a couple of weeks, book with a GP or physiotherapist."
WATCH_FOR = {
    "saddle_numbness": "numbness or pins and needles between your legs",
    "bladder_bowel": "new trouble peeing or controlling your bowels",
    "fever_hot_joint": "a fever with a hot, swollen joint",
    "leg_weakness": "new weakness in the leg",
    "night_pain_weight_loss": "pain at night with weight loss",
    "crisis": "",
}
TIERS = {
    "saddle_numbness": "emergency",
    "bladder_bowel": "emergency",
    "fever_hot_joint": "urgent",
    "leg_weakness": "urgent",
    "night_pain_weight_loss": "urgent",
    "crisis": "emergency",
}
CREATE_SQLITE = (
    "CREATE TABLE IF NOT EXISTS events (id INTEGER NOT NULL, sender_id VARCHAR(255) NOT NULL, "
    "type_name VARCHAR(255) NOT NULL, timestamp FLOAT, intent_name VARCHAR(255), action_name VARCHAR(255), "
    "data TEXT, PRIMARY KEY (id))",
    "CREATE INDEX IF NOT EXISTS ix_events_sender_id ON events (sender_id)",
)
CREATE_POSTGRES = (
    "CREATE TABLE IF NOT EXISTS events (id SERIAL NOT NULL, sender_id VARCHAR(255) NOT NULL, "
    "type_name VARCHAR(255) NOT NULL, timestamp FLOAT, intent_name VARCHAR(255), action_name VARCHAR(255), "
    "data TEXT, PRIMARY KEY (id))",
    "CREATE INDEX IF NOT EXISTS ix_events_sender_id ON events (sender_id)",
)
COLUMNS = "sender_id, type_name, timestamp, intent_name, action_name, data"


def _dump(event: dict) -> str:
    return json.dumps(event)


@dataclass
class Conversation:
    """One conversation's events, built turn by turn as Rasa would store them.

    ``client``: the front end's ``metadata.client`` ("widget", "kiosk", or None for a
    client that sends none); ``text`` is the patient's words (tests put marker words in
    it and check that they never come out of the insights).
    """

    sender_id: str
    start: float
    client: Optional[str] = "widget"
    input_channel: str = "rest"
    rows: List[Row] = field(default_factory=list)
    clock: float = 0.0

    def __post_init__(self) -> None:
        self.clock = self.start
        self._session_start()

    def _add(self, type_name: str, event: dict, intent: Optional[str] = None, action: Optional[str] = None) -> None:
        event["timestamp"] = self.clock
        self.rows.append((self.sender_id, type_name, self.clock, intent, action, _dump(event)))
        self.clock += 0.004

    def _action(self, name: str, policy: Optional[str] = "RulePolicy", confidence: Optional[float] = 1.0) -> None:
        event = {"event": "action", "timestamp": 0, "metadata": dict(MODEL_META), "name": name}
        event.update({"policy": policy, "confidence": confidence, "action_text": None, "hide_rule_turn": False})
        self._add("action", event, action=name)

    def _slot(self, name: str, value: object) -> None:
        self._add(
            "slot",
            {"event": "slot", "timestamp": 0, "metadata": dict(MODEL_META), "name": name, "value": value},
            action=name,
        )

    def _session_start(self) -> None:
        self._slot("session_started_metadata", {"client": self.client} if self.client else None)
        self._action("action_session_start", policy=None)
        self._add("session_started", {"event": "session_started", "timestamp": 0, "metadata": dict(MODEL_META)})
        self._action("action_listen", policy=None, confidence=None)

    def user(self, text: str, intent: str, confidence: float = 0.97, red_flags: Sequence[dict] = ()) -> None:
        """The patient's message: ``user`` then ``user_featurization``."""
        message_id = uuid.uuid4().hex
        client_meta = {"client": self.client} if self.client else {}
        ranking = [{"name": intent, "confidence": confidence}] + [
            {"name": other, "confidence": round((1 - confidence) / 9, 6)}
            for other in ("sciatica", "out_of_scope", "causes", "symptoms", "treatment", "sitting", "thanks", "greet")
            if other != intent
        ][:9]
        tokens, position = [], 0
        for word in text.split():
            tokens.append([position, position + len(word)])
            position += len(word) + 1
        parse = {
            "intent": {"name": intent, "confidence": confidence},
            "entities": [],
            "text": text,
            "message_id": message_id,
            "metadata": dict(client_meta),
            "text_tokens": tokens,
            "intent_ranking": ranking,
            "red_flags": [dict(f) for f in red_flags],
        }
        event = {
            "event": "user",
            "timestamp": 0,
            "metadata": {**client_meta, **MODEL_META},
            "text": text,
            "parse_data": parse,
            "input_channel": self.input_channel,
            "message_id": message_id,
        }
        self._add("user", event, intent=intent)
        self._add(
            "user_featurization",
            {
                "event": "user_featurization",
                "timestamp": 0,
                "metadata": dict(MODEL_META),
                "use_text_for_featurization": False,
            },
        )

    def bot(self, text: str, custom: Optional[dict] = None, buttons: Optional[List[dict]] = None) -> None:
        data = {
            "elements": None,
            "quick_replies": None,
            "buttons": buttons,
            "attachment": None,
            "image": None,
            "custom": {**custom, "content_version": CONTENT_VERSION} if custom else None,
        }
        self._add("bot", {"event": "bot", "timestamp": 0, "metadata": dict(MODEL_META), "text": text, "data": data})

    def turn(
        self,
        text: str,
        intent: str,
        action: str,
        replies: Sequence[Tuple[str, Optional[dict]]],
        slots: Sequence[Tuple[str, object]] = (),
        red_flags: Sequence[dict] = (),
        think: float = 12.0,
    ) -> None:
        """One whole turn; ``replies`` are (bot text, custom payload or None)."""
        self.user(text, intent, red_flags=red_flags)
        self._action(action)
        for reply_text, payload in replies:
            self.bot(reply_text, payload)
        for name, value in slots:
            self._slot(name, value)
        if replies or action != "action_listen":
            self._action("action_listen")
        self.clock += think

    # --- the turns of this assistant, as actions/actions.py replies -------------------

    def ask_topic(self, text: str, topic: str, first: bool = False) -> None:
        payload = {"topic": topic, "escalation": "routine", "sources": [SOURCE], "depth": "answer"}
        payload.update({"title": topic.replace("_", " ").capitalize(), "more_available": True, "follow_ups": []})
        replies: List[Tuple[str, Optional[dict]]] = [
            ("The answer from the article. " * 8, payload),
            (SEE_CLINICIAN, None),
        ]
        slots: List[Tuple[str, object]] = [("last_topic", topic), ("offered", [])]
        if first:
            replies.append(("This assistant gives general information, not a diagnosis.", None))
            slots.append(("disclaimer_shown", True))
        self.turn(text, topic, "action_answer_topic", replies, slots)

    def follow_up(self, text: str, intent: str, topic: str) -> None:
        """tell_me_more / choose_option / affirm answered with a topic."""
        action = {"tell_me_more": "action_tell_me_more", "choose_option": "action_choose_option"}.get(
            intent, "action_affirm"
        )
        depth = "more" if intent != "choose_option" else "answer"
        payload = {"topic": topic, "escalation": "routine", "sources": [SOURCE], "depth": depth}
        self.turn(text, intent, action, [("More from the article. " * 8, payload), (SEE_CLINICIAN, None)])

    def simple(self, text: str, intent: str, topic: str, escalation: str = "none") -> None:
        action = f"action_{intent}" if intent != "deny" else "action_anything_else"
        self.turn(text, intent, action, [("Small talk reply.", {"topic": topic, "escalation": escalation})])

    def clarify(self, text: str, candidates: Sequence[str]) -> None:
        payload = {"topic": "clarify", "escalation": "none", "candidates": list(candidates)}
        self.turn(text, "nlu_fallback", "action_clarify", [("Did you mean one of these?", payload)])

    def out_of_scope(self, text: str, body_part: bool = False) -> None:
        if body_part:
            payload = {"topic": "out_of_scope", "escalation": "routine", "see_clinician": SEE_CLINICIAN}
            replies = [("I can only help with hip and buttock pain.", payload), (SEE_CLINICIAN, None)]
            self.turn(text, "other_body_part", "action_out_of_scope", replies)
        else:
            payload = {"topic": "out_of_scope", "escalation": "none"}
            self.turn(text, "out_of_scope", "action_out_of_scope", [("I can't help with that.", payload)])

    def red_flag(self, text: str, flags: Sequence[str], co_topic: Optional[str] = None) -> None:
        """action_red_flag: the crisis reply first (if any), then the tier reply, then the question."""
        findings = [{"flag": f, "tier": TIERS[f], "watch_for": WATCH_FOR[f]} for f in flags]
        replies: List[Tuple[str, Optional[dict]]] = []
        if "crisis" in flags:
            replies.append(
                (
                    "I'm sorry you're going through this.",
                    {"topic": "red_flag", "escalation": "emergency", "flags": ["crisis"]},
                )
            )
        others = [f for f in flags if f != "crisis"]
        if others or "crisis" not in flags:
            tier = "emergency" if any(TIERS[f] == "emergency" for f in others) else "urgent"
            replies.append(("Please get help now.", {"topic": "red_flag", "escalation": tier, "flags": list(others)}))
        slots: List[Tuple[str, object]] = [("last_red_flag", "emergency")]
        if co_topic:
            payload = {"topic": co_topic, "escalation": "routine", "sources": [SOURCE], "depth": "answer"}
            replies += [("The answer from the article.", payload), (SEE_CLINICIAN, None)]
            slots += [("last_topic", co_topic), ("offered", [])]
        self.turn(text, "red_flag", "action_red_flag", replies, slots, red_flags=findings)

    def check(self, text: str, flag: str, topic: str = "when_to_see_clinician", with_answer: bool = True) -> None:
        """A check question (the learned head suspects ``flag``), then the answer."""
        payload = {"topic": topic, "escalation": "routine", "check": {"flag": flag}, "sources": [SOURCE]}
        replies: List[Tuple[str, Optional[dict]]] = [("Just to check: do you have this?", payload)]
        if with_answer:
            answer = {"topic": topic, "escalation": "routine", "sources": [SOURCE], "depth": "answer"}
            replies += [("The answer from the article.", answer), (SEE_CLINICIAN, None)]
        self.turn(text, topic, "action_answer_topic", replies, [("pending_check", {"flag": flag})])

    def unavailable(self, text: str, intent: str = "symptoms") -> None:
        """The action failed while building its reply: its own safe reply (stored)."""
        payload = {"topic": "handoff", "escalation": "none", "unavailable": True}
        self.turn(text, intent, "action_answer_topic", [("Sorry, I can't answer right now.", payload)])

    def no_reply(self, text: str, intent: str = "symptoms") -> None:
        """The action server was down: Rasa stores the user message and the action, no
        bot event; the channel's safety net answered the patient outside the store."""
        self.turn(text, intent, "action_answer_topic", [])


# --- random conversations for the benchmark -------------------------------------------

CONTENT = (
    "symptoms causes exercises treatment gluteus_medius sitting diagnosis self_care physiotherapy "
    "exercise_hip_drop exercise_crab_steps injections medication prevention consequences sciatica "
    "trendelenburg weakness function injury_types other_causes surgery regenerative when_to_see_clinician "
    "exercise_trx_lunge exercise_bulgarian_lunge"
).split()
WORDS = "my hip hurts when I sit what can help the outside buttock pain at night is it normal how long".split()
# Relative weights of the hours of a day (local time), web and kiosk.
WEB_HOURS = [1, 1, 1, 1, 1, 2, 4, 6, 8, 9, 9, 9, 8, 8, 8, 8, 9, 10, 11, 12, 11, 9, 6, 3]
KIOSK_HOURS = [0, 0, 0, 0, 0, 0, 0, 1, 8, 10, 10, 9, 6, 8, 10, 10, 9, 6, 1, 0, 0, 0, 0, 0]


def _words(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 14)))


def _red_flag(conv: Conversation, rng: random.Random, text: str) -> None:
    flags = rng.sample(["saddle_numbness", "bladder_bowel", "fever_hot_joint", "leg_weakness"], rng.randint(1, 2))
    conv.red_flag(text, flags, co_topic=rng.choice([None, None, "symptoms"]))


# (cumulative probability, what the turn is): the mix of a plausible clinic month.
TURN_MIX = (
    (0.50, lambda c, r, t, first: c.ask_topic(t, CONTENT[min(int(r.expovariate(0.18)), len(CONTENT) - 1)], first)),
    (0.58, lambda c, r, t, first: c.follow_up(t, "tell_me_more", r.choice(CONTENT))),
    (0.64, lambda c, r, t, first: c.follow_up(t, "choose_option", r.choice(CONTENT))),
    (0.67, lambda c, r, t, first: c.follow_up(t, "affirm", r.choice(CONTENT))),
    (0.73, lambda c, r, t, first: c.clarify(t, r.sample(CONTENT[:10], r.randint(0, 3)))),
    (0.77, lambda c, r, t, first: c.out_of_scope(t)),
    (0.79, lambda c, r, t, first: c.out_of_scope(t, body_part=True)),
    (0.83, lambda c, r, t, first: c.simple(t, "appointment", "appointment")),
    (0.85, lambda c, r, t, first: c.simple(t, "handoff", "handoff")),
    (0.92, lambda c, r, t, first: c.simple(t, r.choice(["thanks", "goodbye"]), "thanks")),
    (0.945, lambda c, r, t, first: _red_flag(c, r, t)),
    (0.947, lambda c, r, t, first: c.red_flag(t, ["crisis"])),
    (0.957, lambda c, r, t, first: c.check(t, r.choice(["saddle_numbness", "leg_weakness", "fever_hot_joint"]))),
    (0.960, lambda c, r, t, first: c.no_reply(t)),
    (0.961, lambda c, r, t, first: c.unavailable(t)),
    (1.0, lambda c, r, t, first: c.simple(t, "capabilities", "capabilities")),
)


def _random_turn(conv: Conversation, rng: random.Random, first: bool) -> None:
    roll, text = rng.random(), _words(rng)
    for threshold, make in TURN_MIX:
        if roll < threshold:
            make(conv, rng, text, first)
            return
    TURN_MIX[-1][1](conv, rng, text, first)


def random_conversation(rng: random.Random, start_day: float, days: int) -> Conversation:
    """A conversation at a plausible hour: web (70 %), kiosk (25 %) or another client."""
    roll = rng.random()
    client = "widget" if roll < 0.70 else "kiosk" if roll < 0.95 else None
    hours = KIOSK_HOURS if client == "kiosk" else WEB_HOURS
    day = rng.randrange(days)
    hour = rng.choices(range(24), weights=hours)[0]
    start = start_day + day * 86400 + hour * 3600 + rng.random() * 3600
    channel = "socketio" if client == "widget" and rng.random() < 0.4 else "rest"
    conv = Conversation(f"{uuid.uuid4()}", start, client=client, input_channel=channel)
    if rng.random() < 0.4:
        conv.simple("hello", "greet", "greet")
    for i in range(max(1, min(int(rng.expovariate(1 / 3.0)) + 1, 15))):
        _random_turn(conv, rng, first=i == 0)
    return conv


def random_rows(n: int, start_day: float, days: int, seed: int = 12) -> Iterator[Row]:
    rng = random.Random(seed)
    for _ in range(n):
        yield from random_conversation(rng, start_day, days).rows


# --- writing a store -------------------------------------------------------------------


def write_sqlite(path: Path, rows: Iterable[Row]) -> int:
    """Bulk insert into an SQLite store (created with Rasa's schema if missing)."""
    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=OFF")
        for statement in CREATE_SQLITE:
            con.execute(statement)
        cur = con.executemany(f"INSERT INTO events ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)", rows)
        count = cur.rowcount
        con.commit()
        return count
    finally:
        con.close()


def _pg_text(value: object) -> str:
    if value is None:
        return r"\N"
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def write_postgres(connection, rows: Iterable[Row], batch: int = 200_000) -> int:
    """Bulk COPY into a PostgreSQL store (psycopg2 connection; table created if missing)."""
    count = 0
    with connection.cursor() as cur:
        for statement in CREATE_POSTGRES:
            cur.execute(statement)
        buffer, pending = io.StringIO(), 0
        for row in rows:
            buffer.write("\t".join(_pg_text(v) for v in row) + "\n")
            pending += 1
            if pending >= batch:
                buffer.seek(0)
                cur.copy_expert(f"COPY events ({COLUMNS}) FROM STDIN", buffer)
                count, buffer, pending = count + pending, io.StringIO(), 0
        if pending:
            buffer.seek(0)
            cur.copy_expert(f"COPY events ({COLUMNS}) FROM STDIN", buffer)
            count += pending
    connection.commit()
    return count

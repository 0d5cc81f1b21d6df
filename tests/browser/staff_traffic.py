"""The staff insights tests' own stack and the conversations they send through it.

StaffStack starts `scripts/run.sh --background` (action server, Rasa, web server) on ports
of its own (RASA 5305, actions 5355, web 8380; RUN_DIR=build/staff-run, emptied first so
the tracker store holds exactly what `send_traffic` sends) with a fresh STAFF_TOKEN, as
`make run` would run for a clinic that turned the staff page on.

`send_traffic` plays PLAN through the real channels: REST and socket.io, each with the
widget's and the kiosk's metadata (`{"client": "widget" | "kiosk"}`, what
web/static/assistant-core.js sends). Every turn's reply is checked against the plan (topic,
escalation, flags), so the counts the tests expect are what the assistant really did.
Every message text holds a marker word, and the sender ids are collected: the tests look
for both in the page, the CSV and every log file.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from conftest import PROFILE, ROOT, http_ok, wait_until

RASA_PORT = int(os.environ.get("STAFF_RASA_PORT", "5305"))
ACTIONS_PORT = int(os.environ.get("STAFF_ACTIONS_PORT", "5355"))
WEB_PORT = int(os.environ.get("STAFF_WEB_PORT", "8380"))
RUN_DIR = ROOT / "build" / "staff-run"
HOST = "127.0.0.1"


class StaffStack:
    """The embedded profile with the staff page on, in its own RUN_DIR and ports."""

    def __init__(self) -> None:
        self.web_url = f"http://{HOST}:{WEB_PORT}"
        self.rasa_url = f"http://{HOST}:{RASA_PORT}"
        self.token = secrets.token_urlsafe(24)
        self.env = dict(
            os.environ,
            RASA_PORT=str(RASA_PORT),
            ACTIONS_PORT=str(ACTIONS_PORT),
            WEB_PORT=str(WEB_PORT),
            RUN_DIR=str(RUN_DIR),
            CLINIC_PROFILE=str(PROFILE),
            BIND=HOST,
            PUBLIC_HOST=HOST,
            LOG_LEVEL="INFO",
            STAFF_TOKEN=self.token,
        )
        for name in ("TRACKER_DB", "TRACKER_DB_URL", "LOG_DIR", "WEBSITE_ORIGINS", "CORS_ORIGINS"):
            self.env.pop(name, None)
        self.ready_message = ""

    def start(self) -> None:
        self.stop()  # leftovers of an interrupted run
        shutil.rmtree(RUN_DIR, ignore_errors=True)  # a fresh tracker store and fresh logs
        RUN_DIR.mkdir(parents=True)
        log = RUN_DIR / "run.sh.log"
        with open(log, "w") as out:
            proc = subprocess.run(
                ["bash", str(ROOT / "scripts" / "run.sh"), "--background"],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=600,
            )
        self.ready_message = log.read_text(errors="replace")
        if proc.returncode != 0:
            raise RuntimeError("scripts/run.sh failed:\n" + self.ready_message[-4000:])
        wait_until(lambda: http_ok(self.web_url + "/healthz"), 30, "web server", RUN_DIR / "web.log")

    def stop(self) -> None:
        if not (RUN_DIR / "supervisord.conf").exists():
            return
        subprocess.run(
            ["bash", str(ROOT / "scripts" / "stop.sh")],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=120,
        )

    def log_text(self) -> Dict[str, str]:
        """Every log file the stack wrote (Rasa, actions, web, supervisord, run.sh)."""
        return {p.name: p.read_text(errors="replace") for p in sorted(RUN_DIR.glob("*.log*")) if p.is_file()}


# ----------------------------------------------------------------------------- the plan
@dataclass(frozen=True)
class Step:
    text: str  # what the patient types ({m}: the run's marker word)
    topic: str  # the contract topic the turn must answer with
    escalation: str = ""  # the turn's highest escalation, when it matters
    flags: Tuple[str, ...] = ()


@dataclass(frozen=True)
class Conversation:
    client: str  # widget | kiosk
    transport: str  # rest | socketio
    steps: Tuple[Step, ...]


EXERCISES = Step("What exercises can I do to strengthen my gluteus medius? {m}", "exercises", "routine")
MORE = Step("tell me more {m}", "exercises", "routine")
SECOND = Step("the second one {m}", "exercise_crab_steps", "routine")
EMERGENCY = Step(
    "I suddenly have numbness between my legs and I can't control my bladder {m}",
    "red_flag",
    "emergency",
    ("bladder_bowel", "saddle_numbness"),
)
FRACTURE = Step(
    "my hip is so painful I can't put any weight on it after a fall {m}", "red_flag", "emergency", ("fracture",)
)
URGENT = Step("I have a high fever and my hip is hot and red {m}", "red_flag", "urgent", ("infection",))
# The one message without the marker: an unknown word tips this vague one into a topic.
# It is the conversation tests' own "did you mean" example (tests/test_stories.yml).
UNSURE = Step("what about it", "clarify", "none")
WEATHER = Step("what's the weather like tomorrow {m}", "out_of_scope", "none")
HELLO = Step("hello {m}", "greet", "none")

# Sizes chosen so that some cells reach 5 (shown exactly) and others stay under 5
# ("fewer than 5"): test_staff_page.EXPECTED lists what each one must show.
PLAN: Tuple[Conversation, ...] = (
    Conversation("widget", "rest", (HELLO, EXERCISES, MORE, SECOND)),
    Conversation("widget", "rest", (EXERCISES, MORE, SECOND)),
    Conversation("widget", "rest", (EMERGENCY,)),
    Conversation("widget", "rest", (UNSURE, WEATHER)),
    Conversation("widget", "rest", (URGENT, WEATHER)),
    Conversation("widget", "socketio", (EXERCISES, MORE)),
    Conversation("widget", "socketio", (EMERGENCY, WEATHER)),
    Conversation("kiosk", "rest", (EXERCISES, MORE)),
    Conversation("kiosk", "socketio", (EMERGENCY,)),
    Conversation("kiosk", "rest", (WEATHER, UNSURE)),
    Conversation("widget", "rest", (EMERGENCY, WEATHER)),
    Conversation("widget", "socketio", (EMERGENCY, URGENT)),
    Conversation("widget", "rest", (FRACTURE, URGENT)),
    Conversation("widget", "socketio", (URGENT, FRACTURE)),
    Conversation("widget", "rest", (URGENT, EXERCISES, MORE)),
)


@dataclass
class Traffic:
    """What was sent: the marker word, the sender ids and each turn's reply payloads."""

    marker: str
    senders: List[str] = field(default_factory=list)
    turns: List[Tuple[Conversation, Step, List[dict]]] = field(default_factory=list)
    started: float = 0.0
    finished: float = 0.0


def customs(messages: List[dict]) -> List[dict]:
    """The contract payloads of one turn, from REST ({"custom": …}) or socket.io messages."""
    out = []
    for m in messages:
        c = m.get("custom") if isinstance(m, dict) else None
        if isinstance(c, dict):
            out.append(c)
    return out


RANK = {"none": 0, "routine": 1, "urgent": 2, "emergency": 3}


def check_turn(conv: Conversation, step: Step, messages: List[dict]) -> None:
    got = customs(messages)
    assert got, f"no contract payload for {step.text!r} ({conv.transport}, {conv.client}): {messages}"
    assert not any("check" in c for c in got), f"{step.text!r} drew a check question: {got}"
    topics = [c.get("topic") for c in got]
    assert step.topic in topics, f"{step.text!r} ({conv.transport}) answered {topics}, the plan says {step.topic}"
    if step.escalation:
        top = max((c.get("escalation", "none") for c in got), key=lambda e: RANK.get(e, 0))
        assert top == step.escalation, f"{step.text!r}: escalation {top}, the plan says {step.escalation}"
    if step.flags:
        flags = sorted({f for c in got for f in c.get("flags") or []})
        assert flags == sorted(step.flags), f"{step.text!r}: flags {flags}, the plan says {step.flags}"


def rest_send(rasa_url: str, sender: str, text: str, client: str) -> List[dict]:
    body = {"sender": sender, "message": text, "metadata": {"client": client}}
    req = urllib.request.Request(
        f"{rasa_url}/webhooks/rest/webhook",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=90) as r:
        return json.loads(r.read() or b"[]")


class SocketConversation:
    """One socket.io conversation as the widget has it: the server issues the session id
    (session_request -> session_confirm), each message carries the client metadata, and a
    turn ends when its contract payload has come and the socket has been quiet a moment."""

    def __init__(self, rasa_url: str) -> None:
        import socketio

        self.client = socketio.Client(reconnection=False, websocket_extra_options={"suppress_origin": True})
        self.session: Optional[str] = None
        self.received: List[dict] = []
        self.client.on("session_confirm", self._confirmed)
        self.client.on("bot_uttered", lambda data: self.received.append(data))
        self.client.connect(rasa_url, transports=["websocket"], socketio_path="/socket.io", wait_timeout=15)
        self.client.emit("session_request", {"session_id": None})
        self._wait(lambda: self.session is not None, 15, "session_confirm")

    def _confirmed(self, data) -> None:
        self.session = data if isinstance(data, str) else (data or {}).get("session_id")

    @staticmethod
    def _wait(check, seconds: float, what: str) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(0.05)
        raise AssertionError(f"socket.io: no {what} within {seconds:.0f}s")

    def send(self, text: str, client: str) -> List[dict]:
        self.received = []
        self.client.emit("user_uttered", {"message": text, "session_id": self.session, "metadata": {"client": client}})
        self._wait(lambda: customs(self.received), 90, "reply with a contract payload")
        quiet = len(self.received)
        while True:  # the rest of the turn (text after the payload, the disclaimer)
            time.sleep(0.6)
            if len(self.received) == quiet:
                return list(self.received)
            quiet = len(self.received)

    def close(self) -> None:
        self.client.disconnect()


def send_traffic(stack: StaffStack, plan: Tuple[Conversation, ...] = PLAN) -> Traffic:
    """Play the plan through the real channels; every reply is checked against it."""
    traffic = Traffic(marker="zq" + uuid.uuid4().hex[:10], started=time.time())
    for conv in plan:
        sock = SocketConversation(stack.rasa_url) if conv.transport == "socketio" else None
        sender = sock.session if sock else str(uuid.uuid4())
        assert sender
        traffic.senders.append(sender)
        try:
            for step in conv.steps:
                text = step.text.format(m=traffic.marker)
                if sock:
                    messages = sock.send(text, conv.client)
                else:
                    messages = rest_send(stack.rasa_url, sender, text, conv.client)
                check_turn(conv, step, messages)
                traffic.turns.append((conv, step, messages))
        finally:
            if sock:
                sock.close()
    traffic.finished = time.time()
    return traffic


def fetch(url: str, token: Optional[str] = None, cookie: Optional[str] = None, method: str = "GET"):
    """(status, headers, body text) of a request to the web server; errors are answers too."""
    headers = {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if cookie is not None:
        headers["Cookie"] = cookie
    req = urllib.request.Request(url, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, dict(r.headers), r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode("utf-8", "replace")

"""Helpers for the production-profile tests: the cluster handle, chat clients, database counts.

Everything talks to loopback only (127.0.0.0/8); every loop here is bounded in count and time.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

import psycopg2
import requests
from requests.adapters import HTTPAdapter

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from deploy.cluster import Cluster, Settings  # noqa: E402,F401  (Settings: for conftest)

WEBHOOK = "/webhooks/rest/webhook"


def log_files(cluster: Cluster) -> List[Path]:
    """Every log file of the cluster: supervisord writes each program's output (PostgreSQL's
    too) into the log directory, nginx its access and error logs, and rotated days stay there."""
    return [p for p in cluster.s.log_dir.glob("*") if p.is_file() and not p.is_symlink()]


def log_sizes(cluster: Cluster) -> Dict[Path, int]:
    return {path: path.stat().st_size for path in log_files(cluster)}


def new_sender() -> str:
    return str(uuid.uuid4())


class SourceAddressAdapter(HTTPAdapter):
    """Send from a chosen loopback address, so that each simulated patient is its own
    client for nginx's per-client rate limit (127.0.0.0/8 is all local on Linux)."""

    def __init__(self, source_ip: str, **kwargs) -> None:
        self.source_ip = source_ip
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.source_ip, 0)
        return super().init_poolmanager(*args, **kwargs)


def session_from(source_ip: Optional[str] = None) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # never a proxy: loopback only
    session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or True  # the cluster's own TLS certificate
    if source_ip:
        adapter = SourceAddressAdapter(source_ip)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
    return session


def patient_ip(n: int) -> str:
    """A distinct loopback address per simulated patient: 127.0.<1+n//250>.<1+n%250>."""
    return f"127.0.{1 + n // 250}.{1 + n % 250}"


@dataclass
class Reply:
    status: int
    messages: List[dict]
    elapsed: float

    @property
    def customs(self) -> List[dict]:
        return [m["custom"] for m in self.messages if isinstance(m, dict) and isinstance(m.get("custom"), dict)]

    @property
    def topics(self) -> List[str]:
        return [c.get("topic") for c in self.customs]

    @property
    def escalations(self) -> List[str]:
        return [c.get("escalation") for c in self.customs]

    @property
    def safe_net(self) -> bool:
        """The channel's own "can't answer right now" reply (action server down, turn failed)."""
        return any(c.get("unavailable") for c in self.customs)

    @property
    def text(self) -> str:
        return " ".join(str(m.get("text", "")) for m in self.messages if isinstance(m, dict))


def chat(
    base_url: str, sender: str, text: str, session: Optional[requests.Session] = None, timeout: float = 60, **kwargs
) -> Reply:
    http = session or session_from()
    t0 = time.perf_counter()
    resp = http.post(base_url + WEBHOOK, json={"sender": sender, "message": text}, timeout=timeout, **kwargs)
    elapsed = time.perf_counter() - t0
    try:
        body = resp.json()
    except ValueError:
        body = None
    return Reply(resp.status_code, body if isinstance(body, list) else [], elapsed)


PATIENT_SCRIPT = [
    "hello",
    "what is the gluteus medius",
    "what causes pain in the side of my hip",
    "which exercises strengthen the gluteus medius",
    "how do I do crab steps",
    "what can I do at home for the pain",
    "should I see a physio",
    "when should I see a doctor",
    "how do I book an appointment",
    "thanks",
]


class Patients:
    """Simulated patients in threads, each one conversation with its own loopback address,
    sending the next message after each reply (plus `think` seconds). Bounded: at most
    `max_messages` each and `max_seconds` in all, whatever the test does."""

    def __init__(
        self,
        base_url: str,
        count: int,
        think: float = 0.3,
        first_ip: int = 100,
        max_messages: int = 400,
        max_seconds: float = 300,
    ) -> None:
        import threading

        self.base_url, self.think = base_url, think
        self.max_messages, self.deadline = max_messages, time.monotonic() + max_seconds
        self.ledger = Ledger()
        self.events: Dict[str, List[Tuple[float, str]]] = {}  # sender -> [(time, kind)]
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.threads = [
            threading.Thread(target=self._run, args=(new_sender(), patient_ip(first_ip + i)), daemon=True)
            for i in range(count)
        ]

    def start(self) -> "Patients":
        for thread in self.threads:
            thread.start()
        return self

    def stop(self, timeout: float = 90) -> "Patients":
        self.stop_event.set()
        for thread in self.threads:
            thread.join(timeout)
        return self

    def _run(self, sender: str, source_ip: str) -> None:
        http = session_from(source_ip)
        for i in range(self.max_messages):
            if self.stop_event.is_set() or time.monotonic() > self.deadline:
                return
            text = PATIENT_SCRIPT[i % len(PATIENT_SCRIPT)]
            try:
                reply, error = chat(self.base_url, sender, text, session=http, timeout=60), ""
            except requests.RequestException as exc:
                reply, error = None, type(exc).__name__
            with self.lock:
                self.ledger.record(sender, text, reply, error)
                kind = self.ledger.entries[sender][-1][2]
                self.events.setdefault(sender, []).append((time.monotonic(), kind))
            self.stop_event.wait(self.think)

    def kinds_after(self, moment: float) -> Dict[str, List[str]]:
        return {s: [k for t, k in rows if t > moment] for s, rows in self.events.items()}


def sio_client(origin: Optional[str] = None, **kwargs):
    """A socket.io client (websocket transport). websocket-client sends an Origin made from
    the URL unless told otherwise: here either the given origin or none at all (as a
    kiosk app or another non-browser client)."""
    import socketio

    ws_options = {"origin": origin} if origin else {"suppress_origin": True}
    kwargs.setdefault("http_session", session_from())  # verifies the cluster's TLS certificate
    return socketio.Client(reconnection=False, websocket_extra_options=ws_options, **kwargs)


def sio_connected(url: str, origin: Optional[str] = None, on: Optional[dict] = None, attempts: int = 3):
    """A connected socket.io client with the handlers ``on`` (event -> callable). A loaded
    CI machine once refused one websocket handshake ("Unexpected connection error") right
    after a run of refused-origin handshakes; the tests that use this check what the server
    answers, not that every first handshake succeeds, so it tries up to ``attempts`` times,
    2 s apart."""
    for attempt in range(attempts):
        client = sio_client(origin=origin)
        for event, handler in (on or {}).items():
            client.on(event, handler)
        try:
            client.connect(url, transports=["websocket"], wait_timeout=10)
            return client
        except Exception:  # socketio.exceptions.ConnectionError
            if attempt == attempts - 1:
                raise
            time.sleep(2)
    raise AssertionError("unreachable")


def wait_until(predicate, timeout: float, interval: float = 0.5, what: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise TimeoutError(f"{what} not reached within {timeout:.0f} s (last: {last!r})")


class TrackerDB:
    """Read-only look at the cluster's `events` table."""

    def __init__(self, cluster: Cluster) -> None:
        self.url = cluster.db_url()

    def _query(self, sql: str, params: Tuple = ()) -> List[tuple]:
        with psycopg2.connect(self.url, connect_timeout=5) as conn, conn.cursor() as cur:
            cur.execute(sql, params)
            rows = cur.fetchall()
        conn.close()
        return rows

    def counts(self, senders: Iterable[str]) -> Dict[str, Counter]:
        """user and bot events per conversation."""
        senders = list(senders)
        result: Dict[str, Counter] = {s: Counter() for s in senders}
        for start in range(0, len(senders), 500):
            chunk = senders[start : start + 500]
            rows = self._query(
                "SELECT sender_id, type_name, count(*) FROM events "
                "WHERE sender_id = ANY(%s) AND type_name IN ('user', 'bot') GROUP BY 1, 2",
                (chunk,),
            )
            for sender, kind, n in rows:
                result[sender][kind] = n
        return result

    def user_texts(self, sender: str) -> List[str]:
        rows = self._query("SELECT data FROM events WHERE sender_id = %s AND type_name = 'user' ORDER BY id", (sender,))
        return [json.loads(data).get("text") for (data,) in rows]

    def turns(self, senders: List[str]) -> Dict[str, List[Tuple[Optional[str], int]]]:
        """Per conversation, in order: (user text, bot events that followed it). Bot events
        before the first user message come as (None, n)."""
        result: Dict[str, List[Tuple[Optional[str], int]]] = {}
        for start in range(0, len(senders), 200):
            rows = self._query(
                "SELECT sender_id, type_name, data FROM events WHERE sender_id = ANY(%s) "
                "AND type_name IN ('user', 'bot') ORDER BY sender_id, id",
                (senders[start : start + 200],),
            )
            for sender, kind, data in rows:
                turns = result.setdefault(sender, [])
                if kind == "user":
                    turns.append((json.loads(data).get("text"), 0))
                else:
                    if not turns:
                        turns.append((None, 0))
                    text, bots = turns[-1]
                    turns[-1] = (text, bots + 1)
        return result

    def total_events(self) -> int:
        return self._query("SELECT count(*) FROM events")[0][0]


class Ledger:
    """What the clients saw, per conversation and in order, to hold against the tracker store.

    Each entry is (text, number of reply messages, kind), kind one of
      "model"  the assistant answered: the turn must be stored exactly once - its user
               event, then 1..n bot events (Rasa's REST output splits one bot event into
               several messages: a paragraph break or a `custom` payload starts a new one);
      "safe"   the channel's safety net answered ("can't answer right now"): the user
               event may be stored (Rasa ran the turn but an action failed), the safety
               net's own messages never are;
      "failed" no reply (an error status): may or may not be stored, never twice.
    """

    def __init__(self) -> None:
        self.entries: Dict[str, List[Tuple[str, int, str]]] = {}
        self.failures: List[Tuple[str, int, str, float]] = []

    def record(self, sender: str, text: str, reply: Optional[Reply], error: str = "") -> None:
        if reply is not None and reply.status == 200 and reply.messages:
            kind = "safe" if reply.safe_net else "model"
            self.entries.setdefault(sender, []).append((text, len(reply.messages), kind))
        else:
            self.entries.setdefault(sender, []).append((text, 0, "failed"))
            self.failures.append((sender, reply.status if reply else 0, error, time.monotonic()))

    def merge(self, entries: Dict[str, List[list]]) -> None:
        for sender, rows in entries.items():
            self.entries.setdefault(sender, []).extend(tuple(row) for row in rows)

    def count(self, kind: str) -> int:
        return sum(1 for rows in self.entries.values() for row in rows if row[2] == kind)

    def problems(self, db: "TrackerDB") -> List[str]:
        """Conversations whose stored turns do not match what the clients saw."""
        found = []
        stored_all = db.turns(list(self.entries))
        for sender, entries in self.entries.items():
            stored = stored_all.get(sender, [])
            lead = stored[0] if stored and stored[0][0] is None else None
            if lead is not None:
                found.append(f"{sender}: {lead[1]} bot event(s) before the first user message")
                stored = stored[1:]
            p = 0
            for text, n_messages, kind in entries:
                here = p < len(stored) and stored[p][0] == text
                if kind == "model":
                    if not here:
                        found.append(f"{sender}: answered message #{p + 1} is not stored where expected")
                        break
                    if not 1 <= stored[p][1] <= n_messages:
                        found.append(
                            f"{sender}: message #{p + 1} has {stored[p][1]} stored bot events for {n_messages} reply messages"
                        )
                    p += 1
                elif here:
                    if kind == "safe" and stored[p][1] > 0:
                        found.append(f"{sender}: safety-net turn #{p + 1} stored {stored[p][1]} bot events")
                    p += 1
            else:
                if p != len(stored):
                    found.append(
                        f"{sender}: {len(stored) - p} stored user message(s) more than the client sent (duplicates?)"
                    )
        return found

"""Simulated patients for Locust (used by tests/production/test_load.py and bench/).

Each simulated patient holds one conversation at a time: a random UUID as conversation
id, its own loopback source address (127.1.x.y, so nginx's per-client rate limit treats
it as one client, as it would a real patient), and messages drawn from what patients ask
about hip and buttock pain, with a think time between them. After about 35 messages the
conversation ends and the next one starts (Rasa rebuilds a conversation from all its
events at every message, so endless conversations would measure something else).

Environment:
  PATIENT_THINK   "min,max" seconds between a reply and the next message (default "1,3";
                  "0,0" for a closed loop that measures capacity)
  LEDGER_PATH     where to write, at the end, what every conversation sent and got back
                  (JSON: {sender: [[text, reply messages, kind], ...]}) for the
                  tracker-store check; kind is "model", "safe" (the channel's safety net
                  answered), "failed" or "interrupted" (the run ended while it was out)
  PATIENT_TIMEOUT seconds a patient waits for a reply (default 60)
  LATENCY_PATH    where to write, at the end, every request's latency in ms (JSON list)
  PATIENT_CONVERSATION_LENGTH  messages per conversation (default: the whole script, ~35)
  PATIENT_ACCEPT_EMPTY "1": an empty reply counts as an answer (the bench's bare bot)

Run it through bench/locust_runner.py (the bench and test_load.py both do).

Only loopback: the host is given on the command line (--host http://127.0.0.1:8300).
"""

import itertools
import json
import os
import random
import sys
import uuid

from locust import HttpUser, between, events, task
from requests.adapters import HTTPAdapter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from patient_messages import OPENERS, QUESTIONS, RED_FLAGS  # noqa: E402  (beside this file)

WEBHOOK = "/webhooks/rest/webhook"
THINK_MIN, THINK_MAX = (float(x) for x in os.environ.get("PATIENT_THINK", "1,3").split(","))
TIMEOUT = float(os.environ.get("PATIENT_TIMEOUT", "60"))
CONVERSATION_LENGTH = int(os.environ.get("PATIENT_CONVERSATION_LENGTH", "0") or 0)
ACCEPT_EMPTY = os.environ.get("PATIENT_ACCEPT_EMPTY") == "1"

_numbers = itertools.count()
LEDGER = {}
LATENCIES = []


@events.request.add_listener
def record_latency(response_time, **_kwargs):
    LATENCIES.append(response_time)


def cluster_certificate():
    """The local cluster's self-signed certificate (nginx serves HTTPS; plain HTTP redirects)."""
    if os.environ.get("REQUESTS_CA_BUNDLE"):
        return os.environ["REQUESTS_CA_BUNDLE"]
    state = os.environ.get("PROD_DIR") or os.path.join(os.path.dirname(__file__), "..", "..", "build", "prod")
    cert = os.path.join(state, "tls", "localhost.crt")
    return cert if os.path.exists(cert) else True


class SourceAddressAdapter(HTTPAdapter):
    def __init__(self, source_ip, **kwargs):
        self.source_ip = source_ip
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.source_ip, 0)
        return super().init_poolmanager(*args, **kwargs)


class Patient(HttpUser):
    wait_time = between(THINK_MIN, THINK_MAX)

    def on_start(self):
        n = next(_numbers)
        adapter = SourceAddressAdapter(f"127.1.{n // 250}.{1 + n % 250}")
        self.client.mount("http://", adapter)
        self.client.mount("https://", adapter)
        self.client.trust_env = False
        self.client.verify = cluster_certificate()
        self.new_conversation()

    def new_conversation(self):
        """A new conversation id and a script: an opener, then the questions in a random
        order (sometimes with a red flag among them), about 35 messages in all."""
        self.sender = str(uuid.uuid4())
        rng = random.Random(self.sender)
        questions = rng.sample(QUESTIONS, len(QUESTIONS))
        if rng.random() < 0.3:
            questions.insert(rng.randrange(len(questions)), rng.choice(RED_FLAGS))
        self.script = ([rng.choice(OPENERS)] + questions)[: CONVERSATION_LENGTH or None]
        self.step = 0

    @task
    def say_something(self):
        if self.step >= len(self.script):
            self.new_conversation()  # the patient has asked everything: next patient
        text = self.script[self.step]
        self.step += 1
        entry = [text, 0, "interrupted"]  # stays so if the run ends while this request is out
        LEDGER.setdefault(self.sender, []).append(entry)
        with self.client.post(
            WEBHOOK, json={"sender": self.sender, "message": text}, name="message", catch_response=True, timeout=TIMEOUT
        ) as resp:
            if resp.status_code != 200:
                entry[2] = "failed"
                resp.failure(f"HTTP {resp.status_code}")
                return
            try:
                messages = resp.json()
            except ValueError:
                entry[2] = "failed"
                resp.failure("reply is not JSON")
                return
            if not isinstance(messages, list) or (not messages and not ACCEPT_EMPTY):
                entry[2] = "failed"
                resp.failure("empty reply")
                return
            safe = any(
                isinstance(m, dict) and isinstance(m.get("custom"), dict) and m["custom"].get("unavailable")
                for m in messages
            )
            entry[1], entry[2] = len(messages), ("safe" if safe else "model")
            if safe:
                resp.failure("safety-net reply (the turn could not run)")
            else:
                resp.success()


@events.quitting.add_listener
def write_ledger(environment, **_kwargs):
    path = os.environ.get("LEDGER_PATH")
    if path:
        with open(path, "w") as out:
            json.dump(LEDGER, out)
    path = os.environ.get("LATENCY_PATH")
    if path:
        with open(path, "w") as out:
            json.dump(LATENCIES, out)

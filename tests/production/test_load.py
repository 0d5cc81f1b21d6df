"""Load: 50 simulated patients for 2 minutes against the two-instance cluster (through
nginx), with Locust. Zero failed requests, and afterwards every answered message is in the
tracker store, per conversation: nothing lost, nothing stored twice. And the tracker cache
(serving/tracker_cache.py) of each Rasa instance never serves a conversation the other
instance moved on or that was deleted underneath it."""

import json
import os
import sys

import psycopg2
from prodlib import REPO, Ledger, chat, new_sender

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
from bench.locust_runner import run_locust  # noqa: E402  (the one runner, shared with `make bench`)

USERS = int(os.environ.get("LOAD_USERS", "50"))
SECONDS = int(os.environ.get("LOAD_SECONDS", "120"))


def test_50_patients_for_2_minutes(cluster, db, tmp_path):
    run = run_locust(cluster.base_url, USERS, SECONDS, tmp_path, think="1,3", spawn_rate=max(1, USERS // 5))
    ledger_rows = run.ledger
    figures = run.summary()
    summary = {
        "users": USERS,
        "seconds": SECONDS,
        "requests": run.requests,
        "failures": run.failures,
        "rps": run.rps,
        "p50_ms": figures["p50"],
        "p95_ms": figures["p95"],
        "p99_ms": figures["p99"],
        "conversations": len(ledger_rows),
    }
    (cluster.s.state_dir / "load-test.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary))
    assert summary["requests"] > USERS * 10, summary
    assert summary["failures"] == 0, (summary, run.failure_kinds, run.stdout[-2000:], run.stderr[-2000:])

    ledger = Ledger()
    ledger.merge(ledger_rows)
    assert len(ledger.entries) >= USERS  # a patient starts a new conversation after ~35 messages
    assert ledger.count("failed") == 0 and ledger.count("safe") == 0
    # A request still out when the run stopped may or may not have been stored; it can
    # only be a conversation's last one.
    for sender, rows in ledger.entries.items():
        assert all(kind != "interrupted" for _, _, kind in rows[:-1]), sender
    assert ledger.count("model") >= summary["requests"]  # Locust may not count one that ended while stopping
    assert ledger.problems(db) == []


def test_tracker_cache_sees_the_other_instance_and_deletes(cluster, db):
    """rasa-1 holds the conversation in memory; rasa-2 adds a turn, then the rows are deleted
    from another connection (as retention does). A stale cache would show in the store:
    rasa-1 would save its old events again, or miss rasa-2's turn."""
    sender = new_sender()
    rasa_1, rasa_2 = (cluster.rasa_url(name) for name in cluster.s.rasa_names()[:2])
    steps = [(rasa_1, "hello"), (rasa_1, "what is sciatica"), (rasa_2, "tell me more"), (rasa_1, "thanks")]
    for url, text in steps:
        reply = chat(url, sender, text)
        assert reply.status == 200 and reply.messages, text
    assert db.user_texts(sender) == [text for _, text in steps]
    assert db.counts([sender])[sender]["user"] == len(steps)  # stored once each, not re-saved
    with psycopg2.connect(db.url, connect_timeout=5) as conn, conn.cursor() as cur:
        cur.execute("DELETE FROM events WHERE sender_id = %s", (sender,))
    conn.close()
    for url in (rasa_1, rasa_2):
        assert chat(url, sender, "hello").status == 200
    assert db.user_texts(sender) == ["hello", "hello"]  # a new conversation, nothing old brought back

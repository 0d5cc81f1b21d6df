"""serving/tracker_cache.py: the cached conversation is exactly what Rasa's own SQL store
reads back, and is never served once the database changed underneath it - a delete from
another connection, retention, "forget", another Rasa process adding a turn, a delete
followed by rows that reuse the same ids. PostgreSQL (the cluster's store) when its
binaries are installed."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered

from serving.sqlite_store import TunedSQLiteTrackerStore
from serving.tracker_cache import TrackerCache

ROOT = Path(__file__).resolve().parents[1]
DOMAIN = Domain.load(str(ROOT / "domain.yml"))


def run(coro):
    return asyncio.run(coro)


def store(db: Path, cls=TunedSQLiteTrackerStore) -> SQLTrackerStore:
    return cls(DOMAIN, dialect="sqlite", db=str(db))


def add_turn(tracker, n: int) -> None:
    tracker.update(UserUttered(f"question {n}", {"name": "symptoms", "confidence": 0.9}))
    tracker.update(ActionExecuted("action_answer_topic"))
    tracker.update(SlotSet("last_topic", f"topic-{n}"))
    tracker.update(BotUttered(f"answer {n}", {"custom": {"topic": f"topic-{n}", "n": n}}))
    tracker.update(ActionExecuted("action_listen"))


def conversation(s: SQLTrackerStore, sender: str, turns: int):
    tracker = run(s.get_or_create_tracker(sender))
    for n in range(turns):
        add_turn(tracker, n)
        run(s.save(tracker))
    return tracker


def as_stock(db: Path, sender: str):
    """What Rasa's own store (no cache) reads back."""
    return run(SQLTrackerStore(DOMAIN, dialect="sqlite", db=str(db)).retrieve(sender))


def same(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return [e.as_dict() for e in a.events] == [e.as_dict() for e in b.events] and a.current_state() == b.current_state()


@pytest.fixture
def db(tmp_path):
    return tmp_path / "tracker.db"


def test_served_from_memory_and_identical_to_rasa(db):
    s = store(db)
    conversation(s, "a", 6)
    hits = s.tracker_cache.hits
    got = run(s.retrieve("a"))
    assert s.tracker_cache.hits == hits + 1
    assert same(got, as_stock(db, "a"))
    assert got.get_slot("last_topic") == "topic-5"
    # The tracker handed out is the caller's own: changing it does not change the cache.
    add_turn(got, 99)
    assert same(run(s.retrieve("a")), as_stock(db, "a"))


def test_delete_from_another_connection_is_never_served(db):
    s = store(db)
    conversation(s, "a", 3)
    assert "a" in s.tracker_cache
    with sqlite3.connect(db) as con:
        con.execute("DELETE FROM events WHERE sender_id = 'a'")
    assert run(s.retrieve("a")) is None
    assert "a" not in s.tracker_cache


def test_retention_deleting_part_of_a_conversation(db):
    s = store(db)
    conversation(s, "a", 4)
    with sqlite3.connect(db) as con:
        con.execute("DELETE FROM events WHERE sender_id = 'a' AND type_name = 'bot'")
    assert same(run(s.retrieve("a")), as_stock(db, "a"))
    assert len(run(s.retrieve("a")).events) == len(as_stock(db, "a").events)


def test_same_ids_and_count_after_a_delete_are_not_mistaken(db):
    """SQLite reuses the highest rowids after a delete: the same count and max id come back
    with other content; the latest timestamp tells them apart."""
    s = store(db)
    conversation(s, "a", 3)
    with sqlite3.connect(db) as con:
        rows = con.execute(
            "SELECT type_name, timestamp, intent_name, action_name, data FROM events ORDER BY id"
        ).fetchall()
        con.execute("DELETE FROM events WHERE sender_id = 'a'")
    other = store(db.parent / "other.db")
    conversation(other, "a", 3)
    with sqlite3.connect(db.parent / "other.db") as src, sqlite3.connect(db) as con:
        fresh = src.execute(
            "SELECT type_name, timestamp, intent_name, action_name, data FROM events ORDER BY id"
        ).fetchall()
        assert len(fresh) == len(rows)
        con.executemany(
            "INSERT INTO events (sender_id, type_name, timestamp, intent_name, action_name, data) VALUES ('a', ?, ?, ?, ?, ?)",
            [(t, ts + 1000.0, i, a, d.replace("answer", "ANSWER")) for t, ts, i, a, d in fresh],
        )
    got = run(s.retrieve("a"))
    assert same(got, as_stock(db, "a"))
    assert any(isinstance(e, BotUttered) and e.text.startswith("ANSWER") for e in got.events)


def test_forget_evicts_memory_and_rows(db):
    from channels.forget import delete_conversation

    s = store(db)
    conversation(s, "a", 2)
    assert "a" in s.tracker_cache
    assert delete_conversation(s, "a") > 0
    assert "a" not in s.tracker_cache
    assert run(s.retrieve("a")) is None


def test_a_turn_saved_by_another_store_instance_is_seen(db):
    first, second = store(db), store(db)
    tracker = conversation(first, "a", 2)
    theirs = run(second.retrieve("a"))
    add_turn(theirs, 7)
    run(second.save(theirs))
    got = run(first.retrieve("a"))
    assert same(got, as_stock(db, "a"))
    assert got.get_slot("last_topic") == "topic-7"
    assert len(got.events) == len(tracker.events) + 5


def test_a_turn_saved_by_another_process_is_seen(db):
    s = store(db)
    conversation(s, "a", 2)
    assert "a" in s.tracker_cache
    script = textwrap.dedent(
        f"""
        import asyncio, sys
        sys.path[:0] = [{str(ROOT)!r}, {str(ROOT / "tests")!r}]
        from test_tracker_cache import DOMAIN, add_turn
        from serving.sqlite_store import TunedSQLiteTrackerStore
        s = TunedSQLiteTrackerStore(DOMAIN, dialect="sqlite", db={str(db)!r})
        t = asyncio.run(s.retrieve("a"))
        add_turn(t, 42)
        asyncio.run(s.save(t))
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120, cwd=ROOT)
    got = run(s.retrieve("a"))
    assert got.get_slot("last_topic") == "topic-42"
    assert same(got, as_stock(db, "a"))


def test_new_session_is_what_rasa_reads_back(db):
    s = store(db)
    tracker = conversation(s, "a", 2)
    time.sleep(0.01)
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(SessionStarted())
    tracker.update(ActionExecuted("action_listen"))
    add_turn(tracker, 3)
    run(s.save(tracker))
    got = run(s.retrieve("a"))
    assert "a" in s.tracker_cache
    assert same(got, as_stock(db, "a"))
    assert isinstance(got.events[0], SessionStarted)


def test_cache_off_is_rasa(db, monkeypatch):
    monkeypatch.setenv("TRACKER_CACHE_EVENTS", "0")
    s = store(db)
    conversation(s, "a", 2)
    assert len(s.tracker_cache) == 0
    assert same(run(s.retrieve("a")), as_stock(db, "a"))


def test_bounded_by_events_and_idle_time():
    cache = TrackerCache(max_events=10, idle_seconds=3600)
    for name in "abc":
        cache.put(name, (4, 1, 1.0), [object()] * 4)
    assert "a" not in cache and "b" in cache and "c" in cache  # 12 > 10: least recent goes
    assert cache.get("b", (4, 1, 1.0)) is not None
    cache.put("d", (4, 1, 1.0), [object()] * 4)
    assert "c" not in cache and "b" in cache  # b was used more recently than c
    assert cache.get("b", (5, 1, 1.0)) is None and "b" not in cache  # wrong fingerprint evicts
    idle = TrackerCache(max_events=100, idle_seconds=0.0)
    idle.put("x", (1, 1, 1.0), [object()])
    time.sleep(0.01)
    assert idle.get("x", (1, 1, 1.0)) is None


POSTGRES = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))


@pytest.mark.skipif(not POSTGRES, reason="PostgreSQL binaries not installed (make deploy-deps)")
def test_postgres_store_two_instances_and_delete():
    """The production store on a private PostgreSQL (socket only, no TCP port; under build/,
    which the postgres user can reach, unlike pytest's tmp_path when run as root)."""
    from bench import stores
    from deploy.tracker_store import ResilientSQLTrackerStore

    pg = stores.Postgres(ROOT / "build" / "test-tracker-cache-pg", port=5655)
    pg.start()
    try:

        def pg_store():
            return ResilientSQLTrackerStore(
                DOMAIN, dialect="postgresql", host=str(pg.root), port=5655, db="rasa", username="rasa", password=""
            )

        first, second = pg_store(), pg_store()
        conversation(first, "a", 3)
        assert "a" in first.tracker_cache
        theirs = run(second.retrieve("a"))
        add_turn(theirs, 8)
        run(second.save(theirs))
        got = run(first.retrieve("a"))
        assert got.get_slot("last_topic") == "topic-8"
        stock = SQLTrackerStore(
            DOMAIN, dialect="postgresql", host=str(pg.root), port=5655, db="rasa", username="rasa", password=""
        )
        assert same(got, run(stock.retrieve("a")))
        with pg.connect() as con, con.cursor() as cur:
            cur.execute("DELETE FROM events WHERE sender_id = 'a'")
        assert run(first.retrieve("a")) is None
        assert "a" not in first.tracker_cache
    finally:
        pg.stop()

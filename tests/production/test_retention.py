"""scripts/retention.py deletes conversations older than N days - whole conversations, by
their latest event - from the embedded SQLite store and from the cluster's PostgreSQL."""

import asyncio
import os
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa
from prodlib import REPO, chat, new_sender

SCRIPT = REPO / "scripts" / "retention.py"
DAY = 86400


def run_retention(*args, env=None):
    if "--log-dir" not in args and "LOG_DIR" not in (env or {}):
        args = (*args, "--no-logs")  # never touch the developer's own run/ logs
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        env=dict(os.environ, **(env or {})),
        cwd=REPO,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def make_sqlite_store(path, conversations):
    """A real Rasa SQLite tracker store with one conversation per (sender, age in days)."""
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(path))
    now = time.time()
    for sender, age_days in conversations.items():
        t = now - age_days * DAY
        events = [
            ActionExecuted("action_session_start", timestamp=t),
            SessionStarted(timestamp=t),
            ActionExecuted("action_listen", timestamp=t),
            UserUttered("my hip hurts", timestamp=t + 1),
            BotUttered("I am sorry to hear that", timestamp=t + 2),
            ActionExecuted("action_listen", timestamp=t + 2),
        ]
        asyncio.run(store.save(DialogueStateTracker.from_events(sender, events)))
    store.engine.dispose()


def senders_in(url):
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT DISTINCT sender_id FROM events")).fetchall()
    engine.dispose()
    return {r[0] for r in rows}


def test_sqlite_embedded_profile(tmp_path):
    db = tmp_path / "tracker.db"
    make_sqlite_store(db, {"fresh": 0, "week": 7.5, "month-minus": 29.5, "month-plus": 30.5, "year": 365})
    url = f"sqlite:///{db}"

    out = run_retention("--db-url", url, "--dry-run")
    assert "would delete 2 conversation(s), 12 event(s) older than 30 days" in out
    assert senders_in(url) == {"fresh", "week", "month-minus", "month-plus", "year"}

    out = run_retention("--db-url", url)
    assert "deleted 2 conversation(s)" in out
    assert senders_in(url) == {"fresh", "week", "month-minus"}

    out = run_retention("--db-url", url, "--days", "7")  # "week" is 7.5 days old
    assert senders_in(url) == {"fresh"}
    assert "my hip" not in out  # counts only, never content


def test_sqlite_through_endpoints_file(tmp_path):
    """Without --db-url the script reads endpoints.yml as Rasa would (${TRACKER_DB})."""
    db = tmp_path / "tracker.db"
    make_sqlite_store(db, {"old": 40, "new": 1})
    out = run_retention("--endpoints", str(REPO / "endpoints.yml"), env={"TRACKER_DB": str(db)})
    assert "deleted 1 conversation(s)" in out and str(db) in out
    assert senders_in(f"sqlite:///{db}") == {"new"}


def test_a_conversation_that_continues_is_kept_whole(tmp_path):
    db = tmp_path / "tracker.db"
    make_sqlite_store(db, {"returning": 60})
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:  # the patient came back today
        conn.execute(
            sa.text(
                "INSERT INTO events (sender_id, type_name, timestamp, data) VALUES ('returning', 'user', :t, '{}')"
            ),
            {"t": time.time()},
        )
    engine.dispose()
    run_retention("--db-url", f"sqlite:///{db}")
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM events WHERE sender_id = 'returning'")).scalar() == 7
    engine.dispose()


def test_no_tracker_store_yet(tmp_path):
    out = run_retention("--db-url", f"sqlite:///{tmp_path / 'missing.db'}")
    assert "deleted 0 conversation(s)" in out and "no tracker store yet" in out


def test_postgres_production_profile(cluster, db):
    """Real conversations in the cluster's PostgreSQL; some are aged by moving their
    timestamps back, then `make retention DB_URL=...` removes exactly those."""
    old, recent = [new_sender() for _ in range(3)], [new_sender() for _ in range(2)]
    for sender in old + recent:
        assert chat(cluster.base_url, sender, "hello").status == 200
    engine = sa.create_engine(cluster.db_url())
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE events SET timestamp = timestamp - :age WHERE sender_id = ANY(:s)"),
            {"age": 45 * DAY, "s": old},
        )
    engine.dispose()

    out = subprocess.run(
        ["make", "--no-print-directory", "retention", "DAYS=30", f"DB_URL={cluster.db_url()}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, LOG_DIR=str(cluster.s.state_dir / "no-logs-here")),
    )
    assert out.returncode == 0, out.stderr
    assert "postgresql://" in out.stdout and cluster.secrets()["POSTGRES_PASSWORD"] not in out.stdout
    counts = db.counts(old + recent)
    assert all(counts[s]["user"] == 0 for s in old)
    # ... and the freed rows were VACUUMed (reusable space, not left for autovacuum)
    vacuumed = db._query("SELECT last_vacuum FROM pg_stat_user_tables WHERE relname = 'events'")
    assert vacuumed and vacuumed[0][0] is not None
    assert all(counts[s]["user"] == 1 for s in recent)
    # The endpoints file of the production profile works too (POSTGRES_* from the env).
    env = {k: v for k, v in cluster.service_env().items()}
    out = run_retention("--endpoints", str(REPO / "deploy" / "rasa" / "endpoints.yml"), "--dry-run", env=env)
    assert "would delete 0 conversation(s)" in out


@pytest.mark.parametrize("days", ["-1", "abc"])
def test_bad_arguments_are_refused(days):
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--days", days, "--db-url", "sqlite:///:memory:"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2


def test_the_cluster_logs_are_covered(cluster):
    """A dry run over the cluster's own log directory reads every log format there
    (Rasa, action server, nginx, Redis) without changing a byte (the log-privacy test
    reads these logs at the end of the session)."""
    sizes = {p: p.stat().st_size for p in cluster.s.log_dir.iterdir() if p.is_file()}
    out = run_retention("--db-url", cluster.db_url(), "--dry-run", "--days", "0", "--log-dir", str(cluster.s.log_dir))
    assert "would delete" in out and "log line(s)" in out and str(cluster.s.log_dir) in out
    assert int(out.split("rotated log file(s) and ")[1].split()[0]) > 0  # days=0: every line is "old"
    assert {p: p.stat().st_size for p in sizes} == sizes

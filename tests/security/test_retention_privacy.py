"""scripts/retention.py leaves no trace of a purged conversation: not in the SQLite file
(secure_delete + VACUUM), not in the logs (old lines dropped, old rotated files deleted)."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "retention.py"
DAY = 86400
sys.path.insert(0, str(ROOT / "scripts"))
import retention  # noqa: E402


def run(*args, env=None):
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT), **(env or {})),
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def make_store(path, conversations):
    """A real Rasa SQLite tracker store: {sender: (age in days, what the patient said)}."""
    import asyncio

    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(path))
    now = time.time()
    for sender, (age, words) in conversations.items():
        t = now - age * DAY
        events = [
            ActionExecuted("action_listen", timestamp=t),
            UserUttered(words, timestamp=t + 1),
            BotUttered("Thanks for telling me", timestamp=t + 2),
        ]
        asyncio.run(store.save(DialogueStateTracker.from_events(sender, events)))
    store.engine.dispose()


@pytest.mark.parametrize("journal", ["delete", "wal"])
def test_a_purged_conversation_leaves_no_trace_in_the_database_file(tmp_path, journal):
    import sqlite3

    old_words, new_words = "zqold" + uuid.uuid4().hex[:10], "zqnew" + uuid.uuid4().hex[:10]
    db = tmp_path / "tracker.db"
    keeper = None
    if journal == "wal":  # as serving.sqlite_store keeps it: WAL, a connection held open
        sqlite3.connect(db).execute("PRAGMA journal_mode=WAL").fetchall()
        keeper = sqlite3.connect(db)
        keeper.execute("PRAGMA wal_autocheckpoint=0")
    make_store(db, {"old-patient": (40, f"my hip hurts {old_words} " * 20), "new-patient": (1, f"hello {new_words}")})
    files = lambda: b"".join(p.read_bytes() for p in tmp_path.glob("tracker.db*"))  # noqa: E731
    assert old_words.encode() in files()
    out = run("--db-url", f"sqlite:///{db}", "--days", "30", "--no-logs")
    assert "deleted 1 conversation(s)" in out
    data = files()
    assert old_words.encode() not in data and b"old-patient" not in data
    assert new_words.encode() in data  # the recent conversation is still there
    if keeper is not None:
        keeper.close()


def test_the_embedded_endpoints_file_is_understood():
    """endpoints.yml names the embedded profile's store class; retention finds its file."""
    url = retention.url_from_endpoints(ROOT / "endpoints.yml")
    assert url.get_backend_name() == "sqlite" and url.database


def stamp(epoch):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))


def test_logs_get_the_same_retention(tmp_path):
    now, marker = time.time(), "zq" + uuid.uuid4().hex[:12]
    old, new = now - 40 * DAY, now - 1 * DAY
    logs = tmp_path / "logs"
    logs.mkdir()
    live = logs / "rasa.log"
    live.write_text(
        f"{stamp(old)} INFO     rasa.core  - old line {marker}\n"
        f'Traceback (most recent call last):\n  File "x.py", line 1, in {marker}\n'
        f"{time.strftime('%Y/%m/%d %H:%M:%S', time.localtime(old))} [warn] 12#12: old nginx {marker}\n"
        f'127.0.0.1 [{time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(old))}] "POST /x" 200 {marker}\n'
        f"{stamp(new)} INFO     rasa.core  - recent line\n"
        f"  a continuation of the recent line\n"
    )
    rotated_old, rotated_new = logs / "rasa.log.1", logs / "rasa.log.2.gz"
    rotated_old.write_text(f"{stamp(old)} INFO old rotated {marker}\n")
    rotated_new.write_text(f"{stamp(new)} INFO recent rotated\n")
    os.utime(rotated_old, (old, old))
    os.utime(rotated_new, (new, new))
    inode = live.stat().st_ino
    writer = open(live, "ab")  # a running server keeps appending to its log

    out = run("--db-url", f"sqlite:///{tmp_path / 'none.db'}", "--days", "30", env={"LOG_DIR": str(logs)})
    assert "1 rotated log file(s) and 5 log line(s)" in out
    writer.write(f"{stamp(now)} INFO     after the purge\n".encode())
    writer.close()

    assert not rotated_old.exists() and rotated_new.exists()
    assert live.stat().st_ino == inode
    text = live.read_bytes()
    assert marker.encode() not in text and b"\x00" not in text
    assert text.decode().splitlines() == [
        f"{stamp(new)} INFO     rasa.core  - recent line",
        "  a continuation of the recent line",
        f"{stamp(now)} INFO     after the purge",
    ]
    assert all(marker not in p.read_text(errors="replace") for p in logs.iterdir())


def test_dry_run_and_no_logs_change_nothing(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    body = f"{stamp(time.time() - 90 * DAY)} INFO old\n"
    (logs / "actions.log").write_text(body)
    run("--db-url", f"sqlite:///{tmp_path / 'none.db'}", "--dry-run", "--log-dir", str(logs))
    run("--db-url", f"sqlite:///{tmp_path / 'none.db'}", "--no-logs", env={"LOG_DIR": str(logs)})
    assert (logs / "actions.log").read_text() == body


@pytest.mark.parametrize(
    "line,expected",
    [
        ("2026-12-01 23:10:21 INFO x", (2026, 12, 1, 23, 10, 21)),
        ("2026-12-01 23:10:21,470 INFO x", (2026, 12, 1, 23, 10, 21)),
        ("2026/12/01 23:10:21 [error] 7#7: x", (2026, 12, 1, 23, 10, 21)),
        ("4242:M 01 Dec 2026 23:10:21.123 * Ready", (2026, 12, 1, 23, 10, 21)),
        ('  File "x.py", line 3', None),
        ("", None),
    ],
)
def test_time_stamps_of_every_log(line, expected):
    got = retention.line_time(line)
    if expected is None:
        assert got is None
    else:
        assert time.localtime(got)[:6] == expected

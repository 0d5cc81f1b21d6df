"""Load: 50 simulated patients for 2 minutes against the two-instance cluster (through
nginx), with Locust. Zero failed requests, and afterwards every answered message is in the
tracker store, per conversation: nothing lost, nothing stored twice."""
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

from prodlib import Ledger

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
USERS = int(os.environ.get("LOAD_USERS", "50"))
SECONDS = int(os.environ.get("LOAD_SECONDS", "120"))


def run_locust(host, users, seconds, out_dir, think="1,3"):
    """Locust in its own process (it monkeypatches with gevent); bounded by --run-time."""
    prefix = out_dir / "locust"
    ledger_path = out_dir / "ledger.json"
    env = dict(os.environ, PATIENT_THINK=think, LEDGER_PATH=str(ledger_path))
    cmd = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", host,
        "--users", str(users), "--spawn-rate", str(max(1, users // 5)), "--run-time", f"{seconds}s",
        "--stop-timeout", "60", "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING",
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=seconds + 240)
    with open(f"{prefix}_stats.csv") as handle:
        rows = {row["Name"]: row for row in csv.DictReader(handle)}
    return proc, rows["Aggregated"], json.loads(ledger_path.read_text())


def test_50_patients_for_2_minutes(cluster, db, tmp_path):
    proc, stats, ledger_rows = run_locust(cluster.base_url, USERS, SECONDS, tmp_path)
    summary = {
        "users": USERS, "seconds": SECONDS, "requests": int(stats["Request Count"]),
        "failures": int(stats["Failure Count"]), "rps": float(stats["Requests/s"]),
        "p50_ms": float(stats["50%"]), "p95_ms": float(stats["95%"]), "p99_ms": float(stats["99%"]),
        "conversations": len(ledger_rows),
    }
    (cluster.s.state_dir / "load-test.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary))
    assert summary["requests"] > USERS * 10, summary
    assert summary["failures"] == 0, (summary, proc.stdout[-2000:], proc.stderr[-2000:])

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

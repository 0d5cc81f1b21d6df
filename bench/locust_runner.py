"""The one Locust runner, shared by `make bench` (bench/load.py) and the production load test
(tests/production/test_load.py).

Locust runs in its own process (it monkeypatches the interpreter with gevent) with the
simulated patients of tests/production/locustfile.py; bounded by ``--run-time`` and by a
subprocess timeout. The locustfile writes every request's latency (LATENCY_PATH) and what
every conversation sent and got back (LEDGER_PATH), so callers get exact percentiles and
can check the tracker store, not only Locust's rounded CSV figures.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
LOCUSTFILE = ROOT / "tests" / "production" / "locustfile.py"


def percentiles(values: List[float]) -> Dict[str, float]:
    """p50/p95/p99/mean by linear interpolation (what numpy's default does), n included."""
    if not values:
        return {"p50": float("nan"), "p95": float("nan"), "p99": float("nan"), "mean": float("nan"), "n": 0}
    ordered = sorted(values)

    def pct(p: float) -> float:
        k = (len(ordered) - 1) * p
        lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
        return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)

    return {"p50": pct(0.50), "p95": pct(0.95), "p99": pct(0.99), "mean": statistics.fmean(ordered), "n": len(ordered)}


@dataclass
class LocustRun:
    """One Locust run's outcome: counts from Locust's CSV, latencies from the locustfile."""

    users: int
    seconds: float
    requests: int
    failures: int
    latencies_ms: List[float]
    ledger: Dict[str, list]
    stdout: str = ""
    stderr: str = ""
    failure_kinds: Dict[str, int] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def summary(self) -> Dict[str, float]:
        return {
            "users": self.users,
            "seconds": self.seconds,
            "requests": self.requests,
            "failures": self.failures,
            "rps": self.rps,
            **{k: v for k, v in percentiles(self.latencies_ms).items() if k != "n"},
        }


def run_locust(
    host: str,
    users: int,
    seconds: int,
    out_dir: Path,
    *,
    think: str = "1,3",
    tag: str = "locust",
    spawn_rate: Optional[int] = None,
    conversation_length: Optional[int] = None,
    accept_empty: bool = False,
    extra_env: Optional[Dict[str, str]] = None,
) -> LocustRun:
    """Run ``users`` simulated patients against ``host`` for ``seconds``.

    ``think`` is PATIENT_THINK ("0,0": closed loop, the next message as soon as the reply
    is in); ``conversation_length`` starts a new conversation after that many messages
    (default: the whole script, about 35); ``accept_empty`` lets an empty reply count as an
    answer (a bare ``rasa init`` bot says nothing to what it was not trained on).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    prefix = out_dir / f"{tag}-{users}"
    ledger_path, latency_path = Path(f"{prefix}-ledger.json"), Path(f"{prefix}-latency.json")
    for path in (ledger_path, latency_path):
        path.unlink(missing_ok=True)
    env = dict(os.environ, PATIENT_THINK=think, LEDGER_PATH=str(ledger_path), LATENCY_PATH=str(latency_path))
    if conversation_length:
        env["PATIENT_CONVERSATION_LENGTH"] = str(conversation_length)
    if accept_empty:
        env["PATIENT_ACCEPT_EMPTY"] = "1"
    env.update(extra_env or {})
    cmd = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--host",
        host,
        "--users",
        str(users),
        "--spawn-rate",
        str(spawn_rate or users),
        "--run-time",
        f"{seconds}s",
        "--stop-timeout",
        "60",
        "--csv",
        str(prefix),
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=seconds + 240)
    with open(f"{prefix}_stats.csv") as handle:
        row = {r["Name"]: r for r in csv.DictReader(handle)}["Aggregated"]
    latencies = json.loads(latency_path.read_text()) if latency_path.exists() else []
    failure_kinds: Dict[str, int] = {}
    failures_csv = Path(f"{prefix}_failures.csv")
    if failures_csv.exists():
        with open(failures_csv) as handle:
            for r in csv.DictReader(handle):
                failure_kinds[r.get("Error", "?")] = int(r.get("Occurrences", "0") or 0)
    return LocustRun(
        users=users,
        seconds=float(seconds),
        requests=int(row["Request Count"]),
        failures=int(row["Failure Count"]),
        latencies_ms=latencies,
        ledger=json.loads(ledger_path.read_text()) if ledger_path.exists() else {},
        stdout=proc.stdout,
        stderr=proc.stderr,
        failure_kinds=failure_kinds,
    )

"""`make bench-first-run`: how long a first `make run` takes on a fresh machine.

A fresh clone of the committed tree (no .venv, no models, no Rasa cache) in a temporary
directory runs `make run` exactly as a new user would, on the bench's own ports, until
the REST channel answers a message with a reply. The phases are timed from `make`'s own
output lines as they arrive:

* venv: creating .venv and installing the pinned dependencies (from pip's configured
  sources and cache on this machine: /opt/wheels and the local indexes, no download),
* spaCy: building the project's spaCy pipeline (scripts/build_spacy_model.py),
* training: `rasa train` from scratch,
* start-up: from the trained model to the first answer (servers start, model loads).

The result goes to build/bench-perf/first-run.json; `make bench` (bench/report.py) puts
it in the report and the README block. The clone is removed afterwards (its venv is
~3 GB); its log is kept in build/bench-perf/first-run.log.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import requests

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import measure  # noqa: E402
from bench.training import STATE  # noqa: E402

logger = logging.getLogger(__name__)

RECORD = STATE / "first-run.json"
LOG = STATE / "first-run.log"
PORTS = {"RASA_PORT": "5905", "ACTIONS_PORT": "5955", "WEB_PORT": "5925"}
TIMEOUT_SECONDS = float(os.environ.get("BENCH_FIRST_RUN_TIMEOUT", "1800"))

# Each phase ends when make's target for it is written (its mtime), the last one when the
# first answer comes back. In the order they happen.
PHASE_ENDS: List[Tuple[str, str]] = [
    ("venv", ".venv/.runtime.sha"),  # make run installs the runtime only (scripts/bootstrap.sh --runtime)
    ("spacy", "models/spacy/meta.json"),
    ("training", "models/gluteus-assistant.tar.gz"),
]


def clone(dest: Path) -> str:
    """A fresh clone of HEAD (what a new user gets); returns its commit."""
    shutil.rmtree(dest, ignore_errors=True)
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(dest)], check=True, timeout=300)
    return subprocess.run(
        ["git", "-C", str(dest), "rev-parse", "--short", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()


def clean_env() -> Dict[str, str]:
    """The user's environment without this project's venv or paths, on the bench's ports."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "MAKEFLAGS", "MFLAGS")}
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    env.update(PORTS)
    env.pop("RASA_CACHE_DIRECTORY", None)
    return env


def answers(url: str) -> bool:
    try:
        resp = requests.post(url, json={"sender": f"first-run-{uuid.uuid4()}", "message": "hello"}, timeout=10)
        return resp.status_code == 200 and bool(resp.json())
    except (requests.RequestException, ValueError):
        return False


def follow(proc: subprocess.Popen, t0: float, out) -> None:
    """Copy `make run`'s output to the log, each line with the seconds since the start."""
    for raw in proc.stdout:  # type: ignore[union-attr]
        out.write(f"[{time.time() - t0:7.1f}] {raw.decode(errors='replace')}")
        out.flush()


def phases(work: Path, t0: float, total: Optional[float]) -> Dict[str, Optional[float]]:
    """Seconds per phase, from the files each make target writes (absent: n/a)."""
    out: Dict[str, Optional[float]] = {}
    start = 0.0
    for phase, path in PHASE_ENDS:
        target = work / path
        if not target.exists():
            out[phase] = None
            continue
        end = target.stat().st_mtime - t0
        out[phase] = end - start
        start = end
    out["start-up"] = None if total is None else total - start
    return out


def first_run() -> dict:
    STATE.mkdir(parents=True, exist_ok=True)
    work = STATE / "first-run-clone"
    commit = clone(work)
    url = f"http://127.0.0.1:{PORTS['RASA_PORT']}/webhooks/rest/webhook"
    load = measure.machine_load()
    t0 = time.time()
    with open(LOG, "w") as out:
        proc = subprocess.Popen(
            ["make", "run"],
            cwd=work,
            env=clean_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        reader = threading.Thread(target=follow, args=(proc, t0, out), daemon=True)
        reader.start()
        total: Optional[float] = None
        try:
            while time.time() - t0 < TIMEOUT_SECONDS and proc.poll() is None:
                if (work / PHASE_ENDS[-1][1]).exists() and answers(url):
                    total = time.time() - t0
                    break
                time.sleep(1.0)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGINT)  # honcho stops its processes on Ctrl-C
                try:
                    proc.wait(60)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(10)
            reader.join(10)
    spent = phases(work, t0, total)
    shutil.rmtree(work, ignore_errors=True)
    record = {
        "when": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit,
        "seconds": total,
        "phases_s": spent,
        "load_at_start": load,
        "answered": total is not None,
    }
    RECORD.write_text(json.dumps(record, indent=1))
    return record


def recorded() -> Optional[dict]:
    return json.loads(RECORD.read_text()) if RECORD.exists() else None


def main() -> int:
    logging.basicConfig(level=logging.INFO)
    record = first_run()
    parts = ", ".join(f"{k} {v:.0f} s" for k, v in record["phases_s"].items() if v is not None)
    if record["answered"]:
        print(f"first `make run` answered after {record['seconds']:.0f} s ({parts}); log: {LOG}")
        return 0
    print(f"first `make run` did not answer within {TIMEOUT_SECONDS:.0f} s ({parts}); log: {LOG}")
    return 1


if __name__ == "__main__":
    sys.exit(main())

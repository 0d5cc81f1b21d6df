"""Processes the bench starts: the assistant (Rasa + action server, as `make run` serves
them) and a bare `rasa init` bot, each with an SQLite tracker store, on the bench's ports.

Each process runs in its own session so that stopping it stops its children; only
processes started here are stopped, by their own pid.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Dict, List, Optional

import psutil

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
RASA = str(VENV_BIN / "rasa")

OURS_PORT = int(os.environ.get("BENCH_OURS_PORT", "5905"))
ACTIONS_PORT = int(os.environ.get("BENCH_ACTIONS_PORT", "5955"))
BARE_PORT = int(os.environ.get("BENCH_BARE_PORT", "5915"))
# A second assistant on an empty tracker store, measured beside the seeded one.
REF_PORT = int(os.environ.get("BENCH_REF_PORT", "5906"))


def base_env() -> Dict[str, str]:
    """What every bench process gets: no telemetry, quiet TensorFlow, the project on the path."""
    env = dict(os.environ)
    env.update(
        {
            "RASA_TELEMETRY_ENABLED": "false",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "PYTHONUNBUFFERED": "1",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            "LOG_LEVEL": "INFO",
            "PYTHONPATH": os.pathsep.join([str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])),
        }
    )
    return env


class Proc:
    """A started server process: readiness, resident memory, model-load time, stop."""

    def __init__(self, name: str, cmd: List[str], cwd: Path, env: Dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self.t0 = time.perf_counter()
        self._log = open(self.log_path, "w")
        self.popen = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.ready_seconds: Optional[float] = None

    @property
    def pid(self) -> int:
        return self.popen.pid

    def wait_ready(self, url: str, timeout: float = 600) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see {self.log_path}")
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    if resp.status == 200:
                        self.ready_seconds = time.perf_counter() - self.t0
                        return self.ready_seconds
            except OSError:
                pass
            time.sleep(0.3)
        raise TimeoutError(f"{self.name} not ready after {timeout} s")

    def wait_for_log(self, text: str, timeout: float = 120) -> bool:
        """Wait until ``text`` appears in the process's log (e.g. the channel's triage worker
        is ready: until then over-long messages are triaged in the Rasa process itself)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log_path.read_text(errors="replace"):
                return True
            time.sleep(0.5)
        return False

    def rss_mb(self) -> float:
        proc = psutil.Process(self.popen.pid)
        return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)]) / 2**20

    def model_load_seconds(self) -> Optional[float]:
        """From Rasa's own log: 'Loading model' to 'Rasa server is up and running'."""
        text = self.log_path.read_text(errors="replace")
        stamps = {}
        for key, pattern in (
            ("load", r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) INFO\s+rasa\.core\.processor\s+- Loading model"),
            ("up", r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) INFO\s+root\s+- Rasa server is up and running"),
        ):
            match = re.search(pattern, text)
            if match:
                stamps[key] = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S")
        return (stamps["up"] - stamps["load"]).total_seconds() if len(stamps) == 2 else None

    def stop(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(10)
        self._log.close()


def start_actions(log_dir: Path, token: str) -> Proc:
    """The hardened action server, as the Procfile starts it."""
    env = dict(base_env(), SANIC_HOST="127.0.0.1", ACTION_SERVER_TOKEN=token, SANIC_REQUEST_MAX_SIZE="1000000")
    proc = Proc(
        "actions",
        [
            str(VENV_BIN / "python"),
            "-m",
            "serving.action_server",
            "--actions",
            "actions",
            "--host",
            "127.0.0.1",
            "--port",
            str(ACTIONS_PORT),
        ],
        ROOT,
        env,
        log_dir,
    )
    proc.wait_ready(f"http://127.0.0.1:{ACTIONS_PORT}/health")
    return proc


def start_assistant(
    model: Path,
    log_dir: Path,
    token: str,
    endpoints: Path,
    name: str = "rasa",
    extra_env: Optional[Dict[str, str]] = None,
    port: int = OURS_PORT,
) -> Proc:
    """This assistant's Rasa server, as the Procfile starts it (credentials.yml, endpoints)."""
    env = dict(
        base_env(),
        ACTION_SERVER_URL=f"http://127.0.0.1:{ACTIONS_PORT}/webhook",
        ACTION_SERVER_TOKEN=token,
        SANIC_REQUEST_MAX_SIZE="1000000",
        CLINIC_PROFILE=str(ROOT / "clinic" / "profile.yml"),
        **(extra_env or {}),
    )
    proc = Proc(
        name,
        [
            RASA,
            "run",
            "--model",
            str(model),
            "--port",
            str(port),
            "--interface",
            "127.0.0.1",
            "--credentials",
            "credentials.yml",
            "--endpoints",
            str(endpoints),
        ],
        ROOT,
        env,
        log_dir,
    )
    proc.wait_ready(f"http://127.0.0.1:{port}/")
    return proc


def start_bare(bare_dir: Path, log_dir: Path) -> Proc:
    """The bare `rasa init` bot with the same kind of tracker store as ours (SQLite), so a
    ratio is what our pipeline, actions and channels cost, not the choice of store."""
    endpoints = log_dir / "bare-endpoints.yml"
    db = log_dir / "bare-tracker.db"
    db.unlink(missing_ok=True)
    endpoints.write_text(f"tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: {db}\n")
    credentials = log_dir / "bare-credentials.yml"
    credentials.write_text("rest:\n")
    model = sorted((bare_dir / "models").glob("*.tar.gz"))[-1]
    proc = Proc(
        "bare",
        [
            RASA,
            "run",
            "--model",
            str(model),
            "--port",
            str(BARE_PORT),
            "-i",
            "127.0.0.1",
            "--endpoints",
            str(endpoints),
            "--credentials",
            str(credentials),
        ],
        bare_dir,
        base_env(),
        log_dir,
    )
    proc.wait_ready(f"http://127.0.0.1:{BARE_PORT}/")
    return proc


def webhook(port: int) -> str:
    return f"http://127.0.0.1:{port}/webhooks/rest/webhook"

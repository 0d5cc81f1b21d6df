"""Start and stop the servers the security tests need, on loopback and their own ports
(Rasa 5705, action server 5755), with every wait bounded."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

import requests

ROOT = Path(__file__).resolve().parents[2]
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable
RASA_PORT = int(os.environ.get("SECURITY_RASA_PORT", "5705"))
ACTIONS_PORT = int(os.environ.get("SECURITY_ACTIONS_PORT", "5755"))
MODEL = ROOT / "models" / "gluteus-assistant.tar.gz"
TEST_CLINIC = ROOT / "tests" / "fixtures" / "clinic.yml"


def base_env(**extra: str) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"ACTION_SERVER_TOKEN", "SANIC_HOST"}}
    env.update(
        PYTHONPATH=str(ROOT),
        LOG_LEVEL="INFO",
        RASA_TELEMETRY_ENABLED="false",
        TF_CPP_MIN_LOG_LEVEL="2",
        SQLALCHEMY_SILENCE_UBER_WARNING="1",
        CLINIC_PROFILE=str(TEST_CLINIC),
    )
    env.update(extra)
    return env


class Server:
    """One child process with its output in a log file; stopped by its own pid only."""

    def __init__(self, name: str, argv: List[str], env: Dict[str, str], log: Path, health: str) -> None:
        self.name, self.argv, self.env, self.log, self.health = name, argv, env, log, health
        self.proc: Optional[subprocess.Popen] = None

    def start(self, timeout: float) -> "Server":
        handle = open(self.log, "ab")
        self.proc = subprocess.Popen(
            self.argv, env=self.env, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        handle.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log.read_text(errors='replace')[-3000:]}")
            try:
                if requests.get(self.health, timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer at {self.health} within {timeout:.0f} s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""


def action_server(log: Path, package: str = "tests.security.chaos_actions", **env: str) -> Server:
    argv = [PYTHON, "-m", "serving.action_server", "--actions", package, "--port", str(ACTIONS_PORT)]
    return Server("action server", argv, base_env(**env), log, f"http://127.0.0.1:{ACTIONS_PORT}/health")


def rasa_server(log: Path, tracker_db: Path, **env: str) -> Server:
    argv = [
        PYTHON,
        "-m",
        "rasa",
        "run",
        "--model",
        str(MODEL),
        "--port",
        str(RASA_PORT),
        "--interface",
        "127.0.0.1",
        "--credentials",
        str(ROOT / "credentials.yml"),
        "--endpoints",
        str(ROOT / "endpoints.yml"),
    ]
    env = base_env(ACTION_SERVER_URL=f"http://127.0.0.1:{ACTIONS_PORT}/webhook", TRACKER_DB=str(tracker_db), **env)
    return Server("rasa", argv, env, log, f"http://127.0.0.1:{RASA_PORT}/webhooks/rest/")

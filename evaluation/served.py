"""The assistant as patients reach it: the REST channel, the action server and the contract.

``Stack`` starts the action server and the Rasa server on the evaluation's own ports (5855
and 5805 by default, clear of ``make run``'s) with a throw-away tracker store, or reuses a
running server given by URL. ``Stack.ask`` posts one message as ``POST
/webhooks/rest/webhook`` and reduces the turn to what the reply contract
(``../shared/reply-contract.md``) says a reader takes from it: the topics, the highest
escalation, the red-flag ids, whether a check question was asked, and any contract
violations. Message texts are never logged.
"""

import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from assistant.topics import CONVERSATION_TOPIC_IDS
from evaluation.common import ROOT
from evaluation.metrics import TIER_RANK

logger = logging.getLogger(__name__)

ESCALATIONS = ("emergency", "urgent", "routine", "none")
START_SECONDS = 420


def contract_violations(messages: Sequence[Dict[str, Any]], content_topics: Sequence[str]) -> List[str]:
    """What this turn breaks of the reply contract (kinds only, never text)."""
    if not messages:
        return ["empty turn"]
    customs = [m["custom"] for m in messages if isinstance(m.get("custom"), dict)]
    if not customs:
        return ["no custom payload"]
    known = set(content_topics) | set(CONVERSATION_TOPIC_IDS)
    problems = []
    for custom in customs:
        topic = custom.get("topic")
        if topic not in known:
            problems.append("unknown or missing topic")
        if custom.get("escalation") not in ESCALATIONS:
            problems.append("unknown or missing escalation")
        if topic in content_topics and not custom.get("sources"):
            problems.append("content topic without sources")
        if topic == "red_flag" and not custom.get("flags"):
            problems.append("red_flag without flags")
        if not custom.get("content_version"):
            problems.append("no content_version")
    return sorted(set(problems))


def summarise_turn(messages: Sequence[Dict[str, Any]], content_topics: Sequence[str]) -> Dict[str, Any]:
    """A turn as the contract's reader sees it (highest escalation of all custom payloads)."""
    customs = [m["custom"] for m in messages if isinstance(m.get("custom"), dict)]
    escalations = [c.get("escalation") for c in customs if c.get("escalation") in ESCALATIONS]
    flags: List[str] = []
    for custom in customs:
        flags += [f for f in custom.get("flags") or [] if f not in flags]
    order = {"none": 0, "routine": 1, "urgent": 2, "emergency": 3}
    return {
        "topics": [c.get("topic") for c in customs if c.get("topic")],
        "escalation": max(escalations, key=order.__getitem__) if escalations else None,
        "flags": flags,
        "check": next((c["check"] for c in customs if c.get("check")), None),
        "violations": contract_violations(messages, content_topics),
    }


def escalated(turn: Dict[str, Any]) -> bool:
    return TIER_RANK.get(turn.get("escalation"), 0) > 0


class Stack:
    """The served assistant: started here (and stopped again) or reused by URL."""

    def __init__(
        self,
        model: Path,
        url: Optional[str] = None,
        rasa_port: int = 5805,
        actions_port: int = 5855,
        content_topics: Sequence[str] = (),
    ) -> None:
        self.model = Path(model)
        self.reused = bool(url)
        self.url = (url or f"http://127.0.0.1:{rasa_port}").rstrip("/")
        self.rasa_port = rasa_port
        self.actions_port = actions_port
        self.content_topics = tuple(content_topics)
        self.processes: List[subprocess.Popen] = []
        self.workdir: Optional[tempfile.TemporaryDirectory] = None
        self.messages = 0

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> "Stack":
        if not self.reused:
            self._start()
        self._wait(f"{self.url}/webhooks/rest/", None if self.reused else self.processes[-1], START_SECONDS)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _spawn(self, name: str, command: List[str], env: Dict[str, str]) -> subprocess.Popen:
        assert self.workdir is not None
        log = open(Path(self.workdir.name) / f"{name}.log", "wb")
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stop() ends exactly what it started
        )
        self.processes.append(process)
        return process

    def _start(self) -> None:
        self.workdir = tempfile.TemporaryDirectory(prefix="evaluate-served-")
        rasa = str(Path(sys.executable).with_name("rasa"))
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "LOG_LEVEL": "WARNING",  # never message texts in the logs
            "ACTION_SERVER_URL": f"http://127.0.0.1:{self.actions_port}/webhook",
            "TRACKER_DB": str(Path(self.workdir.name) / "tracker.db"),
            "RASA_TELEMETRY_ENABLED": "false",
        }
        actions = self._spawn(
            "actions", [rasa, "run", "actions", "--actions", "actions", "--port", str(self.actions_port)], env
        )
        self._wait(f"http://127.0.0.1:{self.actions_port}/health", actions, START_SECONDS)
        self._spawn(
            "rasa",
            [
                rasa,
                "run",
                "--model",
                str(self.model),
                "--port",
                str(self.rasa_port),
                "--interface",
                "127.0.0.1",
                "--credentials",
                "credentials.yml",
                "--endpoints",
                "endpoints.yml",
            ],
            env,
        )

    def _wait(self, url: str, process: Optional[subprocess.Popen], seconds: float) -> None:
        import requests

        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"{url}: the server exited while starting ({self._log_tail()})")
            try:
                if requests.get(url, timeout=5).status_code < 500:
                    return
            except requests.RequestException:
                pass
            time.sleep(2)
        raise RuntimeError(f"{url} did not answer within {seconds:.0f} s")

    def _log_tail(self) -> str:
        if self.workdir is None:
            return "no log"
        tails = []
        for log in sorted(Path(self.workdir.name).glob("*.log")):
            lines = log.read_text(encoding="utf-8", errors="replace").splitlines()[-3:]
            tails.append(f"{log.name}: " + " / ".join(lines))
        return "; ".join(tails)

    def stop(self) -> None:
        """End the processes this stack started (their own process groups), nothing else."""
        for process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in reversed(self.processes):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        self.processes = []
        if self.workdir is not None:
            self.workdir.cleanup()
            self.workdir = None

    # ------------------------------------------------------------------ talking

    @staticmethod
    def new_sender() -> str:
        return str(uuid.uuid4())

    def ask(self, text: str, sender: Optional[str] = None) -> Dict[str, Any]:
        """One message through the REST channel, summarised as the contract's reader sees it."""
        import requests

        response = requests.post(
            f"{self.url}/webhooks/rest/webhook",
            json={"sender": sender or self.new_sender(), "message": text},
            timeout=120,
        )
        self.messages += 1
        if response.status_code != 200:
            turn = summarise_turn([], self.content_topics)
            turn["violations"] = [f"HTTP {response.status_code}"]
            return turn
        return summarise_turn(response.json(), self.content_topics)

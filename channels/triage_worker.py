"""Triage of over-long messages in a separate process, off the Rasa server's event loop
and off its interpreter lock.

Why a process: a triage thread in the Rasa process holds the GIL for most of its work,
and every await of a short message's turn then waits for the lock (the "convoy"
effect): with 20 long messages in flight, a "hello" took over 3 s (p95) with a thread,
under 1 s with this worker. The worker is ``python -m channels.triage_worker``: one JSON
line in (``{"text": ...}``), one JSON line out (``{"findings": [...]}``), the same
triage rules as the NLU pipeline (assistant/triage). It imports no Rasa module.

The parent side (``TriageWorker``) sends one message at a time, restarts a worker that
died or hung, and falls back to triage in a thread of its own process whenever the worker
is not running (not started yet, starting, broken): a red flag always escalates. Nothing
here logs message text; the worker's stderr is the Rasa server's log.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from typing import List, Optional

logger = logging.getLogger(__name__)

REQUEST_TIMEOUT_SECONDS = 8.0
# The worker runs at a lower CPU priority (os.nice), so that on a busy machine the Rasa
# process answering short messages goes first and over-long ones wait: 20 over-long
# messages in flight made a short message's p95 2.7 times its p95 alone (bench/report.md).
# Their red flags still escalate, later under load. TRIAGE_WORKER_NICE=0 turns it off.
NICE_ENV_VAR = "TRIAGE_WORKER_NICE"
DEFAULT_NICE = 10
START_TIMEOUT_SECONDS = 120.0
STREAM_LIMIT = 1 << 20
NOMINAL_CHARS_PER_SECOND = 30_000.0  # an idle core
BLOCKED_FRAMEWORKS = ("tensorflow", "torch", "jax", "mxnet")


class TriageWorker:
    """One worker process per event loop, started by ``start()``."""

    def __init__(self) -> None:
        self.proc: Optional[asyncio.subprocess.Process] = None
        self.loop: Optional[asyncio.AbstractEventLoop] = None
        self.lock: Optional[asyncio.Lock] = None
        self.ready = False
        self.waiting = 0
        # Characters triaged per second, measured (moving average): the channel sizes an
        # over-long message's triage by it, so a queue of them drains within seconds.
        self.chars_per_second = NOMINAL_CHARS_PER_SECOND

    async def start(self) -> None:
        """Start the worker and wait until it has loaded the triage (a few seconds)."""
        loop = asyncio.get_running_loop()
        if self.loop is loop and self.proc is not None and self.proc.returncode is None:
            return
        self.stop()
        self.loop, self.lock, self.ready = loop, asyncio.Lock(), False
        try:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "channels.triage_worker",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                limit=STREAM_LIMIT,
                env=dict(os.environ),
            )
            line = await asyncio.wait_for(self.proc.stdout.readline(), START_TIMEOUT_SECONDS)
            self.ready = json.loads(line or b"{}").get("ready") is True
        except (OSError, ValueError, asyncio.TimeoutError) as exc:
            logger.error("triage worker did not start (%s); triaging in a thread", type(exc).__name__)
            self.stop()
            return
        logger.info("triage worker ready (pid %s)", self.proc.pid)

    def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            try:
                self.proc.kill()
            except ProcessLookupError:
                pass
        self.proc, self.ready = None, False

    def usable(self) -> bool:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
        return self.ready and self.loop is loop and self.proc is not None and self.proc.returncode is None

    async def findings(self, text: str) -> Optional[List[dict]]:
        """The red-flag findings of ``text`` from the worker, or None (then use a thread)."""
        if not self.usable() or self.lock is None:
            return None
        self.waiting += 1
        try:
            async with self.lock:
                return await self._ask(text)
        finally:
            self.waiting -= 1

    async def _ask(self, text: str) -> Optional[List[dict]]:
        if not self.usable():
            return None
        try:
            started = time.monotonic()
            self.proc.stdin.write(json.dumps({"text": text}).encode("utf-8") + b"\n")
            await self.proc.stdin.drain()
            line = await asyncio.wait_for(self.proc.stdout.readline(), REQUEST_TIMEOUT_SECONDS)
            answer = json.loads(line)
            found = answer["findings"]
            if not isinstance(found, list):
                raise ValueError("findings must be a list")
            if len(text) >= 200:
                rate = len(text) / max(time.monotonic() - started, 1e-3)
                self.chars_per_second = 0.7 * self.chars_per_second + 0.3 * rate
            return found
        except (OSError, ValueError, KeyError, asyncio.TimeoutError) as exc:
            logger.error("triage worker failed (%s); restarting it", type(exc).__name__)
            self.stop()
            asyncio.get_running_loop().create_task(self.start())
            return None


def lower_priority() -> int:
    """Lower this process's CPU priority by TRIAGE_WORKER_NICE (default 10); the new niceness."""
    try:
        increment = int(os.environ.get(NICE_ENV_VAR, DEFAULT_NICE))
    except ValueError:
        logger.warning("%s is not a whole number; using %d", NICE_ENV_VAR, DEFAULT_NICE)
        increment = DEFAULT_NICE
    try:
        return os.nice(max(0, min(increment, 19)))
    except OSError as exc:  # not allowed here: run at the normal priority
        logger.warning("triage worker keeps its priority (%s)", type(exc).__name__)
        return os.nice(0)


def _serve() -> None:
    """The worker's loop: JSON lines on stdin, JSON lines on stdout."""
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO").upper(), format="%(asctime)s %(levelname)-7s %(name)s  - %(message)s"
    )
    # The triage pipeline is rules only; thinc (under spaCy) would import TensorFlow just
    # because it is installed: 490 MB instead of 130 MB for this process.
    for framework in BLOCKED_FRAMEWORKS:
        sys.modules.setdefault(framework, None)  # type: ignore[assignment]
    from assistant.nlp import load_nlp
    from assistant.triage import Triage

    triage = Triage.from_file(nlp=load_nlp())
    # loaded at the normal priority (on a busy machine a niced start-up took minutes, with
    # every over-long message triaged in the Rasa process meanwhile); then step back
    logger.info("triage worker niceness %d", lower_priority())
    out = sys.stdout
    out.write(json.dumps({"ready": True}) + "\n")
    out.flush()
    for line in sys.stdin:
        try:
            text = json.loads(line).get("text")
            result = triage.assess(text if isinstance(text, str) else "")
            answer = {"findings": [f.as_dict() for f in result.findings]}
        except Exception as exc:  # a bad line must not end the worker; no text in the log
            logging.getLogger("channels.triage_worker").error("triage failed: %s", type(exc).__name__)
            answer = {"findings": [], "error": type(exc).__name__}
        out.write(json.dumps(answer) + "\n")
        out.flush()


if __name__ == "__main__":
    _serve()

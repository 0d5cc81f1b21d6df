"""The triage worker runs at a lower CPU priority (channels/triage_worker.py,
TRIAGE_WORKER_NICE, default 10) and its red flags still escalate; 0 keeps the priority."""

import asyncio
import os

import psutil
import pytest

from channels.triage_worker import DEFAULT_NICE, TriageWorker

RED_FLAG = "I have lost control of my bladder and I am numb between my legs"


def _niceness_of_worker(monkeypatch: pytest.MonkeyPatch, setting: str) -> tuple:
    monkeypatch.setenv("TRIAGE_WORKER_NICE", setting)

    async def scenario():
        worker = TriageWorker()
        await worker.start()
        try:
            assert worker.usable()
            flagged = await worker.findings("my hip hurts when I walk, " * 60 + RED_FLAG)
            return psutil.Process(worker.proc.pid).nice(), flagged
        finally:
            worker.stop()

    return asyncio.run(asyncio.wait_for(scenario(), 240))


def test_the_worker_runs_at_a_lower_priority_and_still_escalates(monkeypatch):
    own = os.nice(0)
    niceness, flagged = _niceness_of_worker(monkeypatch, str(DEFAULT_NICE))
    assert niceness == min(own + DEFAULT_NICE, 19)
    assert {finding["flag"] for finding in flagged} >= {"bladder_bowel", "saddle_numbness"}


def test_zero_keeps_the_priority(monkeypatch):
    niceness, flagged = _niceness_of_worker(monkeypatch, "0")
    assert niceness == os.nice(0)
    assert flagged

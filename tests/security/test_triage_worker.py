"""The triage worker process (channels/triage_worker.py): same findings as the in-process
triage, a fallback (None) when it is down, and a restart after it died."""

import asyncio

from channels import safety
from channels.triage_worker import TriageWorker

RED_FLAG = "I have lost control of my bladder and I am numb between my legs"


def test_the_worker_triages_restarts_and_falls_back():
    async def scenario():
        worker = TriageWorker()
        assert await worker.findings(RED_FLAG) is None  # not started: the caller uses a thread
        await worker.start()
        assert worker.usable()
        flagged = await worker.findings("my hip hurts. " * 300 + RED_FLAG)
        assert flagged and {f["flag"] for f in flagged} == {
            f.as_dict()["flag"] for f in safety.triage().assess(RED_FLAG).findings
        }
        assert await worker.findings("what is the gluteus medius") == []
        worker.proc.kill()
        await worker.proc.wait()
        assert await worker.findings(RED_FLAG) is None
        await worker.start()
        assert await worker.findings(RED_FLAG)
        worker.stop()

    asyncio.run(asyncio.wait_for(scenario(), 240))


def test_the_channel_escalates_through_the_worker():
    async def scenario():
        await safety.start_worker()
        try:
            assert safety.WORKER.usable()
            messages = await safety.red_flags_off_loop("my hip hurts. " * 100 + RED_FLAG)
            assert messages and messages[0]["custom"]["topic"] == "red_flag"
        finally:
            safety.WORKER.stop()

    asyncio.run(asyncio.wait_for(scenario(), 240))

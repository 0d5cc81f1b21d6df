"""Measurements against running bots over REST: alternating load windows, cost as a
conversation grows, a short message beside long ones, and a py-spy profile.

The machine is shared (2 cores, other engineers' jobs), so the assistant and the bare bot
are always measured in alternating windows of the same run and compared as ratios.
"""

from __future__ import annotations

import collections
import logging
import os
import statistics
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Callable, Dict, List

import psutil
import requests

from bench.locust_runner import percentiles, run_locust

logger = logging.getLogger(__name__)

WINDOW_SECONDS = int(os.environ.get("BENCH_WINDOW_SECONDS", "15"))
WINDOWS = int(os.environ.get("BENCH_WINDOWS", "2"))  # per bot and load level
USERS = [int(u) for u in os.environ.get("BENCH_USERS", "1 10 50").split()]
GROWTH_TURNS = int(os.environ.get("BENCH_GROWTH_TURNS", "50"))
GROWTH_CONVERSATIONS = int(os.environ.get("BENCH_GROWTH_CONVERSATIONS", "4"))
PY_SPY = os.environ.get("PY_SPY", "py-spy")

LONG_BUDGET_SECONDS = float(os.environ.get("BENCH_LONG_SECONDS", "90"))
LONG_TEXT = ("my hip hurts on the side when I walk and at night when I lie on it, " * 40)[:1999]


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def machine_load() -> Dict[str, float]:
    """The 1-minute load average and the share of CPU not ours, noted beside each figure."""
    return {"loadavg_1min": os.getloadavg()[0], "cpu_percent": psutil.cpu_percent(interval=0.5)}


def alternating_load(targets: Dict[str, str], out_dir: Path, accept_empty: Dict[str, bool]) -> List[dict]:
    """Closed-loop Locust at each load level, WINDOWS windows per bot, alternating the order.

    Each simulated patient holds its own conversation and starts a new one every 10 messages.
    """
    rows = []
    names = list(targets)
    for users in USERS:
        merged: Dict[str, dict] = {
            n: {"requests": 0, "failures": 0, "seconds": 0.0, "lat": [], "load": []} for n in names
        }
        for window in range(WINDOWS):
            order = names if window % 2 == 0 else names[::-1]
            for name in order:
                log(f"load: {users} patient(s) -> {name}, window {window + 1}/{WINDOWS} ({WINDOW_SECONDS} s)")
                merged[name]["load"].append(machine_load())
                run = run_locust(
                    targets[name],
                    users,
                    WINDOW_SECONDS,
                    out_dir,
                    think="0,0",
                    tag=f"{name}-w{window}",
                    conversation_length=10,
                    accept_empty=accept_empty.get(name, False),
                )
                m = merged[name]
                m["requests"] += run.requests
                m["failures"] += run.failures
                m["seconds"] += run.seconds
                m["lat"] += run.latencies_ms
                if run.failures:
                    m.setdefault("failure_kinds", {}).update(run.failure_kinds)
        for name in names:
            m = merged[name]
            rows.append(
                {
                    "bot": name,
                    "users": users,
                    "requests": m["requests"],
                    "failures": m["failures"],
                    "rps": m["requests"] / m["seconds"],
                    **percentiles(m.pop("lat")),
                    "loadavg": statistics.fmean(x["loadavg_1min"] for x in m["load"]),
                    "failure_kinds": m.get("failure_kinds", {}),
                }
            )
    return rows


def _chat(http: requests.Session, url: str, sender: str, text: str) -> float:
    t0 = time.perf_counter()
    resp = http.post(url, json={"sender": sender, "message": text}, timeout=120)
    elapsed = (time.perf_counter() - t0) * 1000
    resp.raise_for_status()
    return elapsed


def _session() -> requests.Session:
    http = requests.Session()
    http.trust_env = False
    return http


def growth(urls: Dict[str, str], texts: List[str]) -> Dict[str, Dict[int, List[float]]]:
    """Latency at every turn of GROWTH_TURNS-message conversations, the bots taking turns
    message by message (so load hits both alike). {bot: {turn: [ms, ...]}}.

    Every turn, the first included, is one of the patient questions (rotating), so turn 50
    is compared with turn 1 for the same kind of message: a greeting first (as before
    2026-12-02 02:00) made turn 1 a cheaper message than the questions after it."""
    http = _session()
    per_turn: Dict[str, Dict[int, List[float]]] = {b: collections.defaultdict(list) for b in urls}
    log(f"growth: {GROWTH_CONVERSATIONS} conversations of {GROWTH_TURNS} turns per bot")
    for c in range(GROWTH_CONVERSATIONS):
        senders = {b: f"growth-{b}-{uuid.uuid4()}" for b in urls}
        for turn in range(1, GROWTH_TURNS + 1):
            text = texts[(turn - 1 + c) % len(texts)]
            for bot in list(urls) if turn % 2 else list(urls)[::-1]:
                per_turn[bot][turn].append(_chat(http, urls[bot], senders[bot], text))
    return {b: dict(v) for b, v in per_turn.items()}


def turn_figure(per_turn: Dict[int, List[float]], turn: int) -> float:
    """Median over conversations of turns turn-1..turn+1 (turn 1: turns 1-2), fewer outliers."""
    lo, hi = max(1, turn - 1), turn + 1
    values = [v for t in range(lo, hi + 1) for v in per_turn.get(t, [])]
    return statistics.median(values)


def fresh_turns(url: str, texts: List[str], conversations: int = 12, turns: int = 2) -> List[float]:
    """Latencies of the first ``turns`` messages of new conversations (for the store-size test)."""
    http = _session()
    out = []
    for c in range(conversations):
        sender = f"fresh-{uuid.uuid4()}"
        for turn in range(turns):
            out.append(_chat(http, url, sender, "hello" if turn == 0 else texts[c % len(texts)]))
    return out


def paired_fresh_turns(
    urls: Dict[str, str], texts: List[str], conversations: int = 12, turns: int = 2
) -> Dict[str, List[float]]:
    """``fresh_turns`` on several bots at once, message by message in alternating order, so
    a seeded store and an empty one are measured in the same moments. {name: [ms, ...]}."""
    http = _session()
    out: Dict[str, List[float]] = {name: [] for name in urls}
    for c in range(conversations):
        senders = {name: f"fresh-{uuid.uuid4()}" for name in urls}
        for turn in range(turns):
            text = "hello" if turn == 0 else texts[c % len(texts)]
            order = list(urls) if (c + turn) % 2 == 0 else list(urls)[::-1]
            for name in order:
                out[name].append(_chat(http, urls[name], senders[name], text))
    return out


def short_beside_long(url: str, short_texts: List[str], messages: int = 40, long_clients: int = 20) -> dict:
    """p95 of short messages from one client, alone and while ``long_clients`` clients keep a
    1,999-character message in flight each."""
    http = _session()

    def shorts() -> List[float]:
        """Up to ``messages`` short messages; stops early (after at least 10) past the time
        budget, as long messages that reach NLU can hold each short one for seconds."""
        sender = f"short-{uuid.uuid4()}"
        out: List[float] = []
        deadline = time.monotonic() + LONG_BUDGET_SECONDS
        for i in range(messages):
            if i >= 10 and time.monotonic() > deadline:
                break
            if i % 10 == 0:
                sender = f"short-{uuid.uuid4()}"
            out.append(_chat(http, url, sender, short_texts[i % len(short_texts)]))
        return out

    alone = shorts()
    stop = threading.Event()
    long_lat: List[float] = []
    statuses: Dict[int, int] = collections.Counter()

    def long_client() -> None:
        client = _session()
        while not stop.is_set():
            t0 = time.perf_counter()
            try:
                resp = client.post(url, json={"sender": f"long-{uuid.uuid4()}", "message": LONG_TEXT}, timeout=120)
                statuses[resp.status_code] += 1
                long_lat.append((time.perf_counter() - t0) * 1000)
            except requests.RequestException:
                statuses[-1] += 1

    threads = [threading.Thread(target=long_client, daemon=True) for _ in range(long_clients)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    beside = shorts()
    stop.set()
    for t in threads:
        t.join(130)
    a, b = percentiles(alone), percentiles(beside)
    return {
        "alone": a,
        "beside_long": b,
        "ratio_p95": b["p95"] / a["p95"],
        "long": percentiles(long_lat),
        "long_statuses": {str(k): v for k, v in statuses.items()},
    }


def profile(pids: Dict[str, int], seconds: int, out_dir: Path, drive: Callable[[], object]) -> Dict[str, dict]:
    """py-spy records each pid (sampling, no code change) while ``drive`` puts load on it;
    returns, per process, the share of samples under the functions that matter."""
    out: Dict[str, dict] = {}
    spies = {}
    for name, pid in pids.items():
        path = out_dir / f"profile-{name}.txt"
        spies[name] = (
            path,
            subprocess.Popen(
                [
                    PY_SPY,
                    "record",
                    "--pid",
                    str(pid),
                    "--duration",
                    str(seconds),
                    "--rate",
                    "50",
                    "--format",
                    "raw",
                    "--output",
                    str(path),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            ),
        )
    time.sleep(1.0)
    drive()
    for name, (path, spy) in spies.items():
        try:
            _, err = spy.communicate(timeout=seconds + 60)
        except subprocess.TimeoutExpired:
            spy.kill()
            err = b"timeout"
        out[name] = summarise_profile(path) if path.exists() else {"error": err.decode(errors="replace")[-300:]}
    return out


def summarise_profile(path: Path, top: int = 14) -> dict:
    """Inclusive share per function (file:function) from py-spy's collapsed stacks."""
    inclusive: Dict[str, int] = collections.Counter()
    own: Dict[str, int] = collections.Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [_short(f) for f in stack.split(";")]
        for frame in set(frames):
            inclusive[frame] += count
        own[frames[-1]] += count
    if not total:
        return {"samples": 0}
    skip = (
        "<module>",
        "run (asyncio",
        "_run_once",
        "run_forever",
        "run_until_complete",
        "_run (asyncio",
        "main (",
        "serve (",
        "run (sanic",
        "_bootstrap",
        "run_module",
        "_run_code",
        "__call__ (sanic",
    )
    # Frames under nearly every sample (the server's own wrappers) say nothing: left out.
    inc = [(f, c) for f, c in inclusive.most_common() if not any(s in f for s in skip) and c < 0.9 * total]
    buckets = {
        label: round(100 * max((c for f, c in inclusive.items() if f.startswith(names)), default=0) / total, 1)
        for label, names in BUCKETS
    }
    return {
        "samples": total,
        "inclusive": [(f, round(100 * c / total, 1)) for f, c in inc[:top]],
        "own": [(f, round(100 * c / total, 1)) for f, c in own.most_common(top)],
        "buckets": buckets,
    }


# Where a turn's time goes in Rasa, by the function that owns each step (rasa 3.6 names, and
# the project's tracker stores that wrap them: the outermost frame found counts).
BUCKETS = (
    ("NLU pipeline (parse_message)", ("parse_message (rasa/core/processor.py)",)),
    (
        "tracker read (tracker store retrieve)",
        (
            "_retrieve (rasa/core/tracker_store.py)",
            "_retrieve (serving/tracker_cache.py)",
            "_retrieve (deploy/tracker_store.py)",
        ),
    ),
    (
        "tracker write (tracker store save)",
        (
            "save (rasa/core/tracker_store.py)",
            "save (serving/tracker_cache.py)",
            "save (deploy/tracker_store.py)",
        ),
    ),
    ("policies + actions (prediction loop)", ("_run_prediction_loop (rasa/core/processor.py)",)),
    ("custom action calls (RemoteAction.run)", ("run (rasa/core/actions/action.py)",)),
    ("action response validation (jsonschema)", ("_validate_action_result (rasa/core/actions/action.py)",)),
    ("Event subclass walk (all_subclasses)", ("all_subclasses (rasa/shared/utils/common.py)",)),
    ("past dialogue states (states_for_tracker_history)", ("states_for_tracker_history (",)),
)


def _short(frame: str) -> str:
    """'handle (rasa/core/processor.py:123)' -> 'handle (rasa/core/processor.py)'."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "/work/main/"):
        if marker in where:
            where = where.split(marker, 1)[1]
    return f"{name} ({where})"

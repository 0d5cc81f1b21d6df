#!/usr/bin/env python3
"""The benchmark behind `make bench`: this assistant beside a bare `rasa init` bot of the
same Rasa release, measured in the same run, into bench/report.md and bench/results.json.

Both bots run as `make run` serves ours (one Rasa process, SQLite tracker store; ours with
its action server) on ports 5905/5955 (assistant) and 5915 (bare bot). The machine is
shared, so every comparison is made in alternating windows and reported as a ratio:

1. Profile (py-spy) of the Rasa server and the action server under load.
2. Closed-loop throughput and latency with 1, 10 and 50 simulated patients (Locust, the
   runner in bench/locust_runner.py that tests/production/test_load.py also uses).
3. Cost as work grows: turns 1, 25 and 50 of one conversation; a new conversation's turns
   with 10,000 and 100,000 stored conversations, SQLite and PostgreSQL (a private instance).
4. A short message's p95 while 20 long (1,999-character) messages are in flight.
5. Resident memory after the load; start-up; training (`make bench-train`).

`run_bench.py --train-only` is `make bench-train`; `--report-only` redraws the report
from bench/results.json; `--long-only` measures part 4 alone (capped and uncapped, both on
SQLite) into build/bench-perf/long-results.json (or BENCH_RESULTS), not into the report.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import secrets
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List

import psutil

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "production"))

from patient_messages import QUESTIONS  # noqa: E402

from bench import first_run, measure, report, servers, stores, training  # noqa: E402
from bench.locust_runner import percentiles, run_locust  # noqa: E402

logger = logging.getLogger(__name__)

BENCH = ROOT / "bench"
STATE = training.STATE
PY_SPY_VERSION = "0.4.3"
STORE_SIZES = [int(n) for n in os.environ.get("BENCH_STORE_SIZES", "10000 100000").split()]
log = measure.log
# channels/triage_worker.py logs this in the Rasa process once its worker has loaded
WORKER_READY = "triage worker ready"


def ensure_py_spy() -> str:
    """py-spy from PyPI into build/bench-perf/tools (not the project's venv)."""
    found = shutil.which("py-spy")
    if found:
        return found
    target = STATE / "tools"
    binary = target / "bin" / "py-spy"
    if not binary.exists():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                "--target",
                str(target),
                f"py-spy=={PY_SPY_VERSION}",
            ],
            check=True,
            timeout=300,
        )
    return str(binary)


def warm_up(urls: Dict[str, str]) -> None:
    measure.fresh_turns(urls["ours"], QUESTIONS, conversations=3, turns=4)
    measure.fresh_turns(urls["bare"], QUESTIONS, conversations=3, turns=4)


def store_sizes(url: str, ref_url: str, template: List[tuple], seed, count, label: str) -> List[dict]:
    """New conversations' first two turns at each store size (empty first), each measured
    message by message beside a second assistant process on an empty store (``ref_url``)."""
    rows = []
    seeded = 0
    for size in [0] + STORE_SIZES:
        if size > seeded:
            log(f"{label}: seeding the tracker store up to {size:,} stored conversations")
            seed(template, size - seeded)
            seeded = size
        lat = measure.paired_fresh_turns({"seeded": url, "empty": ref_url}, QUESTIONS, conversations=12, turns=2)
        rows.append(
            {
                "store": label,
                "stored": size,
                "conversations_in_store": count(),
                "turn1": percentiles(lat["seeded"][0::2]),
                "turn2": percentiles(lat["seeded"][1::2]),
                "empty_turn1": percentiles(lat["empty"][0::2]),
                "empty_turn2": percentiles(lat["empty"][1::2]),
                "load": measure.machine_load(),
            }
        )
    return rows


def start_reference(model: Path, token: str, endpoints: Path, name: str, extra_env: Dict[str, str]) -> servers.Proc:
    """The empty-store assistant the store sizes are compared with, on its own port."""
    proc = servers.start_assistant(
        model, STATE, token, endpoints, name=name, extra_env=extra_env, port=servers.REF_PORT
    )
    measure.fresh_turns(servers.webhook(servers.REF_PORT), QUESTIONS, conversations=3, turns=4)
    return proc


def sqlite_template(db: Path) -> List[tuple]:
    import sqlite3

    with sqlite3.connect(db) as con:
        sender = con.execute("SELECT sender_id FROM events WHERE sender_id LIKE 'growth-%' LIMIT 1").fetchone()[0]
    return stores.template_events(db, sender)


def phase_sqlite(model: Path, token: str, procs: dict, urls: Dict[str, str], results: dict) -> List[tuple]:
    """Everything measured against the assistant as `make run` serves it (SQLite)."""
    db = STATE / "tracker.db"
    db.unlink(missing_ok=True)
    endpoints = Path(os.environ.get("BENCH_ENDPOINTS", ROOT / "endpoints.yml"))
    results["endpoints"] = str(endpoints.relative_to(ROOT) if endpoints.is_relative_to(ROOT) else endpoints)
    procs["ours"] = servers.start_assistant(model, STATE, token, endpoints, extra_env={"TRACKER_DB": str(db)})
    log("started: assistant, action server, bare bot")
    warm_up(urls)
    empty_turn1 = measure.fresh_turns(urls["ours"], QUESTIONS, conversations=12, turns=1)
    results["empty_turn1_ms"] = percentiles(empty_turn1)

    log("profile: py-spy on Rasa and the action server, 10 patients for 20 s")
    results["profile"] = measure.profile(
        {"rasa": procs["ours"].pid, "actions": procs["actions"].pid},
        20,
        STATE,
        lambda: run_locust(urls["ours_host"], 10, 20, STATE, think="0,0", tag="profile", conversation_length=10),
    )
    results["load"] = measure.alternating_load(
        {"ours": urls["ours_host"], "bare": urls["bare_host"]}, STATE, accept_empty={"bare": True}
    )
    results["growth"] = measure.growth({"ours": urls["ours"], "bare": urls["bare"]}, QUESTIONS)
    results["rss_mb"] = {
        "ours rasa": procs["ours"].rss_mb(),
        "ours action server": procs["actions"].rss_mb(),
        "bare rasa": procs["bare"].rss_mb(),
    }
    procs["ours"].wait_for_log(WORKER_READY)
    log("short beside long messages (the channel's 500-character cap on)")
    results["long"] = {"capped": measure.short_beside_long(urls["ours"], QUESTIONS)}
    template = sqlite_template(db)
    ref_db = STATE / "tracker-empty.db"
    ref_db.unlink(missing_ok=True)
    procs["ref"] = start_reference(model, token, endpoints, "rasa-empty", {"TRACKER_DB": str(ref_db)})
    results["stores"] = store_sizes(
        urls["ours"],
        servers.webhook(servers.REF_PORT),
        template,
        lambda t, n: stores.seed_sqlite(db, t, n),
        lambda: stores.count_conversations_sqlite(db),
        "SQLite",
    )
    procs.pop("ref").stop()
    results["startup_s"] = {
        "ours": procs["ours"].ready_seconds,
        "bare": procs["bare"].ready_seconds,
        "actions": procs["actions"].ready_seconds,
    }
    results["model_load_s"] = {"ours": procs["ours"].model_load_seconds(), "bare": procs["bare"].model_load_seconds()}
    procs.pop("ours").stop()
    return template


def phase_postgres(
    model: Path, token: str, procs: dict, urls: Dict[str, str], results: dict, template: List[tuple]
) -> None:
    """The production store (PostgreSQL), and long messages with the cap lifted."""
    pg = stores.Postgres(STATE / "pg")
    try:
        pg.start()
        procs["ours"] = servers.start_assistant(
            model,
            STATE,
            token,
            pg.endpoints(STATE / "pg-endpoints.yml"),
            name="rasa-pg",
            extra_env={"MAX_MESSAGE_CHARS": "2000"},
        )
        warm_up(urls)
        procs["ours"].wait_for_log(WORKER_READY)
        log("short beside long messages (cap lifted to 2,000 characters: long messages reach NLU)")
        results["long"]["uncapped"] = measure.short_beside_long(urls["ours"], QUESTIONS)
        pg.create_database("rasa_empty")
        procs["ref"] = start_reference(
            model, token, pg.endpoints(STATE / "pg-empty-endpoints.yml", db="rasa_empty"), "rasa-pg-empty", {}
        )
        results["stores"] += store_sizes(
            urls["ours"], servers.webhook(servers.REF_PORT), template, pg.seed, pg.count_conversations, "PostgreSQL"
        )
        procs.pop("ref").stop()
        procs.pop("ours").stop()
    finally:
        for name in ("ref", "ours"):
            if name in procs:
                procs.pop(name).stop()
        pg.stop()


def run() -> dict:
    STATE.mkdir(parents=True, exist_ok=True)
    measure.PY_SPY = ensure_py_spy()
    t_start = time.perf_counter()
    results: dict = {
        "when": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {psutil.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB, "
        f"Python {platform.python_version()}, Rasa {__import__('rasa').__version__}",
        "settings": {
            "window_s": measure.WINDOW_SECONDS,
            "windows": measure.WINDOWS,
            "users": measure.USERS,
            "growth_turns": measure.GROWTH_TURNS,
            "growth_conversations": measure.GROWTH_CONVERSATIONS,
            "store_sizes": STORE_SIZES,
        },
        "load_at_start": measure.machine_load(),
    }
    bare_train = training.bare_bot(retrain=os.environ.get("BENCH_RETRAIN_BARE") == "1")
    model, ours_train, source = training.assistant_model()
    results["training_s"] = {"bare": bare_train, "ours": ours_train, "ours_source": source}
    results["first_run"] = first_run.recorded()
    token = secrets.token_urlsafe(32)
    urls = {
        "ours": servers.webhook(servers.OURS_PORT),
        "bare": servers.webhook(servers.BARE_PORT),
        "ours_host": f"http://127.0.0.1:{servers.OURS_PORT}",
        "bare_host": f"http://127.0.0.1:{servers.BARE_PORT}",
    }
    procs: dict = {}
    try:
        procs["actions"] = servers.start_actions(STATE, token)
        procs["bare"] = servers.start_bare(training.BARE, STATE)
        template = phase_sqlite(model, token, procs, urls, results)
        if os.environ.get("BENCH_POSTGRES", "1") == "1":
            phase_postgres(model, token, procs, urls, results, template)
    finally:
        for proc in procs.values():
            proc.stop()
    results["bench_seconds"] = time.perf_counter() - t_start
    return results


def run_long_only() -> dict:
    """Only the short-beside-long measurement (part 4), with the channel's cap as served and
    lifted to 2,000 characters, each on a fresh SQLite store: a quick before/after check of
    long-message work (a few minutes instead of the whole bench)."""
    STATE.mkdir(parents=True, exist_ok=True)
    model, _, _ = training.assistant_model()
    token = secrets.token_urlsafe(32)
    url = servers.webhook(servers.OURS_PORT)
    endpoints = Path(os.environ.get("BENCH_ENDPOINTS", ROOT / "endpoints.yml"))
    results: dict = {
        "when": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "store": "SQLite",
        "load_at_start": measure.machine_load(),
    }
    procs: dict = {}
    try:
        procs["actions"] = servers.start_actions(STATE, token)
        for label, extra in (("capped", {}), ("uncapped", {"MAX_MESSAGE_CHARS": "2000"})):
            db = STATE / f"tracker-long-{label}.db"
            db.unlink(missing_ok=True)
            procs["ours"] = servers.start_assistant(
                model, STATE, token, endpoints, name=f"rasa-long-{label}", extra_env={"TRACKER_DB": str(db), **extra}
            )
            measure.fresh_turns(url, QUESTIONS, conversations=3, turns=4)
            results[f"{label}_worker_ready"] = procs["ours"].wait_for_log(WORKER_READY)
            log(f"short beside long messages ({label})")
            results[label] = measure.short_beside_long(url, QUESTIONS)
            results[label]["load"] = measure.machine_load()
            procs.pop("ours").stop()
    finally:
        for proc in procs.values():
            proc.stop()
    return results


def long_summary(results: dict) -> str:
    lines = [f"short beside long, {results['when']} (load at start {results['load_at_start']})"]
    for label in ("capped", "uncapped"):
        row = results.get(label)
        if row:
            lines.append(
                f"- {label}: short p95 alone {row['alone']['p95']:.0f} ms, beside 20 long "
                f"{row['beside_long']['p95']:.0f} ms, ratio {row['ratio_p95']:.2f}; long p50 "
                f"{row['long']['p50']:.0f} ms, replies {row['long_statuses']}; load {row['load']}"
            )
    return "\n".join(lines)


def refresh_records(results: dict) -> dict:
    """The latest `make bench-train` and `make bench-first-run` figures into ``results``
    (they are measured apart from the ~15-minute bench run)."""
    _, seconds, source = training.assistant_model()
    if seconds is not None:
        results.setdefault("training_s", {}).update({"ours": seconds, "ours_source": source})
    record = first_run.recorded()
    if record is not None:
        results["first_run"] = record
    return results


def write_report(results: dict) -> None:
    before = BENCH / "profile_before.json"
    if before.exists():
        results["profile_before"] = json.loads(before.read_text())
    (BENCH / "report.md").write_text(report.render(results))
    block = report.headline(results)
    readme = ROOT / "README.md"
    if readme.exists():
        readme.write_text(report.replace_block(readme.read_text(), block))
    print(block)


def main() -> int:
    logging.basicConfig(level=logging.INFO)
    results_path = BENCH / "results.json"
    if sys.argv[1:] == ["--train-only"]:  # `make bench-train`
        STATE.mkdir(parents=True, exist_ok=True)
        seconds = training.assistant_training()
        print(f"assistant trained from scratch in {seconds:.0f} s")
        sys.argv[1:] = ["--report-only"]
        if not results_path.exists():
            return 0
    if sys.argv[1:] == ["--long-only"]:
        long_out = Path(os.environ.get("BENCH_RESULTS", STATE / "long-results.json"))
        long_results = run_long_only()
        long_out.write_text(json.dumps(long_results, indent=1))
        print(long_summary(long_results))
        return 0
    # BENCH_RESULTS: write an A/B run elsewhere (its figures then do not become the report's).
    out = Path(os.environ.get("BENCH_RESULTS", results_path))
    if sys.argv[1:] != ["--report-only"]:
        results = json.loads(json.dumps(run()))
        out.write_text(json.dumps(results, indent=1))
        if out != results_path:
            print(report.headline(results))
            return 0
    # --report-only (and after --train-only): the saved run with the latest separate records.
    results = refresh_records(json.loads(results_path.read_text()))
    results.pop("profile_before", None)
    results_path.write_text(json.dumps(results, indent=1))
    write_report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())

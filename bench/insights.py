"""Benchmark of the clinic insights: 100,000 generated conversations, summarised on SQLite
and on PostgreSQL (`make bench-insights`).

The conversations are shaped like real ones (bench/insights_store.py: Rasa's event mix per
turn, web/kiosk metadata, red flags, check questions, clarify, follow-ups, failures), spread
over the last 30 days. They are bulk-inserted into an SQLite file (one transaction) and
copied from there into a throw-away PostgreSQL (bench/stores.py's, socket only, port 5499)
with COPY. Then ``load_summary`` for the last 30 days is timed ``--runs`` times per store
(wall and CPU time of this process; the load average is recorded, the machine is shared).

Output: bench/insights-results.json, bench/plots/insights.png, and the figures on stdout.
"""

import argparse
import json
import os
import sqlite3
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Dict, List

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from assistant.insights import load_summary  # noqa: E402
from bench.insights_store import COLUMNS, random_rows, write_postgres, write_sqlite  # noqa: E402
from bench.stores import Postgres  # noqa: E402

WORK = ROOT / "build" / "insights-bench"
RESULTS = ROOT / "bench" / "insights-results.json"
PLOT = ROOT / "bench" / "plots" / "insights.png"
PG_PORT = int(os.environ.get("INSIGHTS_PG_PORT", "5499"))
LIMIT_SECONDS = 10.0


def fill_sqlite(path: Path, conversations: int, days: int) -> Dict[str, float]:
    path.unlink(missing_ok=True)
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    start_day = (time.time() // 86400 - days) * 86400
    t0 = time.perf_counter()
    events = write_sqlite(path, random_rows(conversations, start_day, days))
    return {"events": events, "seconds": time.perf_counter() - t0, "bytes": path.stat().st_size}


def fill_postgres(pg: Postgres, sqlite_path: Path) -> Dict[str, float]:
    """Copy the SQLite store's rows into PostgreSQL (same conversations), then ANALYZE."""
    t0 = time.perf_counter()
    source = sqlite3.connect(sqlite_path)
    try:
        rows = source.execute(f"SELECT {COLUMNS} FROM events ORDER BY id")
        with pg.connect() as connection:
            events = write_postgres(connection, rows)
    finally:
        source.close()
    with pg.connect() as connection:
        connection.autocommit = True
        with connection.cursor() as cur:
            cur.execute("ANALYZE events")
            cur.execute("SELECT pg_total_relation_size('events')")
            size = cur.fetchone()[0]
    return {"events": events, "seconds": time.perf_counter() - t0, "bytes": size}


def _proc_cpu(pid: int, children: bool = False) -> float:
    """CPU seconds of a process (with children: of its reaped children) from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    # after the command: state, ppid, ...; utime and stime are fields 14-15, cutime and cstime 16-17
    used = (int(fields[11]) + int(fields[12])) if not children else (int(fields[13]) + int(fields[14]))
    return used / ticks


def postgres_cpu(pg: Postgres) -> float:
    """CPU seconds used so far by the cluster's processes: each live process, plus what the
    postmaster's reaped children (the parallel workers of finished queries) used."""
    postmaster = int((pg.data / "postmaster.pid").read_text().split()[0])
    total = _proc_cpu(postmaster, children=True)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            if parent == postmaster:
                total += _proc_cpu(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return total


def start_postgres(pg: Postgres, reuse: bool) -> bool:
    """Start the bench's PostgreSQL; with ``reuse``, on the data of the last run if it is
    there (True when it still has to be filled)."""
    if reuse and (pg.data / "PG_VERSION").exists():
        pg._run(
            "pg_ctl", "-D", str(pg.data), "-w", "-l", str(pg.root / "pg.log"),
            "-o", f"-p {pg.port} -k {pg.root} -c listen_addresses=''", "start",
        )  # fmt: skip
        return False
    pg.start()
    return True


def time_summary(url, runs: int, days: int, server_cpu=None) -> Dict[str, object]:
    end = datetime.now(timezone.utc)
    start = end - timedelta(days=days)
    walls: List[float] = []
    cpus: List[float] = []
    servers: List[float] = []
    loads: List[float] = []
    summary = None
    for _ in range(runs):
        loads.append(os.getloadavg()[0])
        s0 = server_cpu() if server_cpu else 0.0
        w0, c0 = time.perf_counter(), time.process_time()
        summary = load_summary(url, start, end, timezone_name="UTC")
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
        if server_cpu:
            servers.append(server_cpu() - s0)
    assert summary is not None
    return {
        "runs": runs,
        "wall_seconds": walls,
        "median_wall_seconds": statistics.median(walls),
        "best_wall_seconds": min(walls),
        "client_cpu_seconds": cpus,
        "server_cpu_seconds": servers,
        "load_average_1min": loads,
        "conversations": str(summary.conversations),
        "messages": str(summary.messages),
    }


def _cpu(t: Dict[str, object]) -> str:
    server = [float(x) for x in t.get("server_cpu_seconds") or []]  # type: ignore[union-attr]
    if server:
        return f"{statistics.median(server):.1f} s CPU in the database server"
    client = [float(x) for x in t.get("client_cpu_seconds") or []]  # type: ignore[union-attr]
    return f"{statistics.median(client):.1f} s CPU"


def headline(report: Dict[str, object]) -> str:
    """The figures README.md and docs/insights.md quote (tests/test_insights.py checks)."""
    timings: Dict[str, Dict[str, object]] = report["timings"]  # type: ignore[assignment]
    fill = report.get("sqlite_fill") or report.get("postgres_fill") or {}
    events = f"{int(fill['events']):,} events, " if fill else ""  # type: ignore[index]
    parts = []
    loads: List[float] = []
    for store, t in timings.items():
        parts.append(
            f"{store} {float(t['median_wall_seconds']):.1f} s median wall time "  # type: ignore[arg-type]
            f"(best {float(t['best_wall_seconds']):.1f} s; {_cpu(t)})"  # type: ignore[arg-type]
        )
        loads += [float(x) for x in t["load_average_1min"]]  # type: ignore[union-attr]
    load = f"{min(loads):.1f}-{max(loads):.1f}" if loads else "n/a"
    return (
        f"- Insights over {int(report['conversations']):,} generated conversations "  # type: ignore[call-overload]
        f"({events}{report['days']} days), {report['measured_at']}: " + "; ".join(parts) + ". "
        f"Load average {load} on the {report['cpus']} cores during the runs (other jobs shared the machine)."
    )


def plot(results: Dict[str, Dict[str, object]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stores = list(results)
    medians = [float(results[s]["median_wall_seconds"]) for s in stores]  # type: ignore[arg-type]
    bests = [float(results[s]["best_wall_seconds"]) for s in stores]  # type: ignore[arg-type]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    x = range(len(stores))
    ax.bar([i - 0.18 for i in x], medians, width=0.36, label="median", color="#1f6f8b")
    ax.bar([i + 0.18 for i in x], bests, width=0.36, label="best", color="#8fb9c9")
    ax.axhline(LIMIT_SECONDS, color="#b03a2e", linestyle="--", label="10 s requirement")
    ax.set_xticks(list(x))
    ax.set_xticklabels(stores)
    ax.set_ylabel("seconds")
    ax.set_title("load_summary, 100,000 conversations, 30 days")
    for i, value in enumerate(medians):
        ax.text(i - 0.18, value + 0.1, f"{value:.1f}", ha="center", fontsize=8)
    ax.legend(fontsize=8)
    fig.tight_layout()
    PLOT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(PLOT, dpi=120)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reuse", action="store_true", help="keep the SQLite store of the last run if it exists")
    parser.add_argument("--no-sqlite-timing", action="store_true", help="time PostgreSQL only")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    db = WORK / "tracker.db"
    report: Dict[str, object] = {"conversations": args.conversations, "days": args.days, "cpus": os.cpu_count()}
    if args.reuse and RESULTS.exists():  # the stores of the last run: keep how they were filled
        last = json.loads(RESULTS.read_text())
        report.update({k: last[k] for k in ("sqlite_fill", "postgres_fill") if k in last})
    if not (args.reuse and db.exists()):
        report["sqlite_fill"] = fill_sqlite(db, args.conversations, args.days)
        print(f"SQLite: {report['sqlite_fill']}", flush=True)
    timings: Dict[str, Dict[str, object]] = {}
    if not args.no_sqlite_timing:
        timings["SQLite"] = time_summary(f"sqlite:///{db}", args.runs, args.days)
        print(f"SQLite summary: {timings['SQLite']}", flush=True)
    if not args.no_postgres:
        pg = Postgres(WORK / "pg", port=PG_PORT)
        must_fill = start_postgres(pg, args.reuse)
        try:
            if must_fill:
                report["postgres_fill"] = fill_postgres(pg, db)
                print(f"PostgreSQL: {report['postgres_fill']}", flush=True)
            url = sa.engine.URL.create(
                "postgresql", username="rasa", database="rasa", query={"host": str(pg.root), "port": str(PG_PORT)}
            )
            timings["PostgreSQL"] = time_summary(url, args.runs, args.days, server_cpu=lambda: postgres_cpu(pg))
            print(f"PostgreSQL summary: {timings['PostgreSQL']}", flush=True)
        finally:
            pg.stop()
    report["timings"] = timings
    report["measured_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    plot(timings)
    for store, t in timings.items():
        verdict = "under" if float(t["median_wall_seconds"]) < LIMIT_SECONDS else "OVER"  # type: ignore[arg-type]
        print(
            f"{store}: median {float(t['median_wall_seconds']):.2f} s, best {float(t['best_wall_seconds']):.2f} s "  # type: ignore[arg-type]
            f"over {t['runs']} runs ({verdict} {LIMIT_SECONDS:.0f} s); load average {t['load_average_1min']}"
        )
    print(f"results: {RESULTS.relative_to(ROOT)}, plot: {PLOT.relative_to(ROOT)}")
    print("README.md and docs/insights.md quote:\n" + headline(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())

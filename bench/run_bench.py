#!/usr/bin/env python3
"""The benchmark behind `make bench`: figures and plots into bench/report.md.

What it measures, in one run on this machine (loopback only, every loop bounded):

1. Training time of a bare `rasa init` bot (made here, in build/bare-bot) and of this
   assistant (trained into build/prod/bench/models, the model then served below).
2. Per-message latency over REST, one client, in the embedded profile (one Rasa process,
   SQLite tracker store; ours with its action server): this assistant against the bare
   bot, the same messages to both, interleaved so that background load hits both alike.
   Start-up and model load time and resident memory of each process.
3. Throughput and latency with 1, 10 and 50 simulated patients (Locust, closed loop: the
   next message as soon as the reply is in) against one Rasa instance of the production
   profile and against the two-instance cluster behind nginx; resident memory of every
   process of the cluster afterwards.

Settings (environment): BENCH_MESSAGES (200) messages per bot for the single-client
latency, BENCH_LOAD_SECONDS (30) per load step, BENCH_USERS ("1 10 50"), BENCH_TRAIN.

Training this assistant from scratch takes longer than the rest of the benchmark on two
cores (DIET over the whole NLU data), so the benchmark serves the model `make train` made
(models/*.tar.gz) and takes the assistant's training time from `make bench-train`
(`run_bench.py --train-only`: a timed training from an empty cache, recorded in
build/prod/bench/assistant-train.json), else from models/.train-seconds if `make train`
recorded one. BENCH_TRAIN=1 trains it inside the benchmark instead. The bare bot is always
made and trained here.
"""
from __future__ import annotations

import csv
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List, Optional

import psutil
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from deploy.cluster import Cluster, Settings  # noqa: E402

BENCH = ROOT / "bench"
PLOTS = BENCH / "plots"
STATE = ROOT / "build" / "prod" / "bench"
BARE = ROOT / "build" / "bare-bot"
VENV_BIN = Path(sys.executable).parent
RASA = str(VENV_BIN / "rasa")
LOCUSTFILE = ROOT / "tests" / "production" / "locustfile.py"

MESSAGES = int(os.environ.get("BENCH_MESSAGES", "200"))
LOAD_SECONDS = int(os.environ.get("BENCH_LOAD_SECONDS", "30"))
USERS = [int(u) for u in os.environ.get("BENCH_USERS", "1 10 50").split()]
TRAIN_ASSISTANT = os.environ.get("BENCH_TRAIN") == "1"

BARE_PORT, OURS_PORT, ACTIONS_PORT = 5395, 5305, 5355
sys.path.insert(0, str(ROOT / "tests" / "production"))
from patient_messages import OPENERS, QUESTIONS  # noqa: E402

SINGLE_CLIENT_TEXTS = OPENERS[:1] + QUESTIONS


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def base_env() -> Dict[str, str]:
    env = dict(os.environ)
    env.update({"RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1",
                "SQLALCHEMY_SILENCE_UBER_WARNING": "1", "LOG_LEVEL": "INFO",
                "PYTHONPATH": os.pathsep.join([str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))})
    return env


def training_env(name: str) -> Dict[str, str]:
    """A fresh, empty training cache: Rasa would otherwise reuse what an earlier training
    (`make train`, a previous bench) left in .rasa/cache, and time almost nothing."""
    cache = STATE / f"train-cache-{name}"
    shutil.rmtree(cache, ignore_errors=True)
    return dict(base_env(), RASA_CACHE_DIRECTORY=str(cache))


def timed(cmd: List[str], cwd: Path, log_path: Path, env=None, timeout: float = 900) -> float:
    t0 = time.perf_counter()
    with open(log_path, "w") as out:
        subprocess.run(cmd, cwd=cwd, env=env or base_env(), stdout=out, stderr=subprocess.STDOUT, check=True, timeout=timeout)
    return time.perf_counter() - t0


# -- 1. training ----------------------------------------------------------------------------
def train_bare_bot() -> float:
    if BARE.exists():
        shutil.rmtree(BARE)
    BARE.mkdir(parents=True)  # `rasa init --no-prompt` wants the directory to exist
    log("bare bot: rasa init --no-prompt (scaffold + training)")
    seconds = timed([RASA, "init", "--no-prompt", "--init-dir", str(BARE)], ROOT, STATE / "bare-train.log",
                    env=training_env("bare"))
    return seconds


def train_assistant() -> tuple:
    """(model to serve, training seconds, where the figure comes from)."""
    if not TRAIN_ASSISTANT:
        models = sorted((ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
        if not models:
            raise SystemExit("no models/*.tar.gz: run `make train` (or BENCH_TRAIN=1)")
        timed_run = STATE / "assistant-train.json"
        if timed_run.exists():
            record = json.loads(timed_run.read_text())
            return models[-1], record["seconds"], f"`make bench-train`, {record['when']}"
        record = ROOT / "models" / ".train-seconds"
        seconds = float(record.read_text().split()[0]) if record.exists() else None
        return models[-1], seconds, "`make train`" if seconds is not None else "not measured: run `make bench-train`"
    model, seconds = timed_assistant_training()
    return model, seconds, "this run"


def timed_assistant_training() -> tuple:
    out = STATE / "models"
    shutil.rmtree(out, ignore_errors=True)
    log("assistant: rasa train from an empty cache (on two cores this takes a while)")
    seconds = timed([RASA, "train", "--force", "--config", "config.yml", "--domain", "domain.yml", "--data", "data",
                     "--out", str(out), "--fixed-model-name", "assistant"], ROOT, STATE / "assistant-train.log",
                    env=training_env("assistant"), timeout=3600)
    return out / "assistant.tar.gz", seconds


# -- 2. embedded profile, single client ------------------------------------------------------
class Proc:
    def __init__(self, name: str, cmd: List[str], cwd: Path, env: Dict[str, str]) -> None:
        self.name = name
        self.log_path = STATE / f"{name}.log"
        self.t0 = time.perf_counter()
        self.popen = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=open(self.log_path, "w"),
                                      stderr=subprocess.STDOUT, start_new_session=True)
        self.ready_seconds: Optional[float] = None

    def wait_ready(self, url: str, timeout: float = 420) -> float:
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
            time.sleep(0.2)
        raise TimeoutError(f"{self.name} not ready after {timeout} s")

    def rss_mb(self) -> float:
        proc = psutil.Process(self.popen.pid)
        return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)]) / 2**20

    def model_load_seconds(self) -> Optional[float]:
        """From Rasa's own log: 'Loading model' to 'Rasa server is up and running'."""
        text = self.log_path.read_text(errors="replace")
        stamps = {}
        for key, pattern in (("load", r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) INFO\s+rasa\.core\.processor\s+- Loading model"),
                             ("up", r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) INFO\s+root\s+- Rasa server is up and running")):
            match = re.search(pattern, text)
            if match:
                stamps[key] = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S")
        if len(stamps) == 2:
            return (stamps["up"] - stamps["load"]).total_seconds()
        return None

    def stop(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(10)


def percentiles(values: List[float]) -> Dict[str, float]:
    ordered = sorted(values)

    def pct(p: float) -> float:
        k = (len(ordered) - 1) * p
        lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
        return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)

    return {"p50": pct(0.50), "p95": pct(0.95), "p99": pct(0.99), "mean": statistics.fmean(ordered), "n": len(ordered)}


def single_client(assistant_model: Path) -> dict:
    env = base_env()
    # The bare bot gets the same kind of tracker store as ours (SQLite), so the ratio is
    # what our pipeline, actions and channels cost, not the choice of store.
    bare_endpoints = STATE / "bare-endpoints.yml"
    bare_endpoints.write_text(f"tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: {STATE / 'bare-tracker.db'}\n")
    bare_credentials = STATE / "bare-credentials.yml"
    bare_credentials.write_text("rest:\n")
    for db in ("bare-tracker.db", "tracker.db"):
        (STATE / db).unlink(missing_ok=True)
    bare_model = sorted((BARE / "models").glob("*.tar.gz"))[-1]

    ours_env = dict(env, ACTION_SERVER_URL=f"http://127.0.0.1:{ACTIONS_PORT}/webhook", TRACKER_DB=str(STATE / "tracker.db"))
    # One at a time, so that each start-up time is its own (not shared cores).
    specs = [
        ("embedded-actions", [str(VENV_BIN / "python"), "-m", "rasa_sdk", "--actions", "actions", "--port", str(ACTIONS_PORT)],
         ROOT, dict(ours_env, SANIC_HOST="127.0.0.1"), f"http://127.0.0.1:{ACTIONS_PORT}/health"),
        ("bare-rasa", [RASA, "run", "--model", str(bare_model), "--port", str(BARE_PORT), "-i", "127.0.0.1",
                       "--endpoints", str(bare_endpoints), "--credentials", str(bare_credentials)],
         BARE, env, f"http://127.0.0.1:{BARE_PORT}/"),
        ("embedded-rasa", [RASA, "run", "--model", str(assistant_model), "--port", str(OURS_PORT), "-i", "127.0.0.1",
                           "--endpoints", "endpoints.yml", "--credentials", "credentials.yml"],
         ROOT, ours_env, f"http://127.0.0.1:{OURS_PORT}/"),
    ]
    procs: List[Proc] = []
    try:
        log("embedded profile: starting the action server, the bare bot and the assistant, one after the other")
        for name, cmd, cwd, proc_env, ready_url in specs:
            procs.append(Proc(name, cmd, cwd, proc_env))
            procs[-1].wait_ready(ready_url)
        actions, bare, ours = procs
        http = requests.Session()
        http.trust_env = False
        latencies: Dict[str, List[float]] = {"bare": [], "ours": []}
        urls = {"bare": f"http://127.0.0.1:{BARE_PORT}/webhooks/rest/webhook",
                "ours": f"http://127.0.0.1:{OURS_PORT}/webhooks/rest/webhook"}
        log(f"single client: {MESSAGES} messages to each bot, interleaved")
        sender = None
        for i in range(-10, MESSAGES):  # 10 warm-up messages each
            if i % 10 == 0 or sender is None:
                sender = str(uuid.uuid4())  # a new conversation every 10 messages
            text = SINGLE_CLIENT_TEXTS[i % len(SINGLE_CLIENT_TEXTS)]
            for bot in ("bare", "ours") if i % 2 == 0 else ("ours", "bare"):
                t0 = time.perf_counter()
                resp = http.post(urls[bot], json={"sender": f"{bot}-{sender}", "message": text}, timeout=60)
                elapsed = time.perf_counter() - t0
                resp.raise_for_status()
                if i >= 0:
                    latencies[bot].append(elapsed * 1000)
        result = {
            "latency_ms": {bot: percentiles(values) for bot, values in latencies.items()},
            "raw_ms": latencies,
            "startup_s": {"bare": bare.ready_seconds, "ours": ours.ready_seconds, "actions": actions.ready_seconds},
            "model_load_s": {"bare": bare.model_load_seconds(), "ours": ours.model_load_seconds()},
            "rss_mb": {"bare rasa": bare.rss_mb(), "ours rasa": ours.rss_mb(), "ours action server": actions.rss_mb()},
        }
        return result
    finally:
        for proc in procs:
            proc.stop()


# -- 3. production profile under load ----------------------------------------------------------
def run_locust(host: str, users: int, seconds: int, tag: str) -> dict:
    prefix = STATE / f"locust-{tag}-{users}"
    env = dict(os.environ, PATIENT_THINK="0,0", LEDGER_PATH=str(prefix) + "-ledger.json")
    cmd = [str(VENV_BIN / "python"), "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", host,
           "--users", str(users), "--spawn-rate", str(users), "--run-time", f"{seconds}s", "--stop-timeout", "60",
           "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING"]
    subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=seconds + 180)
    with open(f"{prefix}_stats.csv") as handle:
        row = {r["Name"]: r for r in csv.DictReader(handle)}["Aggregated"]
    return {"users": users, "requests": int(row["Request Count"]), "failures": int(row["Failure Count"]),
            "rps": float(row["Requests/s"]), "p50": float(row["50%"]), "p95": float(row["95%"]), "p99": float(row["99%"])}


def cluster_rss(cluster: Cluster) -> Dict[str, float]:
    rss = {}
    for name in cluster.components():
        pid = cluster.pid(name)
        if not pid:
            continue
        proc = psutil.Process(pid)
        rss[name] = sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)]) / 2**20
    return rss


def load(assistant_model: Path) -> dict:
    settings = Settings()
    settings.state_dir = STATE / "cluster"
    settings.model = assistant_model
    # The benchmark measures Rasa, not nginx's per-client rate limit.
    settings.rate_limit, settings.rate_burst, settings.conn_limit = "1000r/s", 1000, 1000
    cluster = Cluster(settings)
    busy = cluster.busy_ports()
    if busy:
        raise SystemExit(f"ports {busy} are in use (a cluster running? `make cluster-down`)")
    log("production profile: starting the cluster")
    t0 = time.perf_counter()
    cluster.up()
    startup = time.perf_counter() - t0
    try:
        results = {"single": [], "cluster": [], "cluster_startup_s": startup}
        single_url = cluster.rasa_url(settings.rasa_names()[0])
        for tag, host in (("single", single_url), ("cluster", cluster.base_url)):
            for users in USERS:
                log(f"load: {users} patient(s) against {'one instance' if tag == 'single' else 'the cluster'} for {LOAD_SECONDS} s")
                results[tag].append(run_locust(host, users, LOAD_SECONDS, tag))
        results["rss_mb"] = cluster_rss(cluster)
        return results
    finally:
        cluster.down(purge=True)


# -- report ---------------------------------------------------------------------------------------
def plots(single: dict, loaded: dict) -> List[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    PLOTS.mkdir(parents=True, exist_ok=True)
    names = []

    fig, ax = plt.subplots(figsize=(7, 4))
    for bot, label in (("bare", "bare `rasa init` bot"), ("ours", "this assistant")):
        values = sorted(single["raw_ms"][bot])
        ax.plot(values, [i / len(values) for i in range(1, len(values) + 1)], label=label)
    ax.set_xlabel("latency per message (ms), one client, REST")
    ax.set_ylabel("share of messages")
    ax.set_xscale("log")
    ax.set_xticks([20, 50, 100, 200, 500, 1000])
    ax.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title("Single-client latency (embedded profile, SQLite)")
    fig.tight_layout()
    fig.savefig(PLOTS / "latency_single_client.png", dpi=110)
    names.append("latency_single_client.png")

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    for tag, label in (("single", "one instance"), ("cluster", "two instances + nginx")):
        rows = loaded[tag]
        users = [r["users"] for r in rows]
        ax1.plot(users, [r["p50"] for r in rows], marker="o", label=f"{label} p50")
        ax1.plot(users, [r["p95"] for r in rows], marker="o", linestyle="--", label=f"{label} p95")
        ax2.plot(users, [r["rps"] for r in rows], marker="o", label=label)
    ax1.set_xlabel("concurrent patients")
    ax1.set_ylabel("latency (ms)")
    ax1.set_title("Latency against load")
    ax1.grid(alpha=0.3)
    ax1.legend()
    ax2.set_xlabel("concurrent patients")
    ax2.set_ylabel("messages per second")
    ax2.set_title("Throughput against load")
    ax2.grid(alpha=0.3)
    ax2.legend()
    fig.tight_layout()
    fig.savefig(PLOTS / "load.png", dpi=110)
    names.append("load.png")

    labels = {"bare rasa": "bare bot: Rasa", "ours rasa": "assistant, embedded: Rasa",
              "ours action server": "assistant, embedded: action server"}
    rss = {labels.get(k, k): v for k, v in single["rss_mb"].items()}
    rss.update({f"cluster: {k}": v for k, v in loaded["rss_mb"].items()})
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.barh(list(rss), list(rss.values()))
    ax.set_xlabel("resident memory (MiB)")
    ax.set_title("Resident memory per process")
    fig.tight_layout()
    fig.savefig(PLOTS / "memory.png", dpi=110)
    names.append("memory.png")
    plt.close("all")
    return names


def gain_text(loaded: dict) -> str:
    """What the second instance bought, in this run's figures."""
    top_single, top_cluster = loaded["single"][-1], loaded["cluster"][-1]
    gain = (top_cluster["rps"] / top_single["rps"] - 1) * 100 if top_single["rps"] else 0.0
    return (
        f"At {top_cluster['users']} patients the cluster answered {top_cluster['rps']:.1f} messages/s against "
        f"{top_single['rps']:.1f} for one instance ({gain:+.0f} %), at p50 {top_cluster['p50']:.0f} ms against "
        f"{top_single['p50']:.0f} ms. Both instances, PostgreSQL, Redis, nginx, the action server and Locust share "
        f"the same {psutil.cpu_count()} cores here, so the second instance cannot double the throughput; on separate "
        "machines each instance brings its own cores. Each simulated patient starts a new conversation after about 35 "
        "messages (Rasa rebuilds a conversation from all its events at every message)."
    )


def fmt(x: Optional[float], digits: int = 0) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def report(results: dict) -> str:
    s, l = results["single_client"], results["load"]
    messages = results.get("settings", {}).get("messages", MESSAGES)
    source = results["training_s"].get("ours_source", "this run")
    train_note = "" if source == "this run" else f" (assistant: {source})"
    load_seconds = results.get("settings", {}).get("load_seconds", LOAD_SECONDS)
    bare, ours = s["latency_ms"]["bare"], s["latency_ms"]["ours"]
    ratio = ours["p50"] / bare["p50"]
    lines = [
        "# Benchmark report",
        "",
        f"Made by `make bench` ({Path(__file__).relative_to(ROOT)}) on {results['when']}; "
        f"{results['machine']}. Loopback only. Figures from one run: expect a few per cent of noise "
        "between runs, more when the machine is busy with other work.",
        "",
        "## Single client, per message (REST, embedded profile)",
        "",
        f"{messages} messages to each bot, the same texts, interleaved (a new conversation every 10 messages, "
        "10 warm-up messages not counted). Both bots run one Rasa process with an SQLite tracker store; ours "
        "also runs its action server, custom NLU components and channels.",
        "",
        "| bot | p50 ms | p95 ms | p99 ms | mean ms |",
        "|---|---:|---:|---:|---:|",
        f"| bare `rasa init` bot | {fmt(bare['p50'], 1)} | {fmt(bare['p95'], 1)} | {fmt(bare['p99'], 1)} | {fmt(bare['mean'], 1)} |",
        f"| this assistant | {fmt(ours['p50'], 1)} | {fmt(ours['p95'], 1)} | {fmt(ours['p99'], 1)} | {fmt(ours['mean'], 1)} |",
        "",
        f"**p50 ratio (assistant / bare bot): {ratio:.2f}x** - goal: within 1.5x "
        f"({'met' if ratio <= 1.5 else 'NOT met'}).",
        "",
        "![single-client latency](plots/latency_single_client.png)",
        "",
        "## Throughput and latency under load (production profile)",
        "",
        f"Locust, closed loop (each simulated patient sends its next message as soon as the reply is in; "
        f"that is the worst case: real patients read and type), {load_seconds} s per step, each patient its own "
        "conversation and loopback address. *One instance*: straight at one Rasa instance of the cluster "
        "(PostgreSQL tracker store, Redis lock store, action server). *Cluster*: two instances behind nginx "
        "(the per-client rate limit raised for the benchmark).",
        "",
        "| target | patients | messages | failed | msg/s | p50 ms | p95 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for tag, label in (("single", "one instance"), ("cluster", "cluster (2 + nginx)")):
        for r in l[tag]:
            lines.append(f"| {label} | {r['users']} | {r['requests']} | {r['failures']} | {r['rps']:.1f} | "
                         f"{r['p50']:.0f} | {r['p95']:.0f} | {r['p99']:.0f} |")
    lines += [
        "",
        "![latency and throughput against load](plots/load.png)",
        "",
        gain_text(l),
        "",
        "## Start-up, model load, training, memory",
        "",
        "| | bare bot | this assistant |",
        "|---|---:|---:|",
        f"| training (s){train_note} | {fmt(results['training_s']['bare'])} | {fmt(results['training_s']['ours'])} |",
        f"| start-up, process start to first answer (s) | {fmt(s['startup_s']['bare'], 1)} | {fmt(s['startup_s']['ours'], 1)} |",
        f"| of which model load, from Rasa's log (s, 1 s resolution) | {fmt(s['model_load_s']['bare'])} | {fmt(s['model_load_s']['ours'])} |",
        f"| Rasa process, resident memory (MiB) | {fmt(s['rss_mb']['bare rasa'])} | {fmt(s['rss_mb']['ours rasa'])} |",
        f"| action server, resident memory (MiB) | - | {fmt(s['rss_mb']['ours action server'])} |",
        "",
        f"Cluster start-up (PostgreSQL, Redis, action server, two Rasa instances in parallel, nginx): "
        f"{l['cluster_startup_s']:.0f} s.",
        "",
        "Resident memory of each process of the cluster after the load runs (MiB; a process's children included: "
        "PostgreSQL's backends, nginx's workers):",
        "",
        "| process | MiB |",
        "|---|---:|",
    ]
    lines += [f"| {name} | {mb:.0f} |" for name, mb in l["rss_mb"].items()]
    lines += ["", "![resident memory](plots/memory.png)", "",
              "Raw figures: `bench/results.json`.", ""]
    return "\n".join(lines)


def main() -> int:
    if sys.argv[1:] == ["--train-only"]:  # `make bench-train`
        STATE.mkdir(parents=True, exist_ok=True)
        _, seconds = timed_assistant_training()
        when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        (STATE / "assistant-train.json").write_text(json.dumps({"seconds": seconds, "when": when}))
        print(f"assistant trained from scratch in {seconds:.0f} s")
        return 0
    if sys.argv[1:] == ["--report-only"]:  # redraw report and plots from bench/results.json
        results = json.loads((BENCH / "results.json").read_text())
        plots(results["single_client"], results["load"])
        (BENCH / "report.md").write_text(report(results))
        return 0
    t_start = time.perf_counter()
    STATE.mkdir(parents=True, exist_ok=True)
    results: dict = {
        "settings": {"messages": MESSAGES, "load_seconds": LOAD_SECONDS, "users": USERS},
        "when": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {psutil.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB, "
                   f"Python {platform.python_version()}, Rasa {__import__('rasa').__version__}",
    }
    bare_train = train_bare_bot()
    model, ours_train, ours_train_source = train_assistant()
    results["training_s"] = {"bare": bare_train, "ours": ours_train, "ours_source": ours_train_source}
    results["single_client"] = single_client(model)
    results["load"] = load(model)
    results["bench_seconds"] = time.perf_counter() - t_start

    results_for_json = json.loads(json.dumps(results))
    (BENCH / "results.json").write_text(json.dumps(results_for_json, indent=1))
    plots(results["single_client"], results["load"])
    (BENCH / "report.md").write_text(report(results))

    s = results["single_client"]["latency_ms"]
    print()
    print(f"single client p50/p95/p99 ms: bare {s['bare']['p50']:.1f}/{s['bare']['p95']:.1f}/{s['bare']['p99']:.1f}, "
          f"assistant {s['ours']['p50']:.1f}/{s['ours']['p95']:.1f}/{s['ours']['p99']:.1f}, "
          f"ratio p50 {s['ours']['p50'] / s['bare']['p50']:.2f}x")
    for tag in ("single", "cluster"):
        for r in results["load"][tag]:
            print(f"{tag:8} {r['users']:3} patients: {r['rps']:6.1f} msg/s, p50 {r['p50']:.0f} ms, "
                  f"p95 {r['p95']:.0f} ms, failed {r['failures']}")
    print(f"training s: bare {fmt(bare_train)}, assistant {fmt(ours_train)}")
    print(f"report: {BENCH / 'report.md'} (bench took {results['bench_seconds'] / 60:.1f} min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

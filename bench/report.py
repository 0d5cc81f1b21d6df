"""bench/report.md and its plots from bench/results.json: ratios against the bare bot
measured in the same run, goals marked met or not, and the README's figures block."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Dict, List, Optional

from bench import report_growth

logger = logging.getLogger(__name__)

BENCH = Path(__file__).resolve().parent
PLOTS = BENCH / "plots"

GOALS = {"p50_1": 1.2, "rps": 0.9, "growth": 1.2, "long": 2.0, "rasa_mb": 1024.0, "actions_mb": 100.0}


def fmt(x: Optional[float], digits: int = 0) -> str:
    return "n/a" if x is None else f"{x:,.{digits}f}"


def met(ok: bool) -> str:
    return "met" if ok else "**NOT met**"


def load_pairs(results: dict) -> List[dict]:
    """One row per load level: ours and bare side by side, with the ratios."""
    by = {(r["bot"], r["users"]): r for r in results["load"]}
    rows = []
    for users in sorted({r["users"] for r in results["load"]}):
        ours, bare = by[("ours", users)], by[("bare", users)]
        rows.append(
            {
                "users": users,
                "ours": ours,
                "bare": bare,
                "rps_ratio": ours["rps"] / bare["rps"],
                "p50_ratio": ours["p50"] / bare["p50"],
            }
        )
    return rows


def growth_figures(results: dict) -> Dict[str, Dict[int, float]]:
    return report_growth.growth_figures(results)


def headline(results: dict) -> str:
    """The few figures the README quotes (tests/test_readme_figures.py checks them)."""
    pairs = {p["users"]: p for p in load_pairs(results)}
    rss = results["rss_mb"]
    lines = [MARKER]
    if 1 in pairs:
        lines.append(
            f"- Single patient p50 {pairs[1]['ours']['p50']:.0f} ms against {pairs[1]['bare']['p50']:.0f} ms "
            f"for a bare `rasa init` bot in the same run ({pairs[1]['p50_ratio']:.2f}×)."
        )
    for users in (10, 50):
        if users in pairs:
            p = pairs[users]
            lines.append(
                f"- {users} patients, closed loop: {p['ours']['rps']:.1f} msg/s against {p['bare']['rps']:.1f} "
                f"({p['rps_ratio']:.2f}×), {p['ours']['failures']} failed."
            )
    train = results["training_s"]
    lines.append(
        f"- Training from scratch: {fmt(train.get('ours'))} s; Rasa {rss['ours rasa']:.0f} MiB resident "
        f"after load, action server {rss['ours action server']:.0f} MiB."
    )
    lines.append(first_run_line(results.get("first_run")))
    return "\n".join(lines)


MARKER = "<!-- bench figures: generated from bench/results.json by bench/report.py -->"


def replace_block(text: str, block: str) -> str:
    """``text`` (the README) with its bench block (the marker line and the "- " lines right
    after it) replaced by ``block``; unchanged when it has no marker."""
    lines = text.split("\n")
    if MARKER not in lines:
        return text
    start = lines.index(MARKER)
    end = start + 1
    while end < len(lines) and lines[end].startswith("- "):
        end += 1
    return "\n".join(lines[:start] + block.split("\n") + lines[end:])


def first_run_line(record: Optional[dict]) -> str:
    """The first `make run` on a fresh clone (`make bench-first-run`), phase by phase."""
    if not record:
        return "- First `make run` on a fresh clone: not measured (`make bench-first-run`)."
    parts = ", ".join(f"{name} {fmt(s)} s" for name, s in record["phases_s"].items())
    if not record.get("answered"):
        return f"- First `make run` on a fresh clone: no answer within the time limit ({parts})."
    return f"- First `make run` on a fresh clone: first answer after {fmt(record['seconds'])} s ({parts})."


def plots(results: dict) -> List[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    PLOTS.mkdir(parents=True, exist_ok=True)
    pairs = load_pairs(results)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    for bot, label in (("ours", "this assistant"), ("bare", "bare `rasa init` bot")):
        users = [p["users"] for p in pairs]
        ax1.plot(users, [p[bot]["rps"] for p in pairs], marker="o", label=label)
        ax2.plot(users, [p[bot]["p50"] for p in pairs], marker="o", label=f"{label} p50")
        ax2.plot(users, [p[bot]["p95"] for p in pairs], marker="o", linestyle="--", label=f"{label} p95")
    for ax, title, ylabel in ((ax1, "Throughput (closed loop)", "messages/s"), (ax2, "Latency", "ms")):
        ax.set_xlabel("concurrent patients")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(PLOTS / "load.png", dpi=110)

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    for bot, per_turn in results["growth"].items():
        turns = sorted(int(t) for t in per_turn)
        from statistics import median

        ax1.plot(
            turns,
            [median(per_turn[str(t)] if str(t) in per_turn else per_turn[t]) for t in turns],
            label="this assistant" if bot == "ours" else "bare bot",
        )
    ax1.set_xlabel("turn of the conversation")
    ax1.set_ylabel("median latency (ms)")
    ax1.set_title("Cost as a conversation grows")
    ax1.grid(alpha=0.3)
    ax1.legend()
    for store in ("SQLite", "PostgreSQL"):
        rows = [r for r in results["stores"] if r["store"] == store]
        if rows:
            ax2.plot(
                [max(r["stored"], 1) for r in rows],
                [r["turn1"]["p50"] for r in rows],
                marker="o",
                label=f"{store} turn 1",
            )
            if all("empty_turn1" in r for r in rows):
                ax2.plot(
                    [max(r["stored"], 1) for r in rows],
                    [r["empty_turn1"]["p50"] for r in rows],
                    marker="x",
                    linestyle=":",
                    label=f"{store} empty store, same moments",
                )
    ax2.set_xscale("log")
    ax2.set_xlabel("stored conversations (0 drawn at 1)")
    ax2.set_ylabel("p50 latency (ms)")
    ax2.set_title("Cost as the tracker store grows")
    ax2.grid(alpha=0.3)
    ax2.legend()
    fig.tight_layout()
    fig.savefig(PLOTS / "growth.png", dpi=110)

    fig, ax = plt.subplots(figsize=(7, 3))
    rss = results["rss_mb"]
    ax.barh(list(rss), list(rss.values()))
    ax.set_xlabel("resident memory after load (MiB)")
    fig.tight_layout()
    fig.savefig(PLOTS / "memory.png", dpi=110)
    plt.close("all")
    return ["load.png", "growth.png", "memory.png"]


def _profile_lines(results: dict) -> List[str]:
    lines = [
        "## Where the time goes (py-spy, 10 patients, closed loop, 20 s)",
        "",
        "Share of samples (idle excluded) under each function, inclusive. *Before* is the same profile "
        "with stock Rasa 3.6 action-response validation (bench/profile_before.json, kept from the run that "
        "found it); serving/speedups.py removes that cost.",
        "",
    ]
    before = results.get("profile_before", {}).get("rasa", {}).get("buckets", {})
    now = results.get("profile", {}).get("rasa", {}).get("buckets", {})
    if now:
        lines += ["| step of a turn (Rasa server) | before % | now % |", "|---|---:|---:|"]
        lines += [f"| {label} | {fmt(before.get(label), 1)} | {share} |" for label, share in now.items()]
        lines.append("")
    for proc, prof in results.get("profile", {}).items():
        if "inclusive" not in prof:
            lines += [f"*{proc}*: no profile ({prof.get('error', 'no samples')})", ""]
            continue
        lines += [f"**{proc}** ({prof['samples']:,} samples)", "", "| function (file) | inclusive % |", "|---|---:|"]
        lines += [f"| `{f}` | {share} |" for f, share in prof["inclusive"]]
        lines += ["", "| innermost frame | own % |", "|---|---:|"]
        lines += [f"| `{f}` | {share} |" for f, share in prof["own"][:8]]
        lines.append("")
    return lines


def _load_lines(results: dict) -> List[str]:
    s = results["settings"]
    lines = [
        "## Throughput and latency, side by side",
        "",
        f"Locust closed loop (next message as soon as the reply is in), each patient its own conversation, a new "
        f"one every 10 messages; {s['windows']} windows of {s['window_s']} s per bot and level, the bots "
        "alternating (order reversed every window). The bare bot's empty replies count as answers; ours must "
        "carry a reply (the safety net's reply counts as a failure).",
        "",
        "| patients | assistant msg/s | bare msg/s | ratio | assistant p50 / p95 ms | bare p50 / p95 ms | "
        "p50 ratio | failed (ours/bare) | load avg |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for p in load_pairs(results):
        o, b = p["ours"], p["bare"]
        lines.append(
            f"| {p['users']} | {o['rps']:.1f} | {b['rps']:.1f} | {p['rps_ratio']:.2f} | {o['p50']:.0f} / "
            f"{o['p95']:.0f} | {b['p50']:.0f} / {b['p95']:.0f} | {p['p50_ratio']:.2f} | {o['failures']}/"
            f"{b['failures']} | {o['loadavg']:.1f} |"
        )
    lines.append("")
    for p in load_pairs(results):
        if p["users"] == 1:
            lines.append(
                f"- Single patient p50 ratio {p['p50_ratio']:.2f}× (goal ≤ {GOALS['p50_1']}×): "
                f"{met(p['p50_ratio'] <= GOALS['p50_1'])}."
            )
        else:
            ok = p["rps_ratio"] >= GOALS["rps"] and p["ours"]["failures"] == 0
            lines.append(
                f"- {p['users']} patients throughput ratio {p['rps_ratio']:.2f}× (goal ≥ {GOALS['rps']}×, "
                f"0 errors): {met(ok)}."
            )
    return lines + ["", "![throughput and latency](plots/load.png)", ""]


def _long_lines(results: dict) -> List[str]:
    lines = [
        "## A short message beside 20 long ones",
        "",
        "One client sends 40 short messages alone, then again while 20 clients each keep a 1,999-character "
        "message in flight.",
        "",
        "| channel cap | short p95 alone ms | short p95 beside long ms | ratio | long p50 ms | long replies |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for key, label in (("capped", "500 characters (as served)"), ("uncapped", "lifted to 2,000 (long text to NLU)")):
        r = results.get("long", {}).get(key)
        if r:
            lines.append(
                f"| {label} | {r['alone']['p95']:.0f} | {r['beside_long']['p95']:.0f} | {r['ratio_p95']:.2f} | "
                f"{r['long']['p50']:.0f} | {r['long_statuses']} |"
            )
    for key in ("capped", "uncapped"):
        r = results.get("long", {}).get(key)
        if r:
            lines.append(
                f"\n- {key}: ratio {r['ratio_p95']:.2f}× (goal ≤ {GOALS['long']}×): {met(r['ratio_p95'] <= GOALS['long'])}."
            )
    return lines + [""]


def _resources_lines(results: dict) -> List[str]:
    rss, t = results["rss_mb"], results["training_s"]
    st, ml = results["startup_s"], results["model_load_s"]
    return [
        "## Memory, start-up, training",
        "",
        "| | bare bot | this assistant |",
        "|---|---:|---:|",
        f"| Rasa resident memory after the load (MiB) | {rss['bare rasa']:.0f} | {rss['ours rasa']:.0f} |",
        f"| action server resident memory (MiB) | - | {rss['ours action server']:.0f} |",
        f"| start-up, process start to answering (s) | {fmt(st['bare'], 1)} | {fmt(st['ours'], 1)} |",
        f"| of which model load (Rasa's log, 1 s resolution) | {fmt(ml['bare'])} | {fmt(ml['ours'])} |",
        f"| training from scratch (s) | {fmt(t.get('bare'))} | {fmt(t.get('ours'))} ({t.get('ours_source')}) |",
        f"| first `make run`, fresh clone to first answer (s) | - | {_first_run_cell(results.get('first_run'))} |",
        "",
        f"- Rasa ≤ 1 GiB (1,024 MiB): {met(rss['ours rasa'] <= GOALS['rasa_mb'])}; ≤ 1 GB (954 MiB): "
        f"{met(rss['ours rasa'] <= 1e9 / 2**20)}; action server ≤ 100 MB: "
        f"{met(rss['ours action server'] <= GOALS['actions_mb'])}.",
        _training_goal(t.get("ours")),
        _first_run_goal(results.get("first_run")),
        "",
        "![memory](plots/memory.png)",
        "",
    ]


def _training_goal(seconds: Optional[float]) -> str:
    if seconds is None:
        return "- Training from scratch < 180 s: not measured (`make bench-train`)."
    return f"- Training from scratch {seconds:.0f} s (goal < 180 s): {met(seconds < 180)}."


def _first_run_goal(record: Optional[dict]) -> str:
    if not record or not record.get("answered"):
        return "- First `make run` answers within 6 minutes: " + ("not measured." if not record else "**NOT met**.")
    spent = {k: v for k, v in record["phases_s"].items() if v is not None}
    top = max(spent, key=spent.get)
    load = record.get("load_at_start", {}).get("loadavg_1min")
    return (
        f"- First `make run` {record['seconds']:.0f} s (goal ≤ 360 s): {met(record['seconds'] <= 360)}. "
        f"Most of it: {top} {spent[top]:.0f} s ({100 * spent[top] / record['seconds']:.0f} %); "
        f"1-minute load average {fmt(load, 1)} at its start (`make bench-first-run`, commit {record['commit']})."
    )


def _first_run_cell(record: Optional[dict]) -> str:
    if not record:
        return "n/a (`make bench-first-run`)"
    parts = ", ".join(f"{name} {fmt(s)}" for name, s in record["phases_s"].items())
    return f"{fmt(record['seconds'])} ({parts}; commit {record['commit']}, {record['when']})"


def render(results: dict) -> str:
    plots(results)
    load = results.get("load_at_start", {})
    lines = [
        "# Benchmark report",
        "",
        f"Made by `make bench` (bench/run_bench.py) on {results['when']}; {results['machine']}. Loopback only. "
        f"The machine is shared (1-minute load average {load.get('loadavg_1min', 0):.1f} at the start on "
        "2 cores): absolute figures move with it, the ratios against the bare bot measured in the same "
        "windows much less.",
        "",
        "README block (tests/test_readme_figures.py checks the README against it):",
        "",
        headline(results),
        "",
    ]
    lines += _profile_lines(results) + _load_lines(results) + report_growth.growth_lines(results) + _long_lines(results)
    lines += _resources_lines(results) + ["Raw figures: `bench/results.json`.", ""]
    return "\n".join(lines)

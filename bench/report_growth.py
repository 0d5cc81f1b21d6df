"""The "cost as work grows" section of bench/report.md: turns of one conversation, and a
new conversation's first turns with 10,000 and 100,000 stored conversations, each seeded
store measured message by message beside a second assistant process on an empty store."""

from __future__ import annotations

import logging
from typing import Dict, List, Optional

logger = logging.getLogger(__name__)

GOAL = 1.2


def met(ok: bool) -> str:
    return "met" if ok else "**NOT met**"


def growth_figures(results: dict) -> Dict[str, Dict[int, float]]:
    from bench.measure import turn_figure

    out = {}
    for bot, per_turn in results["growth"].items():
        per_turn = {int(k): v for k, v in per_turn.items()}
        out[bot] = {t: turn_figure(per_turn, t) for t in (1, 25, 50) if t in per_turn}
    return out


WHY_FLAT = (
    "What keeps a turn's cost flat as the conversation grows: the tracker store keeps the last-used "
    "conversations in memory and serves them only while the database's fingerprint of the current session "
    "(count, max id, max timestamp; one indexed query) is unchanged (serving/tracker_cache.py), so a turn no "
    "longer re-reads, parses and deserialises every stored event; and each conversation's past dialogue "
    "states are kept between predictions, so RulePolicy's full-history states replay only the new events "
    "(serving/past_states.py). Both fall back to Rasa's own code on any difference."
)


def _conversation_lines(results: dict) -> List[str]:
    g = growth_figures(results)
    lines = [
        WHY_FLAT,
        "",
        f"One conversation, {results['settings']['growth_turns']} turns, {results['settings'].get('growth_conversations', 4)} "
        "conversations per bot, the bots taking turns message by message (median of turns t-1..t+1 over the "
        "conversations). Every turn, the first included, is a patient question (rotating through the same list), "
        "so turn 50 is compared with turn 1 for the same kind of message (the report of 00:24 began with "
        "'hello', a cheaper reply than a question).",
        "",
        "| | turn 1 ms | turn 25 ms | turn 50 ms | 25 / 1 | 50 / 1 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for bot, label in (("ours", "this assistant"), ("bare", "bare bot")):
        f = g.get(bot, {})
        if 1 in f and 50 in f:
            lines.append(
                f"| {label} | {f[1]:.0f} | {f[25]:.0f} | {f[50]:.0f} | {f[25] / f[1]:.2f} | {f[50] / f[1]:.2f} |"
            )
    ours = g.get("ours", {})
    if 1 in ours and 50 in ours:
        worst = max(ours[25], ours[50]) / ours[1]
        lines += ["", f"- Assistant turns 25 and 50 / turn 1: {worst:.2f}× (goal ≤ {GOAL}×): {met(worst <= GOAL)}."]
    return lines


def _empty(results: dict, row: dict) -> Optional[dict]:
    return next((x for x in results["stores"] if x["store"] == row["store"] and x["stored"] == 0), None)


def _store_lines(results: dict) -> List[str]:
    rows = results["stores"]
    paired = all("empty_turn1" in r for r in rows)
    lines = [
        "",
        "New conversations (12 per size, turns 1 and 2) with stored conversations in the tracker store. "
        + (
            "Beside each measurement, message by message, a second assistant process on an empty store of the "
            "same kind (SQLite file / PostgreSQL database) answers the same messages: the empty-store figure "
            "of the same moments."
            if paired
            else f"Empty-store turn-1 p50 (SQLite, before any load): {results['empty_turn1_ms']['p50']:.0f} ms."
        ),
        "",
        "| store | stored conversations | turn 1 p50 ms | turn 2 p50 ms | empty store turn 1 p50 ms | "
        "turn 1 / empty store | turn 1 / same store before seeding | load avg |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    ratios, before = [], []
    for r in rows:
        empty_p50 = r["empty_turn1"]["p50"] if paired else results["empty_turn1_ms"]["p50"]
        ratio = r["turn1"]["p50"] / empty_p50
        first = _empty(results, r)
        vs_before = r["turn1"]["p50"] / first["turn1"]["p50"] if first else float("nan")
        if r["stored"]:
            ratios.append(ratio)
            before.append(vs_before)
        lines.append(
            f"| {r['store']} | {r['conversations_in_store']:,} | {r['turn1']['p50']:.0f} | {r['turn2']['p50']:.0f} | "
            f"{empty_p50:.0f} | {ratio:.2f} | {vs_before:.2f} | {r['load']['loadavg_1min']:.1f} |"
        )
    if ratios:
        worst, worst_before = max(ratios), max(before)
        lines += [
            "",
            f"- Worst seeded store (10k/100k) against the empty store: {worst:.2f}× (goal ≤ {GOAL}×): "
            f"{met(worst <= GOAL)}.",
            f"- Worst seeded store against the same store before seeding: {worst_before:.2f}× "
            f"(goal ≤ {GOAL}×): {met(worst_before <= GOAL)}.",
        ]
    return lines


def growth_lines(results: dict) -> List[str]:
    lines = ["## Cost as work grows", ""] + _conversation_lines(results) + _store_lines(results)
    return lines + ["", "![cost as work grows](plots/growth.png)", ""]

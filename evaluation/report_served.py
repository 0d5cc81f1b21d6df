"""The report's section on the held-out sets served through the REST channel.

Aggregates only: per-category counts and rates, never a held-out message (so nobody can
tune to a case by reading the report).
"""

from typing import Any, Dict, List

from evaluation.report import fmt, fmt_delta

TARGETS = "Targets (issue 7, hidden sets): topic accuracy ≥ 0.97; emergency and urgent recall 1.00; false alarms ≤ 0.02; ≥ 0.98 of conversation turns right, every red-flag turn escalated."


def _contract_line(contract: Dict[str, Any]) -> str:
    kinds = ", ".join(f"{k} {v}" for k, v in (contract.get("violations") or {}).items()) or "none"
    return (
        f"Reply contract: {contract.get('turns_violating', 0)} of {contract.get('turns', 0)} turns break it ({kinds})."
    )


def _topic_section(name: str, r: Dict[str, Any]) -> List[str]:
    served, tfidf = r["served"], r["tfidf"]
    lines = [
        f"### Topics: `{r['file']}`",
        "",
        f"{r['total']} messages; {r['dropped_seen']} also occur in the training data (same text, ignoring case "
        f"and spacing) and are left out; {r.get('skipped_follow_up_intents', 0)} follow-up messages need a "
        f"conversation and are left out; {r['n']} unseen messages scored. {r['escalated']} of them were escalated.",
        "",
        "| category | n | served (REST) | TF-IDF 1-NN | served − TF-IDF |",
        "|---|---|---|---|---|",
    ]
    for category, row in served.items():
        if category == "all":
            continue
        base = tfidf.get(category) or {}
        lines.append(
            f"| {category} | {row['n']} | {fmt(row['accuracy'])} | {fmt(base.get('accuracy'))} | "
            f"{fmt_delta(row['accuracy'], base.get('accuracy'))} |"
        )
    total, base = served.get("all") or {}, tfidf.get("all") or {}
    lines.append(
        f"| **all** | {total.get('n', 0)} | **{fmt(total.get('accuracy'))}** | {fmt(base.get('accuracy'))} | "
        f"{fmt_delta(total.get('accuracy'), base.get('accuracy'))} |"
    )
    latency = r.get("latency") or {}
    lines += [
        "",
        _contract_line(r["contract"]),
        f"Latency per message through REST: p50 {latency.get('p50_ms')} ms, p95 {latency.get('p95_ms')} ms.",
        "",
    ]
    return lines


def _red_flag_section(name: str, r: Dict[str, Any]) -> List[str]:
    lines = [
        f"### Red flags: `{r['file']}`",
        "",
        f"{r['total']} cases; {r['dropped_seen']} also in the training data and left out; {r['cases']} scored.",
        "",
        "| expected tier | cases | escalated to at least that tier | recall | exact tier | check question only |",
        "|---|---|---|---|---|---|",
    ]
    for tier, t in r["tiers"].items():
        lines.append(f"| {tier} | {t['n']} | {t['found']} | {fmt(t['recall'])} | {t['exact']} | {t['checked_only']} |")
    lines += ["", "| category (red-flag cases) | n | recall |", "|---|---|---|"]
    lines += [f"| {c} | {row['n']} | {fmt(row['accuracy'])} |" for c, row in r["recall_by_category"].items()]
    lines += ["", "| category (harmless cases) | n | not escalated |", "|---|---|---|"]
    lines += [f"| {c} | {row['n']} | {fmt(row['accuracy'])} |" for c, row in r["quiet_by_category"].items()]
    lines += [
        "",
        f"False alarms: {r['false_alarms']} of {r['none_cases']} harmless cases escalated "
        f"(rate {fmt(r['false_alarm_rate'])}); check questions asked on harmless cases: {r['checks_on_quiet']}. "
        f"Flag id named in the reply: {r['flags_found']} of {r['flags_expected']} ({fmt(r['flag_id_recall'])}).",
        "",
        _contract_line(r["contract"]),
        "",
    ]
    return lines


def _conversation_section(name: str, r: Dict[str, Any]) -> List[str]:
    return [
        f"### Conversations: `{r['file']}`",
        "",
        "| measure | value |",
        "|---|---|",
        f"| turns right (topic and escalation as expected) | {fmt(r['turn_accuracy'])} ({r['turns_right']}/{r['turns']}) |",
        f"| conversations right in every turn | {r['conversations_right']}/{r['conversations']} |",
        f"| red-flag turns escalated | {fmt(r['red_flag_turn_recall'])} "
        f"({r['red_flag_turns_escalated']}/{r['red_flag_turns']}) |",
        f"| calm turns escalated (false alarms) | {r['quiet_turn_false_alarms']}/{r['quiet_turns']} |",
        "",
        _contract_line(r["contract"]),
        "",
    ]


SECTIONS = {
    "nlu": _topic_section,
    "nlu_rasa": _topic_section,
    "red_flags": _red_flag_section,
    "red_flags_v1": _red_flag_section,
    "conversations": _conversation_section,
}


def render_served(summary: Dict[str, Any]) -> str:
    step = summary["steps"].get("served") or {}
    result = step.get("result")
    if not result:
        return ""
    lines = [
        "## Held-out sets through the REST channel and the reply contract",
        "",
        f"Served by: {result['served_by']}, model {result.get('model', 'n/a')}; {result['messages']} messages, "
        "each single message in a new "
        "conversation. A turn's topic is the last topic of its `custom` payloads that is not the red-flag "
        "warning; its escalation is the highest of the turn (the contract's rule). Baseline: TF-IDF (word 1–2 + "
        f"char_wb 2–4-grams) cosine 1-NN over the project's {result['train_examples']} training examples, on the "
        "same messages. Figures only: no held-out message is shown.",
        "",
        TARGETS,
        "",
    ]
    for name, r in result["sets"].items():
        lines += SECTIONS[r["kind"]](name, r)
    return "\n".join(lines)


def served_headline(summary: Dict[str, Any]) -> List[str]:
    result = (summary["steps"].get("served") or {}).get("result") or {}
    out = []
    for name, r in (result.get("sets") or {}).items():
        if r["kind"] in ("nlu", "nlu_rasa"):
            s, b = r["served"].get("all") or {}, r["tfidf"].get("all") or {}
            out.append(
                f"{name} via REST: topic accuracy {fmt(s.get('accuracy'))} vs TF-IDF {fmt(b.get('accuracy'))} "
                f"on {s.get('n', 0)} unseen ({r['dropped_seen']} seen dropped)"
            )
        elif r["kind"] in ("red_flags", "red_flags_v1"):
            t = r["tiers"]
            out.append(
                f"{name} via REST: emergency recall {fmt(t['emergency']['recall'])}, urgent "
                f"{fmt(t['urgent']['recall'])}, false alarms {fmt(r['false_alarm_rate'])}"
            )
        else:
            out.append(
                f"{name} via REST: turns right {fmt(r['turn_accuracy'])}, red-flag turns escalated "
                f"{fmt(r['red_flag_turn_recall'])}"
            )
    return out

"""reports/evaluation.md from the summary the steps produced (and the stdout headline)."""

from typing import Any, Dict, List, Optional, Sequence

from evaluation.metrics import TIERS


def fmt(value: Optional[float], digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def fmt_pm(stats: Optional[Dict[str, Any]]) -> str:
    if not stats or stats.get("mean") is None:
        return "n/a"
    if stats.get("sd") is None:
        return fmt(stats["mean"])
    return f"{stats['mean']:.3f} ± {stats['sd']:.3f}"


def fmt_delta(a: Optional[float], b: Optional[float]) -> str:
    return "n/a" if a is None or b is None else f"{a - b:+.3f}"


def tier_and_flags(tier: Optional[str], flags: Sequence[str]) -> str:
    return f"{tier or 'none'}: {', '.join(flags)}" if flags else (tier or "none")


def md_cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(summary: Dict[str, Any]) -> str:
    s = summary
    h = s["steps"].get("holdout", {}).get("result") or {}
    cv = s["steps"].get("crossval", {}).get("result") or {}
    b = s["steps"].get("baseline", {}).get("result") or {}
    rf = s["steps"].get("redflags", {}).get("result") or {}
    rasa = h.get("rasa_report") or {}
    answered = h.get("answered") or {}
    served = h.get("as_served") or {}
    rfi = h.get("red_flag_intent") or {}
    unseen = (h.get("unseen") or {}).get("rasa") or {}
    b_unseen = b.get("unseen") or {}

    lines = [
        "# NLU evaluation",
        "",
        f"Generated {s['date']} by `make evaluate` (`evaluation/evaluate.py`), Rasa {s['rasa_version']}.",
        f"Model: {s['model']}. Training data: `{s['nlu']}`; held-out set: `{s['holdout']}`"
        + (f" ({h['n']} messages, {h['intents']} intents)." if h else "."),
        "Figures, not a gate: nothing here fails the build.",
        "",
        "## Headline",
        "",
        "| measure | value |",
        "|---|---|",
        f"| Held-out intent accuracy (Rasa report) | {fmt(rasa.get('accuracy'))} |",
        f"| Held-out macro F1 (Rasa report) | {fmt(rasa.get('macro_f1'))} |",
        f"| Held-out accuracy as served (`nlu_fallback` counts as wrong) | {fmt(served.get('accuracy'))} |",
        f"| Fallback rate (`nlu_fallback`) | {fmt(answered.get('fallback_rate'))} "
        f"({answered.get('fallbacks', 'n/a')} of {answered.get('n', 'n/a')}) |",
        f"| Answered-topic accuracy (non-fallback) | {fmt(answered.get('answered_accuracy'))} "
        f"(coverage {fmt(answered.get('coverage'))}) |",
        f"| Held-out messages also in the training data (same text after lower-casing, "
        f"no punctuation) | {h.get('seen_in_training', 'n/a')} of {h.get('n', 'n/a')} |",
        f"| Held-out accuracy / macro F1 on the unseen messages only (Rasa's way) | "
        f"{fmt(unseen.get('accuracy'))} / {fmt(unseen.get('macro_f1'))} (n={unseen.get('n', 'n/a')}) |",
        f"| Cross-validation accuracy ({s.get('folds') or 'k'} folds, mean ± sd) | {fmt_pm(cv.get('accuracy'))} |",
        f"| Cross-validation macro F1 (mean ± sd) | {fmt_pm(cv.get('macro_f1'))} |",
        f"| TF-IDF 1-NN baseline accuracy (Rasa − baseline) | {fmt(b.get('accuracy'))} "
        f"({fmt_delta(rasa.get('accuracy'), b.get('accuracy'))}); unseen only "
        f"{fmt(b_unseen.get('accuracy'))} ({fmt_delta(unseen.get('accuracy'), b_unseen.get('accuracy'))}) |",
        f"| TF-IDF 1-NN baseline macro F1 (Rasa − baseline) | {fmt(b.get('macro_f1'))} "
        f"({fmt_delta(rasa.get('macro_f1'), b.get('macro_f1'))}) |",
        f"| `red_flag` intent recall, held-out, as served | {fmt(rfi.get('recall'))} "
        f"({rfi.get('found', 'n/a')}/{rfi.get('support', 'n/a')}; "
        f"{rfi.get('false_positives', 'n/a')} other messages got `red_flag`) |",
    ]
    srf = h.get("red_flag_cases_served") or {}
    lines.append(
        f"| Red-flag held-out cases served as `red_flag` by the full model | {fmt(srf.get('recall'))} "
        f"({srf.get('served_red_flag', 'n/a')}/{srf.get('flagged', 'n/a')}; "
        f"{srf.get('served_fallback', 'n/a')} as `nlu_fallback`; `expect: none` served as "
        f"`red_flag`: {srf.get('none_served_red_flag', 'n/a')}/{srf.get('none_cases', 'n/a')}) |"
    )
    for tier in TIERS:
        t = (rf.get("tiers") or {}).get(tier) or {}
        lines.append(
            f"| Triage {tier} recall (tier ≥ expected) | {fmt(t.get('recall'))} "
            f"({t.get('found', 'n/a')}/{t.get('n', 'n/a')}) |"
        )
    lines += [
        f"| Triage flag-id recall | {fmt(rf.get('flag_recall'))} "
        f"({rf.get('flags_found', 'n/a')}/{rf.get('flags_expected', 'n/a')}) |",
        f"| Triage false-alarm rate (`expect: none`) | {fmt(rf.get('false_alarm_rate'))} "
        f"({rf.get('false_alarms', 'n/a')}/{rf.get('none_cases', 'n/a')}) |",
        "",
        "How to read: the Rasa report is what `rasa test nlu` writes (`reports/intent_report.json`); "
        "Rasa's evaluation reverts `nlu_fallback` to the classifier's next intent, so its accuracy "
        'is the classifier\'s plus the red-flag rules. "As served" is the intent the dialogue '
        "receives. Macro F1 averages over the intents of the held-out set. Cross-validation uses "
        "`evaluation/config_crossval.yml`: the classifier alone (no red-flag rules, no "
        "fallback). The baseline is TF-IDF (word 1–2-grams + char_wb 2–4-grams), cosine 1-NN, "
        "trained on the same examples. Held-out messages that also occur in the training data "
        "(same text once lower-cased and stripped of punctuation) flatter every held-out figure; "
        'the "unseen only" figures leave them out.',
        "",
    ]

    failed = {k: v for k, v in s["steps"].items() if v.get("status") != "ok"}
    if failed:
        lines += ["## Steps not run or failed", ""]
        lines += [f"- **{k}**: {v['status']}: {md_cell(v.get('error', ''))}" for k, v in failed.items()]
        lines.append("")

    if h:
        lines += [
            "## Held-out: 15 most frequent confusions (as served, fallbacks excluded)",
            "",
            "| true | predicted | count | example (synthetic test message) |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {c['true']} | {c['predicted']} | {c['count']} | {md_cell(c['example'])} |" for c in h["confusions"]
        ] or ["| – | – | 0 | |"]
        fb = ", ".join(f"{k} {v}" for k, v in h.get("fallbacks_by_intent") or []) or "none"
        weak = ", ".join(f"{w['intent']} {w['f1']:.2f} (n={w['support']})" for w in h.get("weakest_intents") or [])
        lines += [
            "",
            f"Fallbacks by true intent (top 10): {fb}.",
            "",
            f"Lowest F1 in the Rasa report: {weak}.",
            "",
            "Confusion matrix: `reports/confusion_matrix.png` (as served, counts in the cells, "
            "colour = share of the true intent's messages).",
            "",
        ]

    if cv:
        lines += [
            f"## Cross-validation ({cv['folds']} folds, seed {cv['seed']}, DIET {cv.get('epochs')} "
            f"epochs, {cv['examples']} examples, {cv['intents']} intents)",
            "",
        ]
        excluded = cv.get("excluded") or {}
        if excluded.get("examples"):
            lines += [
                f"Left out: {excluded['examples']} examples of {', '.join(excluded['intents'])} (the learned "
                "red-flag head takes them out of the topic classifier's training data in serving too).",
                "",
            ]
        if cv.get("epochs") != cv.get("configured_epochs"):
            lines += [
                f"**Quick run:** DIET trained for {cv['epochs']} epochs instead of the configured "
                f"{cv['configured_epochs']}, to save time; expect figures a little below a full run.",
                "",
            ]
        lines += [
            "| fold | accuracy | macro F1 | seconds |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {r['fold']} | {fmt(r['accuracy'])} | {fmt(r['macro_f1'])} | {r['seconds']:.0f} |"
            for r in cv["per_fold"]
        ]
        diet = ", ".join(f"{k} {v}" for k, v in (cv.get("diet") or {}).items())
        lines += [
            "",
            f"Pooled over the test folds (Rasa's report, `results/crossval/intent_report.json`): "
            f"accuracy {fmt(cv.get('pooled_accuracy'))}, macro F1 {fmt(cv.get('pooled_macro_f1'))}.",
            f"DIET as trained: {diet or 'n/a'}. Rasa caches trained components (`.rasa/cache`): a "
            "fold whose data and config did not change since an earlier run is not retrained, "
            "so its seconds are small.",
            "",
        ]

    if rf:
        lines += [
            f"## Red-flag triage (`{s['redflags']}`, {rf['cases']} cases, rules `{rf['rules']}`)",
            "",
            "| expected tier | cases | found (tier ≥ expected) | exact tier | any escalation |",
            "|---|---|---|---|---|",
        ]
        for tier in TIERS:
            t = rf["tiers"][tier]
            lines.append(
                f"| {tier} | {t['n']} | {fmt(t['recall'])} ({t['found']}) | "
                f"{fmt(t['exact_recall'])} ({t['exact']}) | {fmt(t['escalation_recall'])} ({t['escalated']}) |"
            )
        per_flag = ", ".join(f"{f} {v['found']}/{v['found'] + v['missed']}" for f, v in rf["per_flag"].items())
        lines += ["", f"Flag ids found per flag: {per_flag or 'n/a'}.", ""]
        srf = h.get("red_flag_cases_served") or {}
        if srf:
            missed_as = ", ".join(f"`{k}` {v}" for k, v in srf["missed_as"].items()) or "none"
            lines += [
                f"Through the full NLU model (`{s.get('model_name', 'model')}`): {srf['served_red_flag']}/"
                f"{srf['flagged']} flagged cases reach the `red_flag` intent; the others are served "
                f"as {missed_as}. A flagged message served as `nlu_fallback` goes to "
                "`action_clarify`, not `action_red_flag`.",
                "",
            ]
            lines += [
                f"- {m['expect']} case served as `{m['served']}`: {md_cell(m['text'])}"
                for m in srf.get("missed", [])[:10]
            ]
            lines += [""] if srf.get("missed") else []
        if rf["misses"]:
            lines += [
                f"Cases with a wrong tier or a missing flag ({len(rf['misses'])}; first 20):",
                "",
                "| expected | got | missing flags | text |",
                "|---|---|---|---|",
            ]
            for m in rf["misses"][:20]:
                missing = sorted(set(m["expected_flags"]) - set(m["flags"]))
                lines.append(
                    f"| {tier_and_flags(m['expect'], m['expected_flags'])} | "
                    f"{tier_and_flags(m['tier'], m['flags'])} | {', '.join(missing) or '–'} | "
                    f"{md_cell(m['text'])} |"
                )
            lines.append("")

    lines += ["## Timings", "", "| step | status | seconds |", "|---|---|---|"]
    lines += [f"| {k} | {v['status']} | {v.get('seconds', 0):.0f} |" for k, v in s["steps"].items()]
    lines += [f"| total | | {s['total_seconds']:.0f} |", ""]
    if s.get("load_average"):
        lines += [
            f"Machine: {s.get('cpus')} CPUs, load average {s['load_average']} at the start "
            "(timings grow with other work on the machine).",
            "",
        ]
    return "\n".join(lines)


def headline(summary: Dict[str, Any]) -> List[str]:
    steps = summary["steps"]
    h = steps.get("holdout", {}).get("result") or {}
    cv = steps.get("crossval", {}).get("result") or {}
    b = steps.get("baseline", {}).get("result") or {}
    rf = steps.get("redflags", {}).get("result") or {}
    out = []
    if h:
        r, a = h["rasa_report"], h["answered"]
        out += [
            f"held-out accuracy {fmt(r['accuracy'])}, macro F1 {fmt(r['macro_f1'])} (Rasa report)",
            f"as served: accuracy {fmt(h['as_served']['accuracy'])}, fallback rate "
            f"{fmt(a['fallback_rate'])}, answered-topic accuracy {fmt(a['answered_accuracy'])}",
            f"red_flag intent recall (held-out, as served) {fmt(h['red_flag_intent']['recall'])}",
        ]
        unseen = (h.get("unseen") or {}).get("rasa") or {}
        out.append(
            f"{h.get('seen_in_training')} of {h['n']} held-out messages are also in the training "
            f"data; on the others: accuracy {fmt(unseen.get('accuracy'))}, macro F1 "
            f"{fmt(unseen.get('macro_f1'))}"
        )
        srf = h.get("red_flag_cases_served")
        if srf:
            out.append(
                f"red-flag cases served as red_flag by the model {fmt(srf['recall'])} "
                f"({srf['served_fallback']} as nlu_fallback)"
            )
    if cv:
        out.append(
            f"cross-validation ({cv['folds']} folds): accuracy {fmt_pm(cv['accuracy'])}, "
            f"macro F1 {fmt_pm(cv['macro_f1'])}"
        )
    if b:
        r = h.get("rasa_report") or {}
        out.append(
            f"TF-IDF 1-NN baseline: accuracy {fmt(b['accuracy'])}, macro F1 {fmt(b['macro_f1'])} "
            f"(Rasa - baseline {fmt_delta(r.get('accuracy'), b['accuracy'])} / "
            f"{fmt_delta(r.get('macro_f1'), b['macro_f1'])})"
        )
    if rf:
        t = rf["tiers"]
        out.append(
            f"triage recall: emergency {fmt(t['emergency']['recall'])}, urgent "
            f"{fmt(t['urgent']['recall'])} (exact {fmt(t['urgent']['exact_recall'])}), flag ids "
            f"{fmt(rf['flag_recall'])}, false alarms {fmt(rf['false_alarm_rate'])}"
        )
    return out

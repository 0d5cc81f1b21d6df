"""Pure figures of the evaluation: intent metrics, confusions, red-flag recall, duplicates.

No Rasa, no model: everything here takes labels or (tier, flags) pairs and returns plain
dicts, so ``tests/test_evaluation.py`` checks it in milliseconds.
"""

import re
import statistics
from collections import Counter
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

FALLBACK = "nlu_fallback"
RED_FLAG = "red_flag"
TIER_RANK = {None: 0, "none": 0, "routine": 0, "urgent": 1, "emergency": 2}
TIERS = ("emergency", "urgent")


def intent_metrics(y_true: Sequence[str], y_pred: Sequence[str]) -> Dict[str, Any]:
    """Accuracy and macro F1 the way Rasa's intent report computes them.

    Macro F1 averages over the labels that occur in ``y_true`` (Rasa passes
    ``labels=unique targets`` to scikit-learn), so a predicted label that is never a
    target (``nlu_fallback``) lowers recall of the true intents but gets no row itself.
    """
    from sklearn.metrics import accuracy_score, f1_score

    if len(y_true) != len(y_pred):
        raise ValueError("y_true and y_pred differ in length")
    if not y_true:
        return {"n": 0, "accuracy": None, "macro_f1": None}
    labels = sorted(set(y_true))
    return {
        "n": len(y_true),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
    }


def answered_metrics(y_true: Sequence[str], y_pred: Sequence[str], fallback: str = FALLBACK) -> Dict[str, Any]:
    """Coverage (share not sent to fallback) and accuracy on the answered messages."""
    answered = [(t, p) for t, p in zip(y_true, y_pred) if p != fallback]
    n = len(y_true)
    correct = sum(t == p for t, p in answered)
    return {
        "n": n,
        "answered": len(answered),
        "fallbacks": n - len(answered),
        "coverage": len(answered) / n if n else None,
        "fallback_rate": (n - len(answered)) / n if n else None,
        "answered_accuracy": correct / len(answered) if answered else None,
    }


def label_recall(y_true: Sequence[str], y_pred: Sequence[str], label: str) -> Dict[str, Any]:
    """Recall of one label, plus how often it was predicted for other labels."""
    support = sum(t == label for t in y_true)
    hits = sum(t == label and p == label for t, p in zip(y_true, y_pred))
    false_positives = sum(t != label and p == label for t, p in zip(y_true, y_pred))
    return {
        "label": label,
        "support": support,
        "found": hits,
        "recall": hits / support if support else None,
        "false_positives": false_positives,
        "negatives": len(y_true) - support,
    }


def served_red_flag_metrics(cases: Sequence[Dict[str, Any]], served: Sequence[str]) -> Dict[str, Any]:
    """The red-flag held-out cases through the whole NLU model: which reach ``red_flag``.

    A flagged case served as anything else (``nlu_fallback`` included) does not reach the
    red-flag action, whatever the triage found on its own.
    """
    flagged = [p for c, p in zip(cases, served) if c.get("expect") in TIERS]
    quiet = [p for c, p in zip(cases, served) if c.get("expect") not in TIERS]
    return {
        "flagged": len(flagged),
        "served_red_flag": sum(p == RED_FLAG for p in flagged),
        "recall": sum(p == RED_FLAG for p in flagged) / len(flagged) if flagged else None,
        "served_fallback": sum(p == FALLBACK for p in flagged),
        "missed_as": dict(Counter(p for p in flagged if p != RED_FLAG).most_common()),
        "missed": [
            {"text": c.get("text"), "expect": c.get("expect"), "served": p}
            for c, p in zip(cases, served)
            if c.get("expect") in TIERS and p != RED_FLAG
        ],
        "none_cases": len(quiet),
        "none_served_red_flag": sum(p == RED_FLAG for p in quiet),
    }


def top_confusions(
    y_true: Sequence[str],
    y_pred: Sequence[str],
    texts: Optional[Sequence[str]] = None,
    n: int = 15,
    exclude_pred: Iterable[str] = (FALLBACK,),
) -> List[Dict[str, Any]]:
    """The ``n`` most frequent (true -> predicted) errors, with one example message each.

    Ties are broken alphabetically so the list is stable.
    """
    excluded = set(exclude_pred)
    counts: Counter = Counter()
    examples: Dict[Tuple[str, str], str] = {}
    for i, (t, p) in enumerate(zip(y_true, y_pred)):
        if t == p or p in excluded:
            continue
        counts[(t, p)] += 1
        if texts is not None:
            examples.setdefault((t, p), texts[i])
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
    return [{"true": t, "predicted": p, "count": c, "example": examples.get((t, p))} for (t, p), c in ranked]


def counts_by_true_label(
    y_true: Sequence[str], y_pred: Sequence[str], predicted: str = FALLBACK
) -> List[Tuple[str, int]]:
    """How often each true label was predicted as ``predicted`` (e.g. nlu_fallback)."""
    counts = Counter(t for t, p in zip(y_true, y_pred) if p == predicted and t != predicted)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def mean_sd(values: Sequence[float]) -> Dict[str, Any]:
    """Mean and sample standard deviation (None when undefined)."""
    values = [float(v) for v in values]
    return {
        "mean": statistics.mean(values) if values else None,
        "sd": statistics.stdev(values) if len(values) > 1 else None,
        "values": values,
    }


def normalise_text(text: str) -> str:
    """Lower case, punctuation removed, whitespace collapsed: for spotting duplicates."""
    return " ".join(re.sub(r"[^\w\s]", "", text.lower()).split())


def seen_in_training(test_texts: Sequence[str], train_texts: Iterable[str]) -> List[bool]:
    """For each test message: does the training data hold the same text (normalised)?"""
    train = {normalise_text(t) for t in train_texts}
    return [normalise_text(t) in train for t in test_texts]


def subset(values: Sequence[Any], mask: Sequence[bool], keep: bool = True) -> List[Any]:
    return [v for v, m in zip(values, mask) if m == keep]


def tier_rank(tier: Optional[str]) -> int:
    if tier not in TIER_RANK:
        raise ValueError(f"unknown tier {tier!r}")
    return TIER_RANK[tier]


def redflag_metrics(
    cases: Sequence[Dict[str, Any]], detected: Sequence[Tuple[Optional[str], Sequence[str]]]
) -> Dict[str, Any]:
    """Triage figures from held-out cases and the (tier, flags) the triage returned.

    Per expected tier: ``found`` = detected tier at least the expected one (the primary
    recall), ``exact`` = the same tier, ``escalated`` = any tier at all.
    ``flag_recall`` counts expected flag ids found in the detected flags (cases with
    expected flags). ``false_alarms`` = ``expect: none`` cases that raised any tier or flag.
    """
    if len(cases) != len(detected):
        raise ValueError("cases and detected differ in length")
    tiers: Dict[str, Dict[str, Any]] = {}
    for tier in TIERS:
        rows = [(c, d) for c, d in zip(cases, detected) if c.get("expect") == tier]
        n = len(rows)
        found = sum(tier_rank(d[0]) >= tier_rank(tier) for _, d in rows)
        exact = sum(d[0] == tier for _, d in rows)
        escalated = sum(tier_rank(d[0]) > 0 for _, d in rows)
        tiers[tier] = {
            "n": n,
            "found": found,
            "exact": exact,
            "escalated": escalated,
            "recall": found / n if n else None,
            "exact_recall": exact / n if n else None,
            "escalation_recall": escalated / n if n else None,
        }

    per_flag: Dict[str, List[int]] = {}
    for case, (_, flags) in zip(cases, detected):
        for flag in case.get("flags") or []:
            hit_miss = per_flag.setdefault(flag, [0, 0])
            hit_miss[0 if flag in set(flags or []) else 1] += 1
    expected_flags = sum(h + m for h, m in per_flag.values())
    found_flags = sum(h for h, _ in per_flag.values())

    none_rows = [(c, d) for c, d in zip(cases, detected) if c.get("expect") in ("none", None)]
    alarms = sum(bool(d[0]) or bool(d[1]) for _, d in none_rows)

    misses = []
    for case, (tier, flags) in zip(cases, detected):
        expect = case.get("expect")
        wrong_tier = tier_rank(tier) != tier_rank(expect)
        missing = sorted(set(case.get("flags") or []) - set(flags or []))
        if wrong_tier or missing:
            misses.append(
                {
                    "text": case.get("text"),
                    "expect": expect,
                    "expected_flags": list(case.get("flags") or []),
                    "tier": tier,
                    "flags": list(flags or []),
                }
            )

    return {
        "cases": len(cases),
        "tiers": tiers,
        "flag_recall": found_flags / expected_flags if expected_flags else None,
        "flags_expected": expected_flags,
        "flags_found": found_flags,
        "per_flag": {f: {"found": h, "missed": m} for f, (h, m) in sorted(per_flag.items())},
        "none_cases": len(none_rows),
        "false_alarms": alarms,
        "false_alarm_rate": alarms / len(none_rows) if none_rows else None,
        "misses": misses,
    }

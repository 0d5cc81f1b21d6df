"""NLU evaluation behind `make evaluate`: figures, not a gate.

Steps (each timed; a failing step is reported and makes the exit status 1, low scores never do):

1. holdout   - the trained model (models/gluteus-assistant.tar.gz) on tests/nlu/holdout.yml.
               Rasa's own evaluation (what `rasa test nlu --model ... --nlu ...` runs) writes
               results/holdout/ and reports/intent_report.json. That evaluation reverts
               nlu_fallback to the classifier's next intent, so the messages are parsed again
               "as served" (the intent the dialogue sees, nlu_fallback included): fallback rate,
               answered-topic accuracy, red_flag recall, confusion matrix, top confusions, and
               the figures without the held-out messages that also occur in the training data.
               The red-flag held-out texts go through the model too (do they reach red_flag?).
2. crossval  - k-fold cross-validation of tests/evaluation/config_crossval.yml (the serving
               pipeline without RedFlagDetector and FallbackClassifier) on data/nlu, as
               `rasa test nlu --cross-validation` does, but with seeded folds (figures repeat)
               and per-fold macro F1 (mean ± sd). Raw output: results/crossval/.
3. baseline  - TF-IDF (word 1-2-grams + char_wb 2-4-grams) cosine 1-nearest-neighbour on the
               same training examples, scored on the same held-out set.
4. redflags  - assistant.triage.engine over tests/redflags/holdout.yml: recall per tier, flag-id
               recall, false-alarm rate on `expect: none` cases.

Outputs: reports/evaluation.md (summary), reports/evaluation.json (the same figures),
reports/intent_report.json, reports/confusion_matrix.png; headline figures on stdout.

Time: each fold trains DIET as `make train` does (80 epochs), so 5 folds take about four
trainings: roughly half an hour on 2 idle cores, longer on a busy machine. For a quick look:
    make evaluate QUICK=1            (3 folds, 20 epochs; the report says so)
    make evaluate FOLDS=3 EPOCHS=40  (any mix)
Usage, from the project root with PYTHONPATH=. (the Makefile sets it):
    python tests/evaluation/evaluate.py [--quick] [--folds N] [--epochs N] [--skip-crossval]
"""
import argparse
import asyncio
import datetime as dt
import hashlib
import json
import logging
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import yaml

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

logger = logging.getLogger(__name__)

FALLBACK = "nlu_fallback"
RED_FLAG = "red_flag"
TIER_RANK = {None: 0, "none": 0, "urgent": 1, "emergency": 2}
TIERS = ("emergency", "urgent")
FOLDS = 5
QUICK_FOLDS = 3
QUICK_EPOCHS = 20


# --------------------------------------------------------------------------- pure helpers


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


def answered_metrics(
    y_true: Sequence[str], y_pred: Sequence[str], fallback: str = FALLBACK
) -> Dict[str, Any]:
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


def served_red_flag_metrics(
    cases: Sequence[Dict[str, Any]], served: Sequence[str]
) -> Dict[str, Any]:
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
    return [
        {"true": t, "predicted": p, "count": c, "example": examples.get((t, p))}
        for (t, p), c in ranked
    ]


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


def build_baseline():
    """TF-IDF word 1-2-grams + char_wb 2-4-grams, cosine 1-nearest-neighbour."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import FeatureUnion, make_pipeline

    features = FeatureUnion(
        [
            ("word", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), lowercase=True)),
            ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), lowercase=True)),
        ]
    )
    return make_pipeline(features, KNeighborsClassifier(n_neighbors=1, metric="cosine"))


def evaluate_baseline(
    train_texts: Sequence[str],
    train_labels: Sequence[str],
    test_texts: Sequence[str],
    test_labels: Sequence[str],
) -> Dict[str, Any]:
    model = build_baseline().fit(list(train_texts), list(train_labels))
    predictions = [str(p) for p in model.predict(list(test_texts))]
    return {**intent_metrics(test_labels, predictions), "predictions": predictions}


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


def plot_confusion_matrix(
    y_true: Sequence[str], y_pred: Sequence[str], path: Path, title: str
) -> List[str]:
    """A confusion matrix readable with ~40 intents: counts in the cells, colour = row share."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from sklearn.metrics import confusion_matrix

    labels = sorted((set(y_true) | set(y_pred)) - {FALLBACK})
    if FALLBACK in set(y_pred) | set(y_true):
        labels.append(FALLBACK)
    matrix = confusion_matrix(y_true, y_pred, labels=labels)
    rows = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, rows, out=np.zeros(matrix.shape, dtype=float), where=rows > 0)

    size = max(8.0, 0.42 * len(labels) + 4)
    fig, ax = plt.subplots(figsize=(size, size * 0.92), dpi=110)
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)))
    ax.set_yticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=90, fontsize=9)
    ax.set_yticklabels(labels, fontsize=9)
    ax.set_xlabel("predicted intent (as served)")
    ax.set_ylabel("true intent")
    ax.set_title(title)
    for i in range(len(labels)):
        for j in range(len(labels)):
            if matrix[i, j]:
                ax.text(
                    j, i, str(matrix[i, j]), ha="center", va="center", fontsize=8,
                    color="white" if share[i, j] > 0.5 else ("black" if i == j else "firebrick"),
                )
    ax.set_xticks(np.arange(-0.5, len(labels)), minor=True)
    ax.set_yticks(np.arange(-0.5, len(labels)), minor=True)
    ax.grid(which="minor", color="#dddddd", linewidth=0.5)
    ax.tick_params(which="minor", length=0)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return labels


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


def load_redflag_cases(path: Path) -> List[Dict[str, Any]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    cases = data.get("cases") or []
    for i, case in enumerate(cases):
        if not case.get("text") or case.get("expect") not in ("emergency", "urgent", "none"):
            raise ValueError(f"{path}: case {i} needs text and expect: emergency|urgent|none")
    return cases


# --------------------------------------------------------------------------- Rasa steps


def quiet_logging() -> None:
    """Warnings only, as `rasa test --quiet` does (Rasa's structlog would print every message)."""
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)
    for name in ("tensorflow", "absl", "matplotlib", "urllib3", "components", "actions"):
        logging.getLogger(name).setLevel(logging.WARNING)


def load_examples(path: Path) -> Tuple[List[str], List[str]]:
    """Texts and intents of the intent examples in a Rasa NLU file or folder."""
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(path))
    examples = [m for m in data.intent_examples if m.get("text") and m.get("intent")]
    return [m.get("text") for m in examples], [m.get("intent") for m in examples]


def pipeline_component(config_path: Path, component: str) -> Optional[Dict[str, Any]]:
    """The first pipeline entry whose name ends with ``component``, or None."""
    config = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    for item in config.get("pipeline") or []:
        if str(item.get("name", "")).endswith(component):
            return item
    return None


def pipeline_option(config_path: Path, component: str, key: str, default: Any) -> Any:
    """An option of a pipeline component in a Rasa config (e.g. RedFlagDetector's rules)."""
    return (pipeline_component(config_path, component) or {}).get(key, default)


async def _parse_all(processor, texts: Sequence[str]) -> List[Dict[str, Any]]:
    from rasa.core.channels.channel import UserMessage

    parsed = []
    for text in texts:
        result = await processor.parse_message(UserMessage(text=text))
        intent = result.get("intent") or {}
        ranking = result.get("intent_ranking") or []
        reverted = intent.get("name")
        if reverted == FALLBACK and len(ranking) >= 2:  # what `rasa test nlu` counts
            reverted = ranking[1].get("name")
        parsed.append(
            {"intent": intent.get("name"), "confidence": intent.get("confidence"), "reverted": reverted}
        )
    return parsed


def run_holdout(
    model: Path,
    holdout: Path,
    results_dir: Path,
    reports_dir: Path,
    redflags: Optional[Path] = None,
    nlu_path: Optional[Path] = None,
) -> Dict[str, Any]:
    from rasa.core.agent import Agent
    from rasa.nlu.test import run_evaluation

    out = results_dir / "holdout"
    if out.exists():
        shutil.rmtree(out)
    agent = Agent.load(model_path=str(model))
    # What `rasa test nlu --model MODEL --nlu HOLDOUT --out results/holdout` runs.
    asyncio.run(
        run_evaluation(
            str(holdout),
            agent.processor,
            output_directory=str(out),
            successes=True,
            errors=True,
            disable_plotting=False,
            report_as_dict=True,
            domain_path=str(ROOT / "domain.yml"),
        )
    )
    report = json.loads((out / "intent_report.json").read_text(encoding="utf-8"))
    reports_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(out / "intent_report.json", reports_dir / "intent_report.json")

    texts, labels = load_examples(holdout)
    parsed = asyncio.run(_parse_all(agent.processor, texts))
    served = [p["intent"] or "" for p in parsed]
    reverted = [p["reverted"] or "" for p in parsed]
    seen = seen_in_training(texts, load_examples(nlu_path)[0]) if nlu_path else [False] * len(texts)
    (out / "predictions_as_served.json").write_text(
        json.dumps(
            [{"text": t, "intent": y, **p} for t, y, p in zip(texts, labels, parsed)], indent=1
        ),
        encoding="utf-8",
    )
    plot_confusion_matrix(
        labels, served, reports_dir / "confusion_matrix.png",
        f"Held-out intents as served ({len(labels)} messages, {holdout.name})",
    )
    served_red_flags = None
    if redflags is not None and redflags.exists():
        cases = load_redflag_cases(redflags)
        parsed_cases = asyncio.run(_parse_all(agent.processor, [c["text"] for c in cases]))
        served_red_flags = served_red_flag_metrics(cases, [p["intent"] or "" for p in parsed_cases])
    weakest = sorted(
        (
            (name, row["f1-score"], row["support"])
            for name, row in report.items()
            if isinstance(row, dict) and "f1-score" in row and "avg" not in name
        ),
        key=lambda r: (r[1], r[0]),
    )[:5]
    return {
        "n": len(labels),
        "intents": len(set(labels)),
        "rasa_report": {
            "accuracy": report.get("accuracy"),
            "macro_f1": (report.get("macro avg") or {}).get("f1-score"),
            "weighted_f1": (report.get("weighted avg") or {}).get("f1-score"),
        },
        "as_served": intent_metrics(labels, served),
        "fallback_reverted": intent_metrics(labels, reverted),  # should equal the Rasa report
        "answered": answered_metrics(labels, served),
        "red_flag_intent": label_recall(labels, served, RED_FLAG),
        "confusions": top_confusions(labels, served, texts, n=15),
        "fallbacks_by_intent": counts_by_true_label(labels, served, FALLBACK)[:10],
        "weakest_intents": [{"intent": n, "f1": f, "support": s} for n, f, s in weakest],
        "red_flag_cases_served": served_red_flags,
        "seen_in_training": sum(seen),
        "unseen": {
            "rasa": intent_metrics(subset(labels, seen, False), subset(reverted, seen, False)),
            "answered": answered_metrics(subset(labels, seen, False), subset(served, seen, False)),
        },
    }


def with_epochs(config: Path, epochs: Optional[int], directory: Path) -> Path:
    """A copy of ``config`` in ``directory``, DIETClassifier's epochs replaced if given.

    Every fold trains from this copy, so an edit to the config during a run cannot mix.
    """
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    for item in data.get("pipeline") or []:
        if item.get("name") == "DIETClassifier" and epochs:
            item["epochs"] = epochs
    path = directory / config.name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def run_crossval(
    nlu_path: Path,
    config: Path,
    folds: int,
    seed: int,
    results_dir: Path,
    epochs: Optional[int] = None,
) -> Dict[str, Any]:
    """Seeded k-fold cross-validation with Rasa's training and evaluation functions."""
    import rasa.model_training
    from rasa.core.agent import Agent
    from rasa.nlu.test import drop_intents_below_freq, evaluate_intents, get_eval_data
    from rasa.shared.nlu.training_data.loading import load_data
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter
    from rasa.shared.nlu.training_data.training_data import TrainingData
    from sklearn.model_selection import StratifiedKFold

    out = results_dir / "crossval"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    data = drop_intents_below_freq(load_data(str(nlu_path)), cutoff=folds)
    examples = data.intent_examples
    labels = [m.get_full_intent() for m in examples]
    shared = {  # what rasa.nlu.test.generate_folds passes on to every fold
        "entity_synonyms": data.entity_synonyms,
        "regex_features": data.regex_features,
        "lookup_tables": data.lookup_tables,
        "responses": data.responses,
    }
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)

    fold_rows, pooled = [], []
    with tempfile.TemporaryDirectory(prefix="crossval-") as tmp:
        configured_epochs = pipeline_option(config, "DIETClassifier", "epochs", None)
        config = with_epochs(config, epochs, Path(tmp))
        diet = {
            k: v for k, v in (pipeline_component(config, "DIETClassifier") or {}).items() if k != "name"
        }
        for i, (train_idx, test_idx) in enumerate(splitter.split(examples, labels), start=1):
            started = time.monotonic()
            train = TrainingData(training_examples=[examples[j] for j in train_idx], **shared)
            test = TrainingData(training_examples=[examples[j] for j in test_idx], **shared)
            train_file = Path(tmp) / f"fold{i}.yml"
            RasaYAMLWriter().dump(train_file, train)
            model_file = rasa.model_training.train_nlu(
                str(config), str(train_file), str(Path(tmp) / f"model{i}")
            )
            if not model_file:
                raise RuntimeError(f"training fold {i} failed")
            trained = time.monotonic()
            processor = Agent.load(model_file).processor
            intent_results, _, _ = asyncio.run(get_eval_data(processor, test))
            pooled += intent_results
            metrics = intent_metrics(
                [r.intent_target for r in intent_results],
                [r.intent_prediction or "" for r in intent_results],
            )
            fold_rows.append(
                {
                    "fold": i,
                    **metrics,
                    "train_seconds": round(trained - started, 1),
                    "seconds": round(time.monotonic() - started, 1),
                }
            )
            print(
                f"  fold {i}/{folds}: accuracy {fmt(metrics['accuracy'])}, macro F1 "
                f"{fmt(metrics['macro_f1'])} ({fold_rows[-1]['seconds']:.0f} s)",
                flush=True,
            )
    # Rasa's report on the pooled test folds, as `rasa test nlu --cross-validation` writes it.
    evaluation = evaluate_intents(pooled, str(out), False, True, True, report_as_dict=True)
    report = evaluation["report"]
    (out / "folds.json").write_text(json.dumps(fold_rows, indent=1), encoding="utf-8")
    return {
        "folds": folds,
        "seed": seed,
        "examples": len(examples),
        "intents": len(set(labels)),
        "accuracy": mean_sd([r["accuracy"] for r in fold_rows]),
        "macro_f1": mean_sd([r["macro_f1"] for r in fold_rows]),
        "pooled_accuracy": report.get("accuracy"),
        "pooled_macro_f1": (report.get("macro avg") or {}).get("f1-score"),
        "per_fold": fold_rows,
        "epochs": epochs or configured_epochs,
        "configured_epochs": configured_epochs,
        "diet": diet,
    }


def run_baseline(nlu_path: Path, holdout: Path) -> Dict[str, Any]:
    train_texts, train_labels = load_examples(nlu_path)
    test_texts, test_labels = load_examples(holdout)
    result = evaluate_baseline(train_texts, train_labels, test_texts, test_labels)
    predictions = result.pop("predictions")
    seen = seen_in_training(test_texts, train_texts)
    result["train_examples"] = len(train_texts)
    result["unseen"] = intent_metrics(subset(test_labels, seen, False), subset(predictions, seen, False))
    result["confusions"] = top_confusions(test_labels, predictions, n=5)
    return result


def run_redflags(cases_path: Path, config: Path) -> Dict[str, Any]:
    from assistant.triage.engine import Triage
    from assistant.nlp import load_nlp

    rules = ROOT / pipeline_option(config, "RedFlagDetector", "rules", "content/red_flags.yml")
    spacy_dir = ROOT / pipeline_option(config, "RedFlagDetector", "spacy_model", "models/spacy")
    cases = load_redflag_cases(cases_path)
    triage = Triage.from_file(str(rules), nlp=load_nlp(spacy_dir))
    detected = []
    for case in cases:
        result = triage.assess(case["text"])
        detected.append((result.tier, list(result.flags or [])))
    return {"rules": str(rules.relative_to(ROOT)), **redflag_metrics(cases, detected)}


# --------------------------------------------------------------------------- report


def model_description(model: Path) -> str:
    if not model.exists():
        return f"`{model}` (missing)"
    digest = hashlib.sha256(model.read_bytes()).hexdigest()[:12]
    trained = dt.datetime.fromtimestamp(model.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
    return f"`{rel(model)}` (trained {trained}, sha256 {digest}…)"


def rel(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


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
        f"Generated {s['date']} by `make evaluate` (`tests/evaluation/evaluate.py`), "
        f"Rasa {s['rasa_version']}.",
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
        "is the classifier's plus the red-flag rules. \"As served\" is the intent the dialogue "
        "receives. Macro F1 averages over the intents of the held-out set. Cross-validation uses "
        "`tests/evaluation/config_crossval.yml`: the classifier alone (no red-flag rules, no "
        "fallback). The baseline is TF-IDF (word 1–2-grams + char_wb 2–4-grams), cosine 1-NN, "
        "trained on the same examples. Held-out messages that also occur in the training data "
        "(same text once lower-cased and stripped of punctuation) flatter every held-out figure; "
        "the \"unseen only\" figures leave them out.",
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
            f"| {c['true']} | {c['predicted']} | {c['count']} | {md_cell(c['example'])} |"
            for c in h["confusions"]
        ] or ["| – | – | 0 | |"]
        fb = ", ".join(f"{k} {v}" for k, v in h.get("fallbacks_by_intent") or []) or "none"
        weak = ", ".join(
            f"{w['intent']} {w['f1']:.2f} (n={w['support']})" for w in h.get("weakest_intents") or []
        )
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
        per_flag = ", ".join(
            f"{f} {v['found']}/{v['found'] + v['missed']}" for f, v in rf["per_flag"].items()
        )
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
    lines += [
        f"| {k} | {v['status']} | {v.get('seconds', 0):.0f} |" for k, v in s["steps"].items()
    ]
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


# --------------------------------------------------------------------------- main


def env_int(name: str) -> Optional[int]:
    value = os.environ.get(name, "").strip()
    return int(value) if value else None


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", type=Path, default=ROOT / "models" / "gluteus-assistant.tar.gz")
    p.add_argument("--config", type=Path, default=ROOT / "config.yml", help="serving config")
    p.add_argument("--nlu", type=Path, default=ROOT / "data" / "nlu")
    p.add_argument("--holdout", type=Path, default=ROOT / "tests" / "nlu" / "holdout.yml")
    p.add_argument("--redflags", type=Path, default=ROOT / "tests" / "redflags" / "holdout.yml")
    p.add_argument(
        "--crossval-config", type=Path, default=ROOT / "tests" / "evaluation" / "config_crossval.yml"
    )
    p.add_argument(
        "--folds", type=int, default=env_int("FOLDS"),
        help=f"cross-validation folds (default {FOLDS}, or $FOLDS)",
    )
    p.add_argument(
        "--epochs", type=int, default=env_int("EPOCHS"),
        help="DIET epochs in the cross-validation only (default: as configured, or $EPOCHS)",
    )
    p.add_argument(
        "--quick", action="store_true", default=bool(env_int("QUICK")),
        help=f"cross-validation with {QUICK_FOLDS} folds and {QUICK_EPOCHS} epochs unless "
        "--folds/--epochs say otherwise (or QUICK=1)",
    )
    p.add_argument("--skip-crossval", action="store_true")
    p.add_argument("--seed", type=int, default=42, help="seed of the cross-validation folds")
    p.add_argument("--reports", type=Path, default=ROOT / "reports")
    p.add_argument("--results", type=Path, default=ROOT / "results")
    args = p.parse_args(argv)
    if args.folds is None:
        args.folds = QUICK_FOLDS if args.quick else FOLDS
    if args.epochs is None and args.quick:
        args.epochs = QUICK_EPOCHS
    if args.folds < 2:
        p.error("--folds must be at least 2")
    if args.epochs is not None and args.epochs < 1:
        p.error("--epochs must be at least 1")
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    quiet_logging()
    import rasa

    steps: Dict[str, Dict[str, Any]] = {}
    started = time.monotonic()
    load_at_start = f"{os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else None
    model_at_start = model_description(args.model)  # `make train` may replace it meanwhile

    def step(name: str, func, *func_args) -> None:
        print(f"[{name}] …", flush=True)
        t0 = time.monotonic()
        try:
            steps[name] = {"status": "ok", "result": func(*func_args)}
        except Exception as exc:  # reported, and the exit status becomes 1
            logger.exception("step %s failed", name)
            steps[name] = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
        steps[name]["seconds"] = round(time.monotonic() - t0, 1)
        print(f"[{name}] {steps[name]['status']} in {steps[name]['seconds']:.0f} s", flush=True)

    os.chdir(ROOT)  # the configs name models/spacy relative to the project root
    if args.model.exists():
        step(
            "holdout", run_holdout,
            args.model, args.holdout, args.results, args.reports, args.redflags, args.nlu,
        )
    else:
        steps["holdout"] = {"status": "failed", "error": f"no model at {rel(args.model)}: run `make train`"}
    if args.skip_crossval:
        steps["crossval"] = {"status": "skipped", "error": "--skip-crossval"}
    else:
        step(
            "crossval", run_crossval,
            args.nlu, args.crossval_config, args.folds, args.seed, args.results, args.epochs,
        )
    step("baseline", run_baseline, args.nlu, args.holdout)
    step("redflags", run_redflags, args.redflags, args.config)

    summary = {
        "date": dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "rasa_version": rasa.__version__,
        "model": model_at_start,
        "model_name": args.model.name,
        "nlu": rel(args.nlu),
        "holdout": rel(args.holdout),
        "redflags": rel(args.redflags),
        "steps": steps,
        "total_seconds": round(time.monotonic() - started, 1),
        "folds": None if args.skip_crossval else args.folds,
        "cpus": os.cpu_count(),
        "load_average": load_at_start,
    }
    args.reports.mkdir(parents=True, exist_ok=True)
    (args.reports / "evaluation.md").write_text(render_markdown(summary), encoding="utf-8")
    (args.reports / "evaluation.json").write_text(
        json.dumps(summary, indent=1, ensure_ascii=False, default=str), encoding="utf-8"
    )
    print("\n== NLU evaluation ==")
    for line in headline(summary):
        print("  " + line)
    print(f"  report: {rel(args.reports / 'evaluation.md')} ({summary['total_seconds']:.0f} s)")
    failed = [k for k, v in steps.items() if v["status"] == "failed"]
    for name in failed:
        print(f"  FAILED {name}: {steps[name]['error']}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

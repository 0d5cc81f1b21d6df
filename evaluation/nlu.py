"""The trained model in-process: held-out NLU test (Rasa's way and as served), cross-validation.

``run_holdout`` runs what ``rasa test nlu --model ... --nlu ...`` runs, then parses every
message again "as served" (the intent the dialogue sees, ``nlu_fallback`` included).
``run_crossval`` is ``rasa test nlu --cross-validation`` with seeded folds.
"""

import asyncio
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import yaml

from evaluation.common import ROOT, load_examples, load_redflag_cases, pipeline_component, pipeline_option
from evaluation.metrics import (
    FALLBACK,
    RED_FLAG,
    answered_metrics,
    counts_by_true_label,
    intent_metrics,
    label_recall,
    mean_sd,
    seen_in_training,
    served_red_flag_metrics,
    subset,
    top_confusions,
)
from evaluation.report import fmt


def plot_confusion_matrix(y_true: Sequence[str], y_pred: Sequence[str], path: Path, title: str) -> List[str]:
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
                    j,
                    i,
                    str(matrix[i, j]),
                    ha="center",
                    va="center",
                    fontsize=8,
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
        parsed.append({"intent": intent.get("name"), "confidence": intent.get("confidence"), "reverted": reverted})
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
        json.dumps([{"text": t, "intent": y, **p} for t, y, p in zip(texts, labels, parsed)], indent=1),
        encoding="utf-8",
    )
    plot_confusion_matrix(
        labels,
        served,
        reports_dir / "confusion_matrix.png",
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
    exclude_intents: Sequence[str] = (),
) -> Dict[str, Any]:
    """Seeded k-fold cross-validation with Rasa's training and evaluation functions.

    ``exclude_intents``: examples the serving topic classifier never trains on (the
    ``red_flag`` examples, which the learned red-flag head takes out of DIET's data).
    """
    import rasa.model_training
    from rasa.core.agent import Agent
    from rasa.nlu.test import drop_intents_below_freq, evaluate_intents, get_eval_data
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter
    from rasa.shared.nlu.training_data.loading import load_data
    from rasa.shared.nlu.training_data.training_data import TrainingData
    from sklearn.model_selection import StratifiedKFold

    out = results_dir / "crossval"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    data = drop_intents_below_freq(load_data(str(nlu_path)), cutoff=folds)
    left_out = [m for m in data.intent_examples if m.get("intent") in exclude_intents]
    examples = [m for m in data.intent_examples if m.get("intent") not in exclude_intents]
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
        diet = {k: v for k, v in (pipeline_component(config, "DIETClassifier") or {}).items() if k != "name"}
        for i, (train_idx, test_idx) in enumerate(splitter.split(examples, labels), start=1):
            started = time.monotonic()
            train = TrainingData(training_examples=[examples[j] for j in train_idx], **shared)
            test = TrainingData(training_examples=[examples[j] for j in test_idx], **shared)
            train_file = Path(tmp) / f"fold{i}.yml"
            RasaYAMLWriter().dump(train_file, train)
            model_file = rasa.model_training.train_nlu(str(config), str(train_file), str(Path(tmp) / f"model{i}"))
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
        "excluded": {"intents": list(exclude_intents), "examples": len(left_out)},
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

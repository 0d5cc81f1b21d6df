"""`make evaluate`: the NLU and triage figures, and the held-out sets as patients reach them.

Figures, not a gate: a failing step is reported and makes the exit status 1, low scores
never do. Steps (each timed):

1. holdout   - the trained model (models/gluteus-assistant.tar.gz) in-process on
               evaluation/holdout/nlu_v1.yml: Rasa's own evaluation (`rasa test nlu`; results/holdout/,
               reports/intent_report.json), then "as served" (nlu_fallback included): fallback rate,
               answered-topic accuracy, red_flag recall, confusions, the figures on unseen messages,
               and the v1 red-flag texts through the model (evaluation/nlu.py).
2. crossval  - seeded k-fold cross-validation of evaluation/config_crossval.yml (the serving pipeline
               without RedFlagDetector and FallbackClassifier) on data/nlu; results/crossval/.
3. baseline  - TF-IDF (word 1-2-grams + char_wb 2-4-grams) cosine 1-NN on the same training
               examples, scored on the same held-out set (evaluation/baselines.py).
4. redflags  - the triage alone over evaluation/holdout/red_flags_v1.yml: recall per tier, flag-id
               recall, false-alarm rate (evaluation/redflags.py).
5. served    - every held-out set in evaluation/holdout/ (v1 and the independent v2 sets:
               nlu_v2, red_flags_v2, conversations_v2) through the REST channel and the reply
               contract, with a stack started on ports 5805 (Rasa) / 5855 (actions) or a running
               server given by --rasa-url / $RASA_URL: topic accuracy per category on unseen
               messages beside the TF-IDF baseline, red-flag recall per tier and category, false
               alarms, conversation turn accuracy (evaluation/served_sets.py).

Outputs: reports/evaluation.md, reports/evaluation.json (the same figures; no v2 held-out text),
reports/intent_report.json, reports/confusion_matrix.png; headline figures on stdout.

Time: each cross-validation fold trains DIET as `make train` does, so 5 folds take about four
trainings (half an hour on 2 idle cores). For a quick look:
    make evaluate QUICK=1            (3 folds, 20 epochs; the report says so)
    make evaluate FOLDS=3 EPOCHS=40  (any mix)
Usage, from the project root (the Makefile sets PYTHONPATH):
    python -m evaluation.evaluate [--quick] [--folds N] [--epochs N] [--skip-crossval]
                                  [--skip-served] [--rasa-url URL]
"""

import argparse
import datetime as dt
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Tuple

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")

if __package__ in (None, ""):  # run as a script: python evaluation/evaluate.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evaluation.baselines import run_baseline  # noqa: E402
from evaluation.common import ROOT, model_description, pipeline_component, quiet_logging, rel  # noqa: E402
from evaluation.metrics import RED_FLAG  # noqa: E402
from evaluation.nlu import run_crossval, run_holdout  # noqa: E402
from evaluation.redflags import run_redflags  # noqa: E402
from evaluation.report import headline, render_markdown  # noqa: E402
from evaluation.report_served import render_served, served_headline  # noqa: E402
from evaluation.served_sets import run_served  # noqa: E402

logger = logging.getLogger(__name__)

HOLDOUT = ROOT / "evaluation" / "holdout"
FOLDS = 5
QUICK_FOLDS = 3
QUICK_EPOCHS = 20


def topic_classifier_excludes(config: Path) -> Tuple[str, ...]:
    """Intents the serving topic classifier does not learn: ``red_flag`` when the learned
    red-flag head (which hides those examples from DIET) is in the serving pipeline."""
    return (RED_FLAG,) if pipeline_component(config, "RedFlagHead") else ()


def env_int(name: str) -> Optional[int]:
    value = os.environ.get(name, "").strip()
    return int(value) if value else None


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", type=Path, default=ROOT / "models" / "gluteus-assistant.tar.gz")
    p.add_argument("--config", type=Path, default=ROOT / "config.yml", help="serving config")
    p.add_argument("--nlu", type=Path, default=ROOT / "data" / "nlu")
    p.add_argument("--holdout", type=Path, default=HOLDOUT / "nlu_v1.yml")
    p.add_argument("--redflags", type=Path, default=HOLDOUT / "red_flags_v1.yml")
    p.add_argument("--crossval-config", type=Path, default=ROOT / "evaluation" / "config_crossval.yml")
    p.add_argument(
        "--folds",
        type=int,
        default=env_int("FOLDS"),
        help=f"cross-validation folds (default {FOLDS}, or $FOLDS)",
    )
    p.add_argument(
        "--epochs",
        type=int,
        default=env_int("EPOCHS"),
        help="DIET epochs in the cross-validation only (default: as configured, or $EPOCHS)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        default=bool(env_int("QUICK")),
        help=f"cross-validation with {QUICK_FOLDS} folds and {QUICK_EPOCHS} epochs unless "
        "--folds/--epochs say otherwise (or QUICK=1)",
    )
    p.add_argument("--skip-crossval", action="store_true")
    p.add_argument("--holdout-dir", type=Path, default=HOLDOUT, help="held-out sets served through REST")
    p.add_argument("--skip-served", action="store_true", help="no REST evaluation of the held-out sets")
    p.add_argument(
        "--rasa-url",
        default=os.environ.get("RASA_URL") or None,
        help="reuse a running Rasa server (e.g. http://127.0.0.1:5005) instead of starting one",
    )
    p.add_argument("--rasa-port", type=int, default=5805, help="port of the Rasa server started here")
    p.add_argument("--actions-port", type=int, default=5855, help="port of the action server started here")
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
            "holdout",
            run_holdout,
            args.model,
            args.holdout,
            args.results,
            args.reports,
            args.redflags,
            args.nlu,
        )
    else:
        steps["holdout"] = {"status": "failed", "error": f"no model at {rel(args.model)}: run `make train`"}
    if args.skip_crossval:
        steps["crossval"] = {"status": "skipped", "error": "--skip-crossval"}
    else:
        step(
            "crossval",
            run_crossval,
            args.nlu,
            args.crossval_config,
            args.folds,
            args.seed,
            args.results,
            args.epochs,
            topic_classifier_excludes(args.config),
        )
    step("baseline", run_baseline, args.nlu, args.holdout)
    step("redflags", run_redflags, args.redflags, args.config)
    if args.skip_served:
        steps["served"] = {"status": "skipped", "error": "--skip-served"}
    elif not args.model.exists() and not args.rasa_url:
        steps["served"] = {"status": "failed", "error": f"no model at {rel(args.model)}: run `make train`"}
    else:
        step(
            "served",
            run_served,
            args.model,
            args.holdout_dir,
            args.nlu,
            args.rasa_url,
            args.rasa_port,
            args.actions_port,
        )

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
    markdown = render_markdown(summary) + "\n" + render_served(summary)
    (args.reports / "evaluation.md").write_text(markdown.rstrip("\n") + "\n", encoding="utf-8")
    (args.reports / "evaluation.json").write_text(
        json.dumps(summary, indent=1, ensure_ascii=False, default=str), encoding="utf-8"
    )
    print("\n== NLU evaluation ==")
    for line in headline(summary) + served_headline(summary):
        print("  " + line)
    print(f"  report: {rel(args.reports / 'evaluation.md')} ({summary['total_seconds']:.0f} s)")
    failed = [k for k, v in steps.items() if v["status"] == "failed"]
    for name in failed:
        print(f"  FAILED {name}: {steps[name]['error']}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

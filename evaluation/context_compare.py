"""The triage's modifiers layer, side by side: the project's own (``modifiers.py``) against
medspacy 1.3.1's ConText (``assistant/triage/context_medspacy.py``) in its variants.

    python -m evaluation.context_compare [--layers own,medspacy,...] [--json out.json]

Needs medspacy, which the served install does not carry:
    .venv/bin/pip install medspacy==1.3.1 -c constraints.txt

Sets: the development sets (tests/redflags/dev_cases.yml, tests/triage/misspelled.yml,
crisis.yml, probes.yml; evaluation/dev/red_flags_dev_v3.yml when it exists) and the
held-out sets (evaluation/holdout/red_flags_v1.yml, red_flags_v2.yml). Only figures are
printed: recall per tier, false alarms, per category; never a case's text (health data,
and the held-out cases must not be read case by case nor tuned to).
Latency is ``assess()`` wall time per message over the dev texts; start-up and memory are
measured in a fresh process per layer (import + ``Triage.from_file`` + one message).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml

ROOT = Path(__file__).resolve().parents[1]
logger = logging.getLogger(__name__)

LAYERS = (
    "own",
    "medspacy",
    "medspacy:own:project:shared",
    "medspacy:own:sentence",
    "medspacy:default:project",
    "medspacy:default:sentence",
    "medspacy:both:project",
)
RANK = {None: 0, "none": 0, "urgent": 1, "emergency": 2}
DEV_SETS = {
    "dev_cases": ROOT / "tests" / "redflags" / "dev_cases.yml",
    "misspelled": ROOT / "tests" / "triage" / "misspelled.yml",
    "crisis": ROOT / "tests" / "triage" / "crisis.yml",
    "probes": ROOT / "tests" / "triage" / "probes.yml",
    "dev_v3": ROOT / "evaluation" / "dev" / "red_flags_dev_v3.yml",
}
HELD_OUT_SETS = {
    "holdout_v1": ROOT / "evaluation" / "holdout" / "red_flags_v1.yml",
    "holdout_v2": ROOT / "evaluation" / "holdout" / "red_flags_v2.yml",
}
INSTALL_HINT = "medspacy is not installed: .venv/bin/pip install medspacy==1.3.1 -c constraints.txt"


def _case(text: Any, expect: Any, flags: Any = None, category: Optional[str] = None) -> Dict[str, Any]:
    if isinstance(flags, str):
        flags = [flags]
    expect = expect or "none"
    return {
        "text": str(text),
        "expect": expect,
        "flags": [f for f in (flags or []) if f and f != "none"],
        "category": category or expect,
    }


def load_cases(path: Path) -> List[Dict[str, Any]]:
    """Any of the project's red-flag case files as [{text, expect, flags, category}]."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if isinstance(data, list):
        data = {"cases": data}
    cases: List[Dict[str, Any]] = []
    for case in data.get("cases") or []:
        cases.append(_case(case["text"], case.get("expect"), case.get("flags", case.get("flag")), case.get("category")))
    for text in data.get("positives") or []:  # crisis.yml
        cases.append(_case(text, "emergency", ["crisis"], "crisis"))
    for text in data.get("traps") or []:
        cases.append(_case(text, "none", [], "crisis_trap"))
    for section in ("misspelled", "negation_is_flag"):  # probes.yml
        for case in data.get(section) or []:
            cases.append(_case(case["text"], case.get("expect"), case.get("flag"), section))
    crisis = data.get("crisis")
    for text in crisis if isinstance(crisis, list) else []:  # probes.yml
        cases.append(_case(text, "emergency", ["crisis"], "crisis"))
    harmless = data.get("harmless")
    if isinstance(harmless, dict):
        for category, texts in harmless.items():
            cases.extend(_case(text, "none", [], "harmless_" + str(category)) for text in texts or [])
    return cases


def score(cases: List[Dict[str, Any]], results: List[Any]) -> Dict[str, Any]:
    """Emergency / urgent recall (tier at least the expected one), false-alarm rate on the
    'none' cases, and both per category; ``exact`` = tier and flag set as expected."""

    def figures(rows: List[Any]) -> Dict[str, Any]:
        out: Dict[str, Any] = {"n": len(rows)}
        for tier in ("emergency", "urgent"):
            positives = [(c, r) for c, r in rows if c["expect"] == tier]
            found = sum(RANK[r.tier] >= RANK[tier] for _, r in positives)
            out[tier] = [found, len(positives)]
        negatives = [(c, r) for c, r in rows if c["expect"] == "none"]
        out["false_alarms"] = [sum(bool(r.findings) for _, r in negatives), len(negatives)]
        out["exact"] = sum(
            (r.tier or "none") == c["expect"] and (not c["flags"] or set(r.flags) == set(c["flags"])) for c, r in rows
        )
        return out

    rows = list(zip(cases, results))
    overall = figures(rows)
    categories = sorted({c["category"] for c in cases})
    overall["categories"] = {name: figures([(c, r) for c, r in rows if c["category"] == name]) for name in categories}
    return overall


def _percentile(values: List[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def measure_layer(layer: str, nlp: Any, sets: Dict[str, List[Dict[str, Any]]]) -> Dict[str, Any]:
    from assistant.triage.engine import Triage

    started = time.perf_counter()
    triage = Triage.from_file(nlp=nlp, context=layer)
    out: Dict[str, Any] = {"layer": layer, "build_s": round(time.perf_counter() - started, 2), "sets": {}}
    timings: List[float] = []
    cpu: List[float] = []
    for name, cases in sets.items():
        results = []
        for case in cases:
            tick, cpu_tick = time.perf_counter(), time.thread_time()
            results.append(triage.assess(case["text"]))
            if name in DEV_SETS:
                timings.append((time.perf_counter() - tick) * 1000)
                cpu.append((time.thread_time() - cpu_tick) * 1000)
        out["sets"][name] = score(cases, results)
    out["latency_ms"] = {
        "n": len(timings),
        "p50": round(statistics.median(timings), 2),
        "p95": round(_percentile(timings, 0.95), 2),
        "cpu_p50": round(statistics.median(cpu), 2),
        "cpu_p95": round(_percentile(cpu, 0.95), 2),
    }
    return out


def startup(layer: str) -> Dict[str, Any]:
    """In a fresh process: seconds to import and build, and resident memory after one message."""
    code = (
        "import os, time, resource, json, logging; logging.disable(logging.WARNING); t=time.perf_counter();"
        "from assistant.nlp import load_nlp; from assistant.triage.engine import Triage; nlp=load_nlp();"
        "t1=time.perf_counter(); rss0=int(open('/proc/self/statm').read().split()[1])*os.sysconf('SC_PAGE_SIZE');"
        f"tr=Triage.from_file(nlp=nlp, context={layer!r}); tr.assess('no numbness in my groin, just an ache');"
        "rss=int(open('/proc/self/statm').read().split()[1])*os.sysconf('SC_PAGE_SIZE');"
        "print(json.dumps({'spacy_load_s': round(t1-t, 2), 'triage_build_s': round(time.perf_counter()-t1, 2),"
        "'rss_mb': round(rss/2**20, 1), 'triage_rss_mb': round((rss-rss0)/2**20, 1),"
        "'max_rss_mb': round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024, 1)}))"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _cell(pair: List[int]) -> str:
    found, total = pair
    return f"{found}/{total} = {found / total:.3f}" if total else "-"


def table(reports: List[Dict[str, Any]]) -> str:
    """The side-by-side table (markdown): one row per set and figure, one column per layer."""
    lines = ["| set | figure | " + " | ".join(r["layer"] for r in reports) + " |"]
    lines.append("|---|---|" + "---|" * len(reports))
    for name in reports[0]["sets"]:
        for figure in ("emergency", "urgent", "false_alarms"):
            cells = [_cell(r["sets"][name][figure]) for r in reports]
            if set(cells) != {"-"}:
                lines.append(f"| {name} | {figure} | " + " | ".join(cells) + " |")
        lines.append(
            f"| {name} | exact tier+flags | "
            + " | ".join(f"{r['sets'][name]['exact']}/{r['sets'][name]['n']}" for r in reports)
            + " |"
        )
    for label, low, high in (("wall", "p50", "p95"), ("CPU", "cpu_p50", "cpu_p95")):
        lines.append(
            f"| dev texts | assess() {label} p50 / p95 ms | "
            + " | ".join(f"{r['latency_ms'][low]} / {r['latency_ms'][high]}" for r in reports)
            + " |"
        )
    if all("startup" in r for r in reports):
        for key in ("triage_build_s", "triage_rss_mb", "rss_mb"):
            lines.append(f"| fresh process | {key} | " + " | ".join(str(r["startup"][key]) for r in reports) + " |")
    return "\n".join(lines)


def category_table(reports: List[Dict[str, Any]], set_name: str) -> str:
    """Per category of one set: recall of its positives and false alarms on its negatives."""
    lines = [
        f"| {set_name} category | " + " | ".join(r["layer"] for r in reports) + " |",
        "|---|" + "---|" * len(reports),
    ]
    for category in reports[0]["sets"][set_name]["categories"]:
        cells = []
        for report in reports:
            figures = report["sets"][set_name]["categories"][category]
            parts = [f"{tier[:3]} {_cell(figures[tier])}" for tier in ("emergency", "urgent") if figures[tier][1]]
            if figures["false_alarms"][1]:
                parts.append(f"FA {_cell(figures['false_alarms'])}")
            cells.append("; ".join(parts))
        lines.append(f"| {category} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--layers", default=",".join(LAYERS), help="comma-separated: own, medspacy[:cues[:scope]]")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--no-startup", action="store_true", help="skip the fresh-process start-up/memory runs")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    layers = [layer.strip() for layer in args.layers.split(",") if layer.strip()]
    if any(layer != "own" for layer in layers):
        try:
            import medspacy  # noqa: F401
        except ImportError:
            print(INSTALL_HINT, file=sys.stderr)
            return 2
    from assistant.nlp import load_nlp

    sets = {name: load_cases(path) for name, path in {**DEV_SETS, **HELD_OUT_SETS}.items() if path.exists()}
    nlp = load_nlp()
    reports = [measure_layer(layer, nlp, sets) for layer in layers]
    if not args.no_startup:
        for report in reports:
            report["startup"] = startup(report["layer"])
    print(table(reports))
    for name in ("holdout_v2", "probes", "dev_v3"):
        if name in sets and len(reports[0]["sets"][name]["categories"]) > 3:
            print()
            print(category_table(reports, name))
    if args.json:
        Path(args.json).write_text(json.dumps(reports, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

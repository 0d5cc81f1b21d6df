"""The red-flag triage on its own (no classifier, no dialogue) over a held-out case file."""

from pathlib import Path
from typing import Any, Dict

from evaluation.common import ROOT, load_redflag_cases, pipeline_option
from evaluation.metrics import redflag_metrics


def run_redflags(cases_path: Path, config: Path) -> Dict[str, Any]:
    from assistant.nlp import load_nlp
    from assistant.triage.engine import Triage

    rules = ROOT / pipeline_option(config, "RedFlagDetector", "rules", "content/red_flags.yml")
    spacy_dir = ROOT / pipeline_option(config, "RedFlagDetector", "spacy_model", "models/spacy")
    cases = load_redflag_cases(cases_path)
    triage = Triage.from_file(str(rules), nlp=load_nlp(spacy_dir))
    detected = []
    for case in cases:
        result = triage.assess(case["text"])
        detected.append((result.tier, list(result.flags or [])))
    return {"rules": str(rules.relative_to(ROOT)), **redflag_metrics(cases, detected)}

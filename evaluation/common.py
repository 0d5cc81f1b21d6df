"""What every evaluation step shares: the project root, data loaders, config look-ups."""

import datetime as dt
import hashlib
import logging
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import yaml

ROOT = Path(__file__).resolve().parents[1]


def load_redflag_cases(path: Path) -> List[Dict[str, Any]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    cases = data.get("cases") or []
    for i, case in enumerate(cases):
        if not case.get("text") or case.get("expect") not in ("emergency", "urgent", "none"):
            raise ValueError(f"{path}: case {i} needs text and expect: emergency|urgent|none")
    return cases


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

"""Training figures: the bare `rasa init` bot (made and trained here) and this assistant
(timed from an empty cache by `make bench-train`, recorded for the report)."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from bench.servers import RASA, ROOT, base_env

logger = logging.getLogger(__name__)

STATE = ROOT / "build" / "bench-perf"
BARE = ROOT / "build" / "bare-bot"
TRAIN_RECORD = STATE / "assistant-train.json"


def training_env(state: Path, name: str) -> Dict[str, str]:
    """A fresh, empty training cache: Rasa would otherwise reuse .rasa/cache and time almost nothing."""
    cache = state / f"train-cache-{name}"
    shutil.rmtree(cache, ignore_errors=True)
    return dict(base_env(), RASA_CACHE_DIRECTORY=str(cache))


def timed(cmd: List[str], cwd: Path, log_path: Path, env: Dict[str, str], timeout: float = 3600) -> float:
    t0 = time.perf_counter()
    with open(log_path, "w") as out:
        subprocess.run(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, check=True, timeout=timeout)
    return time.perf_counter() - t0


def bare_bot(retrain: bool) -> Optional[float]:
    """Make (or reuse) the bare bot; its training seconds when trained in this run."""
    if not retrain and list((BARE / "models").glob("*.tar.gz")):
        return None
    shutil.rmtree(BARE, ignore_errors=True)
    BARE.mkdir(parents=True)  # `rasa init --no-prompt` wants the directory to exist
    return timed(
        [RASA, "init", "--no-prompt", "--init-dir", str(BARE)],
        ROOT,
        STATE / "bare-train.log",
        env=training_env(STATE, "bare"),
    )


def assistant_training() -> float:
    """`make bench-train`: this assistant from an empty cache into a separate --out dir."""
    out = STATE / "models"
    shutil.rmtree(out, ignore_errors=True)
    seconds = timed(
        [
            RASA,
            "train",
            "--force",
            "--config",
            "config.yml",
            "--domain",
            "domain.yml",
            "--data",
            "data",
            "--out",
            str(out),
            "--fixed-model-name",
            "assistant",
        ],
        ROOT,
        STATE / "assistant-train.log",
        env=training_env(STATE, "assistant"),
    )
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    TRAIN_RECORD.write_text(json.dumps({"seconds": seconds, "when": when}))
    return seconds


def assistant_model() -> Tuple[Path, Optional[float], str]:
    """(model to serve, training seconds, where that figure comes from)."""
    model = ROOT / "models" / "gluteus-assistant.tar.gz"
    if not model.exists():
        models = sorted((ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
        if not models:
            raise SystemExit("no models/*.tar.gz: run `make train`")
        model = models[-1]
    if TRAIN_RECORD.exists():
        record = json.loads(TRAIN_RECORD.read_text())
        return model, record["seconds"], f"`make bench-train`, {record['when']}"
    return model, None, "not measured: run `make bench-train`"

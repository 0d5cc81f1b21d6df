"""The project's spaCy pipeline (blank English + sentencizer + the lexicon's entity ruler,
built by ``make spacy-model``), loaded the same way by every part that needs it."""

from pathlib import Path
from typing import Optional, Union

from assistant.paths import data_path

SPACY_MODEL_ENV_VAR = "SPACY_MODEL_PATH"
DEFAULT_SPACY_MODEL = "models/spacy"


def spacy_model_path() -> Path:
    return data_path(SPACY_MODEL_ENV_VAR, DEFAULT_SPACY_MODEL)


def load_nlp(model_dir: Optional[Union[str, Path]] = None):  # -> spacy.Language
    """Load the pipeline; a clear error when ``make spacy-model`` has not run yet."""
    import spacy  # local import: spaCy loads only where it is used

    model_dir = Path(model_dir) if model_dir else spacy_model_path()
    if not (model_dir / "meta.json").exists():
        raise FileNotFoundError(f"spaCy pipeline {model_dir} is missing: run `make spacy-model`")
    return spacy.load(model_dir)

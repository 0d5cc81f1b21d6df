"""Reading and writing a trainable component's pickled model in Rasa's model storage."""

from __future__ import annotations

import logging
import pickle
from typing import Any, Optional

from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage

logger = logging.getLogger(__name__)


def read(model_storage: ModelStorage, resource: Resource, file_name: str) -> Optional[Any]:
    """The pickled model, or None when the package holds none (the caller says what that means)."""
    try:
        with model_storage.read_from(resource) as directory:
            with open(directory / file_name, "rb") as handle:
                return pickle.load(handle)  # noqa: S301 - our own trained artefact
    except (ValueError, FileNotFoundError):
        return None


def write(model_storage: ModelStorage, resource: Resource, file_name: str, model: Any) -> None:
    with model_storage.write_to(resource) as directory:
        with open(directory / file_name, "wb") as handle:
            pickle.dump(model, handle)

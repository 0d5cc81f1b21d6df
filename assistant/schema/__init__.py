"""Schema checks for the content files, with the file and line of every problem.

``check_file(path)`` picks the schema by file (``SCHEMAS``), validates the YAML and turns
each pydantic error into a ``Problem``: ``content/catalogue.yml:118: topics.causes.folow_ups:
unknown key 'folow_ups' (did you mean 'follow_ups'?)``. The red-flag table has its own
schema in ``assistant/triage``; ``assistant/validate.py`` runs both.
"""

import difflib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Type, Union

import yaml
from pydantic import BaseModel, ValidationError

from assistant.paths import ROOT
from assistant.schema.locate import line_of, node_lines
from assistant.schema.models import (
    CatalogueFile,
    ClinicProfileFile,
    ConversationFile,
    LexiconFile,
)

logger = logging.getLogger(__name__)

# Schema per content file, by path relative to the project root; profiles by folder.
SCHEMAS: Dict[str, Type[BaseModel]] = {
    "content/catalogue.yml": CatalogueFile,
    "content/conversation.yml": ConversationFile,
    "content/lexicon.yml": LexiconFile,
    "clinic/profile.yml": ClinicProfileFile,
}
PROFILE_FOLDERS = ("clinic/examples",)

__all__ = ["Problem", "SCHEMAS", "check_file", "check_text", "schema_for", "display_path"]


@dataclass(frozen=True)
class Problem:
    """One schema problem: where (file, line, key path) and what."""

    file: str
    line: int
    loc: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.loc}: {self.message}" if self.loc else f"{where}: {self.message}"


def display_path(path: Path) -> str:
    """The path as the project names it (relative to the root when inside it)."""
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def schema_for(path: Path) -> Optional[Type[BaseModel]]:
    """The schema of a project file, or None if it has none here."""
    name = display_path(path)
    if name in SCHEMAS:
        return SCHEMAS[name]
    if any(name.startswith(folder + "/") for folder in PROFILE_FOLDERS):
        return ClinicProfileFile
    return None


def _allowed(model: Type[BaseModel], loc: Sequence[Union[str, int]]) -> List[str]:
    """The keys the schema allows at the mapping that holds ``loc``'s last part."""
    current: Optional[Type[BaseModel]] = model
    for part in loc[:-1]:
        if current is None or not isinstance(part, str):
            return []
        field = current.__fields__.get(part)
        if field is None:  # a free key (topic id, source key) under a Dict field
            continue
        sub = field.type_
        current = sub if isinstance(sub, type) and issubclass(sub, BaseModel) else None
    return sorted(current.__fields__) if current is not None else []


def _message(model: Type[BaseModel], error: Mapping[str, Any]) -> str:
    loc = error["loc"]
    if error["type"] == "value_error.extra":
        key = str(loc[-1])
        allowed = _allowed(model, loc)
        close = difflib.get_close_matches(key, allowed, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        listed = f"; allowed: {', '.join(allowed)}" if allowed else ""
        return f"unknown key '{key}'{hint}{listed}"
    if error["type"] == "value_error.missing":
        return f"required key '{loc[-1]}' is missing"
    return error["msg"]


def check_text(text: str, model: Type[BaseModel], file: str) -> List[Problem]:
    """Schema problems of one YAML document (``file`` is only used in the messages)."""
    try:
        data = yaml.safe_load(text)
        lines = node_lines(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return [Problem(file, mark.line + 1 if mark else 0, "", f"not valid YAML: {exc}")]
    if not isinstance(data, dict):
        return [Problem(file, 1, "", "the file must hold a YAML mapping")]
    try:
        model.parse_obj(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = [p for p in error["loc"] if p != "__root__"]
            dotted = ".".join(str(p) for p in loc)
            problems.append(Problem(file, line_of(lines, loc), dotted, _message(model, error)))
        return problems
    return []


def check_file(path: Path, model: Optional[Type[BaseModel]] = None) -> List[Problem]:
    """Schema problems of a content file (schema chosen by path unless given)."""
    model = model or schema_for(path)
    if model is None:
        raise ValueError(f"no schema for {path}")
    return check_text(Path(path).read_text(encoding="utf-8"), model, display_path(path))

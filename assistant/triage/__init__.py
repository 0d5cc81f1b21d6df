"""Red-flag triage: rules in ``content/red_flags.yml``, clinical basis
``../shared/clinical/red-flags.md``. Layers: see ``assistant.triage.engine``.

Importing this package is light (no spaCy, no pydantic): ``Triage`` and ``RulesError`` are
loaded on first use; ``Finding`` and ``TriageResult`` are plain dataclasses.
"""

from typing import Any

from assistant.triage.results import Finding, TriageResult

__all__ = ["Finding", "RulesError", "Triage", "TriageResult"]


def __getattr__(name: str) -> Any:
    if name == "Triage":
        from assistant.triage.engine import Triage

        return Triage
    if name == "RulesError":
        from assistant.triage.schema import RulesError

        return RulesError
    raise AttributeError(f"module 'assistant.triage' has no attribute {name!r}")

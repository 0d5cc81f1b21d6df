"""Red-flag triage: rules in ``content/red_flags.yml``, clinical basis
``../shared/clinical/red-flags.md``."""
from assistant.triage.engine import Finding, RulesError, Triage, TriageResult

__all__ = ["Finding", "RulesError", "Triage", "TriageResult"]

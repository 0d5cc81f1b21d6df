"""What the triage returns: findings (flag, tier, patient-facing wording) and the result.

Kept apart from the engine so that the NLU component, the channels and the reply builder
can name these types without loading spaCy or the rule table.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

logger = logging.getLogger(__name__)

TIERS = ("emergency", "urgent")
TIER_RANK = {"emergency": 2, "urgent": 1}


@dataclass(frozen=True)
class Finding:
    """One red flag found in a message."""

    flag: str  # e.g. "saddle_numbness"
    tier: str  # "emergency" | "urgent"
    watch_for: str  # patient-facing wording from the YAML

    def as_dict(self) -> Dict[str, str]:
        """The finding as the NLU parse data and the reply builder carry it."""
        return {"flag": self.flag, "tier": self.tier, "watch_for": self.watch_for}


@dataclass(frozen=True)
class TriageResult:
    """Findings (de-duplicated, most severe first) and whether a red-flag subject was
    mentioned only hypothetically or as a question (the reply then adds the safety net).

    ``ruled_out``: flags the message mentions but the context rules out (they would fire
    if its negated, past, someone else's, hypothetical or hyperbolic mentions were
    current). The learned head's suspicion of one of these asks no check question: the
    rules read that very mention and decided. Not part of equality (a summary of why
    nothing fired, not a result)."""

    findings: Tuple[Finding, ...]
    hypothetical: bool
    ruled_out: Tuple[str, ...] = field(default=(), compare=False)

    @property
    def tier(self) -> Optional[str]:
        """The highest tier found: "emergency", "urgent" or None."""
        if not self.findings:
            return None
        return max((finding.tier for finding in self.findings), key=lambda tier: TIER_RANK.get(tier, 0))

    @property
    def flags(self) -> List[str]:
        return [finding.flag for finding in self.findings]


EMPTY_RESULT = TriageResult(findings=(), hypothetical=False)

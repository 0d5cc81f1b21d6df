"""The concept Matcher's matches on a long text, without trying every pattern at every token.

Why: spaCy's ``Matcher`` starts every pattern at every token, so its cost is tokens x
patterns (about 2,000 patterns after the table's expansions): 100-120 ms for a
2,000-character message here, most of its triage time. Most patterns cannot match a given
text at all: each names words that must be there ("pass urine" needs "pass" and "urine"),
and a long message about hip pain holds few of them (14 of 1,953 patterns for the bench's
long message, 217 for 2,000 characters of the red-flag development set run together).

What it does: a pattern can match only if, for each of its tokens that is not optional
and requires a NORM or LOWER value (or one of a list), the text has a token with such a
value; the others are left out. For a long text with few possible patterns, a ``Matcher``
of just those is built and run; otherwise (short texts, where building costs more than it
saves) the full matcher is.

Why the matches are the same, in the same order: spaCy's matcher runs one independent
state per (pattern, start); the states of a subset of the patterns evolve, are ordered and
emit matches exactly as they do among all patterns, and a left-out pattern emits nothing
(one of its required tokens is absent). The subset is added in the full matcher's order,
under the same keys; the table uses no match filters or callbacks (checked here: the full
matcher is used if it ever does). tests/triage/test_long_text_paths.py compares both on
long texts made of the test messages.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, FrozenSet, List, Optional, Sequence, Tuple

logger = logging.getLogger(__name__)

# Measured here: building a Matcher (without validation: the full matcher validated every
# pattern) costs about 0.05-0.07 ms per pattern; matching about 0.06 µs per pattern and
# token. The subset is used when building and running it is cheaper.
BUILD_MS_PER_PATTERN = 0.07
MATCH_MS_PER_PATTERN_TOKEN = 0.00006
# Shorter texts (most messages) go straight to the full matcher: a few ms, and looking
# for the possible patterns would cost about as much as it saves.
MIN_TOKENS = 100

Requirement = Tuple[str, FrozenSet[str]]  # ("NORM" | "LOWER", values one of which must occur)


def requirements(pattern: Sequence[Dict[str, Any]]) -> Optional[List[Requirement]]:
    """The values a text must hold for ``pattern`` to match (None: the pattern is not one
    this module understands, treat it as always possible)."""
    out: List[Requirement] = []
    for spec in pattern:
        if not isinstance(spec, dict):
            return None
        upper = {str(key).upper(): value for key, value in spec.items()}
        if upper.get("OP") is not None:
            continue  # optional (or repeated): requires nothing
        for attr in ("NORM", "LOWER"):
            value = upper.get(attr)
            if isinstance(value, str):
                out.append((attr, frozenset((value,))))
            elif isinstance(value, dict) and "IN" in value:
                values = value["IN"]
                if isinstance(values, (list, tuple)) and values and all(isinstance(v, str) for v in values):
                    out.append((attr, frozenset(values)))
    return out


class PatternPrefilter:
    """Chooses, per text, between the full matcher and one of only its possible patterns."""

    def __init__(self, matcher: Any, names: Sequence[str], vocab: Any) -> None:
        self.matcher = matcher
        self.vocab = vocab
        # every pattern in the full matcher's order (one add per concept, in ``names`` order)
        self.patterns: List[Tuple[str, List[Dict[str, Any]]]] = []
        for name in names:
            if matcher.has_key(name):
                self.patterns.extend((name, pattern) for pattern in matcher.get(name)[1])
        covered = sum(1 for name in names if matcher.has_key(name))
        self.usable = covered == len(matcher) and self._plain(matcher)  # len(): concepts, not patterns
        sets: Dict[Requirement, int] = {}
        self.needs: List[Optional[Tuple[int, ...]]] = []
        for _, pattern in self.patterns:
            found = requirements(pattern)
            self.needs.append(None if found is None else tuple(sets.setdefault(r, len(sets)) for r in found))
        self.sets: List[Requirement] = [None] * len(sets)  # type: ignore[list-item]
        for requirement, index in sets.items():
            self.sets[index] = requirement

    @staticmethod
    def _plain(matcher: Any) -> bool:
        """No on_match callbacks and no greedy filters (they would see other matches)."""
        callbacks = getattr(matcher, "_callbacks", None)
        filters = getattr(matcher, "_filter", None)
        if callbacks is None or filters is None:
            return False
        return not any(callbacks.values()) and not any(filters.values())

    def possible(self, doc: Any) -> List[int]:
        """Indexes (in ``self.patterns``) of the patterns that can match ``doc``."""
        present = {"NORM": {token.norm_ for token in doc}, "LOWER": {token.lower_ for token in doc}}
        met = [not present[attr].isdisjoint(values) for attr, values in self.sets]
        return [index for index, needs in enumerate(self.needs) if needs is None or all(met[need] for need in needs)]

    def matches(self, doc: Any) -> List[Tuple[int, int, int]]:
        """What ``self.matcher(doc)`` returns. Call under the triage's lock (spaCy's vocab)."""
        if not self.usable or len(doc) < MIN_TOKENS:
            return self.matcher(doc)
        full_ms = MATCH_MS_PER_PATTERN_TOKEN * len(self.patterns) * len(doc)
        chosen = self.possible(doc)
        subset_ms = BUILD_MS_PER_PATTERN * len(chosen) + MATCH_MS_PER_PATTERN_TOKEN * len(chosen) * len(doc)
        if subset_ms >= full_ms:
            return self.matcher(doc)
        if not chosen:
            return []
        from spacy.matcher import Matcher

        subset = Matcher(self.vocab, validate=False)  # the full matcher validated them
        group: List[List[Dict[str, Any]]] = []
        current = self.patterns[chosen[0]][0]
        for index in chosen:
            name, pattern = self.patterns[index]
            if name != current:
                subset.add(current, group)
                current, group = name, []
            group.append(pattern)
        subset.add(current, group)
        return subset(doc)

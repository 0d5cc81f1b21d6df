"""Normalisation: a patient's text to the canonical words the rule patterns are written in.

Every token gets a ``NORM``: contractions and their spellings ("can't", "cant" -> "can not"),
the table's lexicon of slang and typos ("numbbess" -> "numbness", "bare" -> "bear") and a
small edit-distance correction of long clinical words. Whole-word rewrites ("cnt" ->
"can't") run on the text before it is tokenised, since they change the tokens.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from functools import lru_cache
from typing import Any, Callable, Dict, Iterable, List, Optional, Set, Tuple

from assistant.text import CONTROL_CHARACTERS

logger = logging.getLogger(__name__)

# Texts are processed in chunks of at most this many characters (spaCy has a hard limit).
CHUNK_CHARS = 20_000

# Contractions and their spelling variants, mapped to full words so that patterns can be
# written once ("can not" covers can't, cant, cannot, can’t).
CONTRACTIONS = {
    "n't": "not", "nt": "not", "ca": "can", "wo": "will", "sha": "shall",
    "'m": "am", "m": "am", "'re": "are", "'ve": "have", "ve": "have",
    "'ll": "will", "ll": "will", "'d": "'d", "cannot": "can not",
}  # fmt: skip
APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})
_SPACES_RE = re.compile(r"[^\S\n]{2,}|[^\S\n ]")
POSSESSIVES = frozenset({"my", "our", "his", "her", "their", "your"})


def clean(text: Any) -> str:
    """Text spaCy can take: no control characters, lone surrogates, accents or space runs."""
    if not isinstance(text, str):
        return ""
    # lone surrogates and other unencodable code points cannot go into spaCy's StringStore
    text = text.encode("utf-8", "replace").decode("utf-8", "replace")
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = unicodedata.normalize("NFKC", text)
    text = CONTROL_CHARACTERS.sub(" ", text)
    # runs of spaces would become whitespace tokens inside a phrase ("can't  wee")
    return _SPACES_RE.sub(" ", text)


def chunks(text: str, size: int = CHUNK_CHARS) -> Iterable[str]:
    """Split long text at sentence-ish boundaries into pieces of at most ``size`` chars."""
    if len(text) <= size:
        yield text
        return
    pos = 0
    length = len(text)
    while pos < length:
        end = min(pos + size, length)
        if end < length:
            cut = max(text.rfind(mark, pos + size // 2, end) for mark in ".!?\n")
            if cut <= pos:
                cut = text.rfind(" ", pos + size // 2, end)
            if cut > pos:
                end = cut + 1
        yield text[pos:end]
        pos = end


def osa_distance(first: str, second: str, limit: int) -> int:
    """Optimal string alignment distance (edits incl. adjacent transpositions), capped."""
    if abs(len(first) - len(second)) > limit:
        return limit + 1
    before_previous: List[int] = []
    previous = list(range(len(second) + 1))
    for i in range(1, len(first) + 1):
        current = [i] + [0] * len(second)
        row_min = current[0]
        for j in range(1, len(second) + 1):
            cost = 0 if first[i - 1] == second[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and first[i - 1] == second[j - 2] and first[i - 2] == second[j - 1]:
                current[j] = min(current[j], before_previous[j - 2] + 1)
            row_min = min(row_min, current[j])
        if row_min > limit:
            return limit + 1
        before_previous, previous = previous, current
    return previous[-1]


class Normaliser:
    """The lexicon of one rule table: canonical word per lower-case token, and rewrites."""

    def __init__(
        self,
        variants: Dict[str, List[str]],
        rewrite: Dict[str, str],
        fuzzy_targets: Iterable[str],
        fuzzy_min_length: int,
        fuzzy_protect: Iterable[str],
    ) -> None:
        self.variants: Dict[str, str] = {}
        for canonical, spellings in variants.items():
            for spelling in spellings or []:
                self.variants[str(spelling).lower().translate(APOSTROPHES)] = str(canonical).lower()
        self.rewrites: List[Tuple[re.Pattern, str]] = [
            (re.compile(r"(?<![\w'])" + re.escape(str(word)) + r"(?![\w'])", re.IGNORECASE), str(replacement))
            for word, replacement in rewrite.items()
        ]
        self.fuzzy_targets = sorted({str(word).lower() for word in fuzzy_targets})
        self.fuzzy_min_length = int(fuzzy_min_length)
        self.fuzzy_protect = {str(word).lower() for word in fuzzy_protect}
        # words the rules themselves use are never "typo-corrected"; set by the compiler
        self.vocabulary: Set[str] = set()
        self.canonical: Callable[[str], str] = lru_cache(maxsize=20000)(self._canonical_uncached)

    def set_vocabulary(self, words: Iterable[str]) -> None:
        self.vocabulary = set(words)
        self.canonical.cache_clear()  # type: ignore[attr-defined]

    def rewrite(self, text: str) -> str:
        """Lower case (tokenizer exceptions then split "CANT" like "cant"), whole-word rewrites."""
        text = text.lower()
        for pattern, replacement in self.rewrites:
            text = pattern.sub(replacement, text)
        return text

    def _canonical_uncached(self, lower: str) -> str:
        lower = lower.translate(APOSTROPHES)
        if lower in self.variants:
            return self.variants[lower]
        if lower in CONTRACTIONS:
            return CONTRACTIONS[lower]
        corrected = self.correct_typo(lower)
        return self.variants.get(corrected, corrected) if corrected else lower

    def correct_typo(self, lower: str) -> Optional[str]:
        """The clinical word a long unknown token is a typo of, or None."""
        if (
            len(lower) < self.fuzzy_min_length
            or not lower.isalpha()
            or lower in self.fuzzy_protect
            or lower in self.vocabulary
        ):
            return None
        best, best_distance = None, 99
        for target in self.fuzzy_targets:
            if target[0] != lower[0]:
                continue
            limit = 2 if len(target) >= 9 else 1
            distance = osa_distance(lower, target, limit)
            if distance <= limit and distance < best_distance:
                best, best_distance = target, distance
        return best

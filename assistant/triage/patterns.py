"""The table's small pattern notation, compiled to spaCy ``Matcher`` patterns on ``NORM``.

    word        one token (written as a patient writes it: "can't" is "can not")
    a|b|c       any of these; ``pass+urine`` is the phrase "pass urine"
    $SET        any entry of ``terms.SET`` (entries may be phrases)
    tok?        optional;   ~3  up to three tokens of anything;   _  exactly one token
    /regex/     token text (lower case) matching the regex
    !a|b        one token that is none of these

A raw spaCy pattern (a list of token dicts) is accepted too. Phrases in word lists
(``next_in``, ``prev_not_in`` ...) are normalised the same way, so they match the NORMs.
"""

from __future__ import annotations

import logging
import re
from itertools import product
from typing import Any, Dict, Iterable, List, Set, Tuple

from assistant.triage.lexicon import Normaliser
from assistant.triage.schema import RulesError

logger = logging.getLogger(__name__)

Phrase = Tuple[str, ...]
TokenPattern = List[Dict[str, Any]]
MAX_EXPANSION = 5000


class PatternCompiler:
    """Compiles patterns and phrase lists against one pipeline's tokenizer and lexicon."""

    def __init__(self, nlp: Any, normaliser: Normaliser, terms: Dict[str, List[str]]) -> None:
        self.nlp = nlp
        self.normaliser = normaliser
        self.terms: Dict[str, List[List[str]]] = {
            name: [self.tokens(str(item)) for item in items] for name, items in terms.items()
        }

    def tokens(self, phrase: str) -> List[str]:
        """A phrase as the canonical words the matcher sees."""
        out: List[str] = []
        for token in self.nlp.make_doc(str(phrase)):
            if not token.is_space:
                out.extend(self.normaliser.canonical(token.lower_).split())
        return out

    def phrases(self, items: Iterable[Any]) -> List[Phrase]:
        """A word list as phrases; ``$SET`` expands to the term set, ``<end>``/``<punct>`` stay."""
        out: List[Phrase] = []
        for item in items:
            if isinstance(item, bool) or not isinstance(item, (str, int)):
                raise RulesError(f"word lists hold strings; got {item!r} (quote it)")
            item = str(item)
            if item.startswith("$"):
                out.extend(tuple(phrase) for phrase in self.term_set(item))
            elif item in ("<end>", "<punct>"):
                out.append((item,))
            else:
                out.append(tuple(self.tokens(item)))
        return out

    def term_set(self, ref: str) -> List[List[str]]:
        name = ref[1:]
        if name not in self.terms:
            raise RulesError(f"unknown term set {ref!r}")
        return self.terms[name]

    def compile(self, pattern: Any, concept: str) -> List[TokenPattern]:
        """One notation pattern -> the Matcher patterns it stands for."""
        if isinstance(pattern, list):  # a raw spaCy token pattern
            return [pattern]
        if not isinstance(pattern, str) or not pattern.strip():
            raise RulesError(f"concept {concept}: bad pattern {pattern!r}")
        slots: List[List[TokenPattern]] = []
        for token in pattern.split():
            slots.extend(self._slots(token, concept))
        out = []
        for combination in product(*slots):
            sequence = [spec for part in combination for spec in part]
            if sequence and any(spec.get("OP") not in ("?", "*") for spec in sequence):
                out.append(sequence)
            if len(out) > MAX_EXPANSION:
                raise RulesError(f"concept {concept}: pattern {pattern!r} expands too much")
        if not out:
            raise RulesError(f"concept {concept}: pattern {pattern!r} matches nothing")
        return out

    def _slots(self, token: str, concept: str) -> List[List[TokenPattern]]:
        """One notation token -> one or more slots; each slot is a list of alternatives."""
        gap = re.fullmatch(r"~(\d+)", token)
        if gap:
            return [[[{"IS_SENT_START": False, "OP": "?"}]] for _ in range(int(gap.group(1)))]
        if token == "_":
            return [[[{"IS_SENT_START": False}]]]
        optional = token.endswith("?") and len(token) > 1
        if optional:
            token = token[:-1]
        if token.startswith("/") and token.endswith("/") and len(token) > 2:
            alternatives: List[TokenPattern] = [[{"LOWER": {"REGEX": token[1:-1]}}]]
        elif token.startswith("!"):
            alternatives = [[{"NORM": {"NOT_IN": sorted(self._excluded_words(token[1:]))}}]]
        else:
            alternatives = self._alternatives(token, concept)
        if optional:
            if len(alternatives) == 1 and len(alternatives[0]) == 1:
                alternatives = [[dict(alternatives[0][0], OP="?")]]
            else:
                alternatives = alternatives + [[]]
        return [alternatives]

    def _excluded_words(self, body: str) -> Set[str]:
        words: Set[str] = set()
        for alternative in body.split("|"):
            if alternative.startswith("$"):
                words.update(" ".join(phrase) for phrase in self.term_set(alternative) if len(phrase) == 1)
            else:
                words.update(self.tokens(alternative))
        return words

    def _alternatives(self, token: str, concept: str) -> List[TokenPattern]:
        singles: Set[str] = set()
        multis: List[List[str]] = []
        for alternative in token.split("|"):
            if alternative.startswith("$"):
                sequences = self.term_set(alternative)
            else:
                sequences = [self.tokens(alternative.replace("+", " "))]
            for sequence in sequences:
                if len(sequence) == 1:
                    singles.add(sequence[0])
                elif sequence:
                    multis.append(sequence)
        alternatives: List[TokenPattern] = []
        if singles:
            alternatives.append(
                [{"NORM": {"IN": sorted(singles)}} if len(singles) > 1 else {"NORM": next(iter(singles))}]
            )
        for sequence in multis:
            alternatives.append([{"NORM": word} for word in sequence])
        if not alternatives:
            raise RulesError(f"concept {concept}: empty token {token!r}")
        return alternatives


def pattern_words(patterns: Iterable[Any]) -> Set[str]:
    """The plain words a list of notation patterns uses (never typo-corrected)."""
    words: Set[str] = set()
    for pattern in patterns:
        if isinstance(pattern, str):
            for word in re.split(r"[\s|+]+", pattern.lower()):
                word = word.strip("?!")
                if word.isalpha():
                    words.add(word)
    return words

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
from typing import Any, Callable, Dict, FrozenSet, Iterable, List, Optional, Set, Tuple

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
# Characters patients' keyboards type for an apostrophe; all are read as the straight one.
APOSTROPHE_CHARS = "'\u2019\u2018\u02bc`\u00b4"
APOSTROPHES = str.maketrans({char: "'" for char in APOSTROPHE_CHARS[1:]})
_SPACES_RE = re.compile(r"[^\S\n]{2,}|[^\S\n ]")
POSSESSIVES = frozenset({"my", "our", "his", "her", "their", "your"})
ENGLISH_DICTIONARY = "frequency_dictionary_en_82_765.txt"


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


@lru_cache(maxsize=1)
def english_words() -> FrozenSet[str]:
    """The English words of symspellpy's frequency dictionary (82,765 words). A token that
    is a real word is never "corrected" into a red-flag word ("bowl", "pail", "wait")."""
    from importlib import resources

    text = resources.files("symspellpy").joinpath(ENGLISH_DICTIONARY).read_text(encoding="utf-8")
    return frozenset(line.split(" ", 1)[0] for line in text.splitlines() if line)


# First letters that sound alike: "kancer" is cancer, "kemo" chemo, "sciatica" may start
# with an s. Any other first letter must agree (patients rarely get it wrong, and it keeps
# "ive" from becoming "give").
SOUND_ALIKE_INITIALS: Dict[str, FrozenSet[str]] = {
    "c": frozenset("ks"),
    "k": frozenset("cq"),
    "q": frozenset("ck"),
    "s": frozenset("c"),
}
VOWELS = frozenset("aeiouy")


def skeleton(word: str) -> str:
    """The consonants of ``word`` in order, doubles collapsed, first letter kept: a vowel
    confusion ("tumer", "cansar") keeps it, a wrong consonant does not."""
    out = [word[:1]]
    for letter in word[1:]:
        if letter not in VOWELS and letter != out[-1]:
            out.append(letter)
    return "".join(out)


class TypoCorrector:
    """Reads a misspelt token as the red-flag vocabulary word it is one or two edits from
    (symspellpy: optimal string alignment, so adjacent swaps count as one edit).

    A token is a candidate only if it is a non-word: letters only, at least ``min_length``
    long, not an English word, not a word the rules use and not protected. Edit distance by
    length: one edit up to seven letters, two from eight; from five letters a second edit is
    allowed when both words keep the same consonants (a vowel confusion: "tumer" tumor,
    "fevah" is not). The first letter must agree or sound alike (``SOUND_ALIKE_INITIALS``).
    The targets are the rules' words, the lexicon's canonical words and its known
    misspellings ("kemo" for "keemo", which the caller maps on to "chemo")."""

    def __init__(
        self, targets: Iterable[str], min_length: int, protect: Iterable[str], secondary: Iterable[str] = ()
    ) -> None:
        from symspellpy import SymSpell

        # known misspellings among the targets ("legg"): an equally close real word wins
        # ("legz" is "legs", not "legg" -> "leg")
        self.secondary = frozenset(secondary)
        self.min_length = min_length
        self.protect = frozenset(protect)
        self.vocabulary: FrozenSet[str] = frozenset()
        self.english = english_words()
        self.targets = sorted({word for word in targets if word.isalpha() and len(word) >= 3})
        self.target_set = frozenset(self.targets)
        self.symspell = SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
        for word in self.targets:
            self.symspell.create_dictionary_entry(word, 1)

    def correct(self, lower: str) -> Optional[str]:
        if (
            len(lower) < self.min_length
            or not lower.isalpha()
            or lower in self.protect
            or lower in self.vocabulary
            or lower in self.english
        ):
            return None
        dialect = self._eye_dialect(lower)
        if dialect is not None:
            return dialect
        from symspellpy import Verbosity

        limit = 1 if len(lower) <= 7 else 2
        first = lower[0]
        initials = {first} | SOUND_ALIKE_INITIALS.get(first, frozenset())
        suggestions = self.symspell.lookup(lower, Verbosity.ALL, max_edit_distance=2 if len(lower) >= 5 else 1)
        shape = skeleton(lower)
        candidates: List[Tuple[int, str]] = []
        for suggestion in suggestions:
            term = str(suggestion.term)
            if term[0] not in initials:
                continue
            if suggestion.distance <= limit or (len(term) >= 5 and skeleton(term) == shape):
                candidates.append((int(suggestion.distance), term))
        if not candidates:
            return None
        best = min(distance for distance, _ in candidates)
        return min(
            (term for distance, term in candidates if distance == best),
            key=lambda t: (_rank(lower, t), t in self.secondary),
        )

    def _eye_dialect(self, lower: str) -> Optional[str]:
        """Endings typed as spoken, before any edit distance: "leakin" leaking, "slapin"
        slapping, "tripd" tripped, "turnd" turned, "feva" fever. Only a rules word counts."""
        stem = lower[:-2] if lower.endswith("in") else lower[:-1]
        if lower.endswith("in"):
            candidates = [lower + "g", stem + stem[-1:] + "ing"]
        elif lower.endswith("d") and not lower.endswith("ed"):
            candidates = [stem + "ed", stem + stem[-1:] + "ed"]
        elif lower.endswith("a"):
            candidates = [stem + "er", stem + "ah"]
        else:
            return None
        return next((word for word in candidates if word in self.vocabulary or word in self.target_set), None)


# a lower-case run of letters long enough to be two words typed together
_JOINED_CANDIDATE = re.compile(r"(?<![\w'])[a-z]{5,}(?![\w'])")
# short words patients run into the next one ("myleg", "bothlegs", "cantwee")
_JOIN_PREFIXES = frozenset(
    {"my", "me", "im", "both", "cant", "dont", "wont", "cannot", "no", "his", "her", "can", "not"}
)


def _rank(lower: str, term: str) -> Tuple[bool, bool, int, bool]:
    """Order of equally close candidates: the same first letter; two swapped letters
    ("lfie": life, not lie); a silent e added at the end ("numbe": numb, not number); then a
    dropped letter ("kil": kill, not kid), a wrong letter, an extra one."""
    preference = {1: 0, 0: 1}
    silent_e = lower.endswith("e") and lower[:-1] == term
    return (
        term[0] != lower[0],
        sorted(term) != sorted(lower) and not silent_e,
        0 if silent_e else preference.get(len(term) - len(lower), 2) + 1,
        False,
    )


def _softener_pattern(negations: Iterable[str], words: Iterable[str]) -> Optional[re.Pattern]:
    """One pattern for "<negation> <softener>", keeping the negation: any apostrophe matches
    the straight one, and the words are whole words ("can't really" but not "can't reallyy")."""

    def alternation(items: Iterable[str]) -> str:
        escaped = sorted({re.escape(str(item).lower()) for item in items}, key=len, reverse=True)
        any_apostrophe = "[" + re.escape(APOSTROPHE_CHARS) + "]"
        return "|".join(item.replace("'", any_apostrophe).replace("\\ ", r"\s+") for item in escaped)

    negation_words, softener_words = alternation(negations), alternation(words)
    if not negation_words or not softener_words:
        return None
    return re.compile(rf"(?<![\w'])({negation_words})(?:\s+(?:{softener_words}))+(?![\w'])", re.IGNORECASE)


class Normaliser:
    """The lexicon of one rule table: canonical word per lower-case token, and rewrites."""

    def __init__(
        self,
        variants: Dict[str, List[str]],
        rewrite: Dict[str, str],
        fuzzy_targets: Iterable[str],
        fuzzy_min_length: int,
        fuzzy_protect: Iterable[str],
        softeners: Tuple[Iterable[str], Iterable[str]] = ((), ()),
    ) -> None:
        self.softener: Optional[re.Pattern] = _softener_pattern(*softeners)
        self.variants: Dict[str, str] = {}
        for canonical, spellings in variants.items():
            for spelling in spellings or []:
                self.variants[str(spelling).lower().translate(APOSTROPHES)] = str(canonical).lower()
        self.rewrites: List[Tuple[re.Pattern, str]] = [
            (re.compile(r"(?<![\w'])" + re.escape(str(word)) + r"(?![\w'])", re.IGNORECASE), str(replacement))
            for word, replacement in rewrite.items()
        ]
        self.fuzzy_targets = {str(word).lower() for word in fuzzy_targets}
        self.fuzzy_min_length = int(fuzzy_min_length)
        self.fuzzy_protect = {str(word).lower() for word in fuzzy_protect}
        # words the rules themselves use are never "typo-corrected"; set by the compiler
        self.vocabulary: Set[str] = set()
        self.corrector: Optional[TypoCorrector] = None
        self.canonical: Callable[[str], str] = lru_cache(maxsize=20000)(self._canonical_uncached)
        # every message's long unknown words pass through here: cached like `canonical`
        self.split_joined: Callable[[str], str] = lru_cache(maxsize=20000)(self._split_joined_uncached)

    def set_vocabulary(self, words: Iterable[str]) -> None:
        """The rules' own words: never corrected, and (with the lexicon's canonical words and
        ``fuzzy.targets``) what a typo is corrected to."""
        self.vocabulary = set(words)
        self.corrector = TypoCorrector(
            self.vocabulary | self.fuzzy_targets | set(self.variants.values()) | set(self.variants),
            self.fuzzy_min_length,
            self.fuzzy_protect,
            secondary=set(self.variants) - set(self.variants.values()) - self.vocabulary,
        )
        self.corrector.vocabulary = frozenset(self.vocabulary)
        self.join_words: FrozenSet[str] = frozenset(self.vocabulary | set(self.variants.values()))
        self.canonical.cache_clear()  # type: ignore[attr-defined]
        self.split_joined.cache_clear()  # type: ignore[attr-defined]

    def rewrite(self, text: str) -> str:
        """Lower case (tokenizer exceptions then split "CANT" like "cant"), whole-word rewrites,
        then words run together split apart ("cantwee", "bothlegs")."""
        text = text.lower()
        if self.softener is not None:
            text = self.softener.sub(r"\1", text)
        for pattern, replacement in self.rewrites:
            text = pattern.sub(replacement, text)
        if self.corrector is not None:
            text = _JOINED_CANDIDATE.sub(lambda match: self.split_joined(match.group(0)), text)
        return text

    def _split_joined_uncached(self, word: str) -> str:
        """Two words typed without the space between them, when the run-together word is no
        word itself: "cantwee" -> "cant wee", "bothlegs" -> "both legs", "myleg" -> "my leg".
        A short word run into a word of the rules is split even when a one-word typo reading
        exists ("bothlegs" is not "bottles"); any other split (both halves words of three
        letters or more, one of them a word of the rules) only when there is no typo reading
        ("feelin" stays one word: feeling)."""
        corrector = self.corrector
        if corrector is None or word in corrector.english or word in self.vocabulary or word in self.fuzzy_protect:
            return word
        if word in self.variants:
            return word
        if word.endswith("in") and corrector.correct(word) == word + "g":
            return word  # a dropped g ("nothin": nothing), not "no thin"
        rules = self.join_words
        fallback = ""
        for cut in range(2, len(word) - 2):
            left, right = word[:cut], word[cut:]
            right_rule = right in rules or self.variants.get(right) in rules
            if left in _JOIN_PREFIXES and right_rule:
                return left + " " + right
            if not fallback and len(left) >= 3 and left in corrector.english and right in corrector.english:
                if right_rule or left in rules:
                    fallback = left + " " + right
        if fallback and not corrector.correct(word):
            return fallback
        return word

    def _canonical_uncached(self, lower: str) -> str:
        lower = lower.translate(APOSTROPHES)
        if lower in self.variants:
            return self.variants[lower]
        if lower in CONTRACTIONS:
            return CONTRACTIONS[lower]
        corrected = self.correct_typo(lower)
        return self.variants.get(corrected, corrected) if corrected else lower

    def correct_typo(self, lower: str) -> Optional[str]:
        """The red-flag word an unknown token is a typo of, or None."""
        return self.corrector.correct(lower) if self.corrector is not None else None

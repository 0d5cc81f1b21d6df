"""One chunk of a message as the rules see it: tokens, their NORMs, segmentation, mentions.

A ``Mention`` is one Matcher match of a concept or cue, with where it sits (sentence,
clause, region), who has it (``experiencer``) and its ``Status``. ``Message`` holds the
lookups every layer shares (cue tokens, phrases before/after a token); the layers
themselves live in ``segment``, ``persons``, ``modifiers`` and ``attribution``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

from assistant.triage.modifiers import Status
from assistant.triage.patterns import Phrase
from assistant.triage.rules import Concept
from assistant.triage.segment import Segmentation

logger = logging.getLogger(__name__)


# cues whose next_not_in / prev_not_in are applied where they are read, not here
CUES_WITH_OWN_NEIGHBOUR_RULES = ("age",)


@dataclass
class Mention:
    concept: str
    start: int
    end: int
    sent: int = 0
    clause: int = 0
    region: int = 0
    experiencer: str = "self"
    status: Status = Status.AFFIRMED
    experiencer_age: Optional[int] = None  # the age stated for that person, if any


class Message:
    """Matches and token lookups for one chunk of text."""

    def __init__(
        self,
        doc: Any,
        norms: List[str],
        segments: Segmentation,
        concepts: Dict[str, Concept],
        mentions: Dict[str, List[Mention]],
    ) -> None:
        self.doc = doc
        self.norms = norms
        self.length = len(doc)
        self.segments = segments
        self.sent_of = segments.sent_of
        self.clause_of = segments.clause_of
        self.concepts = concepts
        self.mentions = mentions
        self.sent_norms: Dict[int, Set[str]] = {}
        self.sent_tokens: Dict[int, List[int]] = {}  # a sentence's token indexes, ascending
        for index, norm in enumerate(norms):
            self.sent_norms.setdefault(self.sent_of[index], set()).add(norm)
            self.sent_tokens.setdefault(self.sent_of[index], []).append(index)
        self.cue_tokens: Dict[str, Set[int]] = {}
        self.cue_sents: Dict[str, Set[int]] = {}
        for name, concept in concepts.items():
            if concept.kind == "cue":
                found = [mention for mention in mentions.get(name, []) if not self._cue_excluded(concept, mention)]
                mentions[name] = found
                self.cue_tokens[name] = {index for mention in found for index in range(mention.start, mention.end)}
                self.cue_sents[name] = {mention.sent for mention in found}
        self.concept_tokens: Set[int] = set()
        part_of_flag: Set[int] = set()
        for name, found in mentions.items():
            concept = concepts[name]
            if concept.kind == "cue":
                continue
            for mention in found:
                self.concept_tokens.update(range(mention.start, mention.end))
                if concept.negation_is_flag:
                    part_of_flag.update(range(mention.start, mention.end))
        # a negation that is part of a flag ("nothing helps", "can't wee") negates nothing else
        self.all_negation_tokens = set(self.cue_tokens.get("negation", set()))
        self.cue_tokens["negation"] = self.all_negation_tokens - part_of_flag

    def _cue_excluded(self, concept: Concept, mention: Mention) -> bool:
        """A cue's own neighbour lists ("since the rugby" before "tackle" is no exertion).
        Ages apply theirs when they are read, with their exceptions (persons.py)."""
        if concept.name in CUES_WITH_OWN_NEIGHBOUR_RULES:
            return False
        if concept.next_not_in and self.next_is(mention.end, concept.next_not_in):
            return True
        return concept.prev_not_in is not None and self.prev_is(mention.start, concept.prev_not_in)

    def cue(self, name: str) -> List[Mention]:
        return self.mentions.get(name, [])

    def cue_at(self, name: str, index: int) -> bool:
        return index in self.cue_tokens.get(name, ())

    def cue_in(self, name: str, indexes: range) -> bool:
        tokens = self.cue_tokens.get(name, set())
        return bool(tokens) and any(index in tokens for index in indexes)

    def sentence_has_cue(self, name: str, sent: int) -> bool:
        return sent in self.cue_sents.get(name, ())

    def prev_is(self, start: int, phrases: Sequence[Phrase]) -> bool:
        """One of ``phrases`` ends right before token ``start``."""
        for phrase in phrases:
            size = len(phrase)
            if start - size >= 0 and tuple(self.norms[start - size : start]) == phrase:
                return True
        return False

    def next_is(self, end: int, phrases: Sequence[Phrase]) -> bool:
        """One of ``phrases`` starts at token ``end`` (``<end>``: the sentence ends there)."""
        for phrase in phrases:
            if phrase == ("<end>",):
                if end >= self.length or self.sent_of[end] != self.sent_of[end - 1]:
                    return True
                continue
            if phrase == ("<punct>",):
                if end < self.length and self.doc[end].is_punct:
                    return True
                continue
            size = len(phrase)
            if end + size <= self.length and tuple(self.norms[end : end + size]) == phrase:
                return True
        return False

    def sentence_has_phrase(self, sent: int, phrases: Sequence[Tuple[str, ...]]) -> bool:
        words = self.sent_norms.get(sent, set())
        for phrase in phrases:
            if phrase[0] not in words:
                continue
            if len(phrase) == 1:
                return True
            size = len(phrase)
            # only the sentence's own tokens, not the whole text's (called once per mention)
            for index in self.sent_tokens.get(sent, ()):
                if index <= self.length - size and tuple(self.norms[index : index + size]) == phrase:
                    return True
        return False

"""Segmentation: sentences, clauses and regions, which bound every context rule.

A *sentence* ends at the pipeline's sentence boundaries (or ".!?" without a sentencizer)
and at a newline. A *clause* starts at a hard break (";", "but", "-") or at a soft break
("," "and" "because") followed by a subject and a verb ("..., and my bum hurts").
A *region* is a run of clauses joined only by anaphora ("not swollen but it's red": same
thing, new clause): negation stops at a clause, symptom/site attribution at a region.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Set, Tuple

from assistant.triage.rules import ClauseWords

logger = logging.getLogger(__name__)

HARD, SOFT = "hard", "soft"
_DASHES = ("-", "\u2013", "\u2014")


@dataclass(frozen=True)
class Segmentation:
    sent_of: List[int]
    clause_of: List[int]
    region_of: List[int]
    clause_spans: Dict[int, Tuple[int, int]]  # clause id -> (first token, end token)


def _sentences(doc: Any) -> List[int]:
    sent_of = [0] * len(doc)
    has_sents = doc.has_annotation("SENT_START")
    sent = 0
    for index, token in enumerate(doc):
        if index > 0:
            previous = doc[index - 1]
            newline = "\n" in previous.text or "\n" in previous.whitespace_
            if (has_sents and token.is_sent_start) or newline or (not has_sents and previous.text in (".", "!", "?")):
                sent += 1
        sent_of[index] = sent
    return sent_of


def segment(doc: Any, norms: List[str], words: ClauseWords) -> Segmentation:
    """Sentence, strict-clause and loose-region ids per token."""
    sent_of = _split_tail_questions(doc, norms, _sentences(doc), words)
    clause_of = [0] * len(doc)
    region_of = [0] * len(doc)
    clause = region = 0
    for index in range(len(doc)):
        if index > 0 and sent_of[index] != sent_of[index - 1]:
            clause += 1
            region += 1
        else:
            kind = break_before(doc, norms, sent_of, index, words)
            if kind:
                clause += 1
                if kind == HARD:
                    region += 1
        clause_of[index] = clause
        region_of[index] = region
    spans: Dict[int, Tuple[int, int]] = {}
    for index, clause_id in enumerate(clause_of):
        first, end = spans.get(clause_id, (index, index + 1))
        spans[clause_id] = (min(first, index), max(end, index + 1))
    return Segmentation(sent_of, clause_of, region_of, spans)


TAIL_QUESTION_TOKENS = 6  # "what should i do now ?"
VERIFYING_WORDS = frozenset({"right", "true", "correct", "so", "accurate", "real"})


def _split_tail_questions(doc: Any, norms: List[str], sent_of: List[int], words: ClauseWords) -> List[int]:
    """A statement with a question tagged on ("I had breast cancer and now my hip hurts,
    should I worry?", "the pain is worst at night and nothing helps, why?") is two
    sentences: the statement says what the writer has, and only the tail is asked. Split
    at the last comma or dash followed by a question word, when the sentence ends in "?"
    and does not itself start with a question word ("can sciatica cause numbness, or is
    that rare?" stays one question)."""
    out = list(sent_of)
    length = len(doc)
    shift = 0
    index = 0
    while index < length:
        sent = sent_of[index]
        end = index
        while end < length and sent_of[end] == sent:
            end += 1
        first = index
        while first < end and (doc[first].is_punct or norms[first] in words.question_skip):
            first += 1
        cut = None
        if doc[end - 1].text.endswith("?") and first < end and norms[first] not in words.question_starters:
            for position in range(end - 2, first, -1):
                if doc[position].text in (",", "-", "–", "—") and norms[position + 1] in words.question_starters:
                    tail = norms[position + 1 : end]
                    # a short tag ("why?", "should I worry?", "what could it be?"), not one
                    # that asks whether the statement is true ("..., is that right?")
                    if len(tail) <= TAIL_QUESTION_TOKENS and not VERIFYING_WORDS & set(tail):
                        cut = position + 1
                    break
        for position in range(index, end):
            if cut is not None and position == cut:
                shift += 1
            out[position] = sent + shift
        index = end
    return out


def _skip(norms: List[str], sent_of: List[int], index: int, words: ClauseWords, same_sentence: bool) -> int:
    """The first token after ``index`` that is not a filler ("then", "now", "also" ...)."""
    following = index + 1
    while (
        following < len(norms)
        and norms[following] in words.skip_after_break
        and (not same_sentence or sent_of[following] == sent_of[index])
    ):
        following += 1
    return following


def _hard_break(doc: Any, norms: List[str], sent_of: List[int], index: int, words: ClauseWords) -> Optional[str]:
    token = doc[index]
    if token.text in _DASHES and not (doc[index - 1].whitespace_ or token.whitespace_):
        return None  # "numb-ish", "82-year-old"
    following = _skip(norms, sent_of, index, words, same_sentence=False)
    if token.is_alpha and following < len(doc) and norms[following] in words.anaphora:
        return SOFT  # "not swollen but it's red": same thing, new clause
    return HARD


def _soft_break(doc: Any, norms: List[str], sent_of: List[int], index: int, words: ClauseWords) -> Optional[str]:
    """A new clause starts if a subject follows and a verb comes soon after."""
    following = _skip(norms, sent_of, index, words, same_sentence=True)
    if following >= len(doc) or sent_of[following] != sent_of[index]:
        return None
    first = norms[following]
    if first in words.question_starters and first in words.verbs:
        return HARD  # ", does that mean ...", ", is that bad"
    if first in words.subject_words or first in words.anaphora:
        for ahead in range(following + 1, min(following + 5, len(doc))):
            if sent_of[ahead] != sent_of[index] or doc[ahead].is_punct:
                break
            if norms[ahead] in words.verbs:
                return SOFT if first in words.anaphora else HARD
    return None


def break_before(doc: Any, norms: List[str], sent_of: List[int], index: int, words: ClauseWords) -> Optional[str]:
    """HARD = new clause and region; SOFT = new clause, same region (anaphora); else None."""
    token = doc[index]
    if norms[index] in words.hard_breaks or token.text in words.hard_breaks:
        return _hard_break(doc, norms, sent_of, index, words)
    if norms[index] in words.soft_breaks or token.text == ",":
        return _soft_break(doc, norms, sent_of, index, words)
    return None


def question_sentences(doc: Any, norms: List[str], sent_of: List[int], words: ClauseWords) -> Set[int]:
    """Sentences that are questions: a "?" anywhere, or a question word first (after
    greetings and fillers; not "is not ...")."""
    questions: Set[int] = set()
    starts: Dict[int, int] = {}
    for index, token in enumerate(doc):
        starts.setdefault(sent_of[index], index)
        if token.text.endswith("?"):
            questions.add(sent_of[index])
    length = len(doc)
    for sent, first in starts.items():
        index = first
        while (
            index < length
            and sent_of[index] == sent
            and (doc[index].is_punct or doc[index].is_space or norms[index] in words.question_skip)
        ):
            index += 1
        if index < length and sent_of[index] == sent and norms[index] in words.question_starters:
            if not (index + 1 < length and norms[index + 1] == "not"):
                questions.add(sent)
    return questions

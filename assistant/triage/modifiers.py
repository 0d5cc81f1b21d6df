"""Modifiers: the status of each mention (ConText's negation, hypothetical, historical and
family layer, with the project's hyperbole, exclusions and "gone now").

Cues are concepts of kind ``cue`` in the table (``context.cues``). As in ConText each cue
category has a direction: FORWARD cues modify what follows them within the clause ("no",
"if"), BACKWARD ones what comes before ("... but it's gone now"), BIDIRECTIONAL ones the
whole clause or sentence ("last year", "runs in the family"); PSEUDO cues look like one but
are not ("not sure", "no doubt", "if I sit for long"), and TERMINATE words end a scope
(``context.negation.scope_enders``: "but", "except", "still").
"""

from __future__ import annotations

import logging
from enum import Enum
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Set, Tuple

from assistant.triage.rules import Concept, ModifierWords
from assistant.triage.stories import BackgroundStories

if TYPE_CHECKING:
    from assistant.triage.message import Mention, Message
    from assistant.triage.persons import Persons

logger = logging.getLogger(__name__)


class Status(Enum):
    """What the text says about a mention. Only AFFIRMED mentions fire a flag."""

    AFFIRMED = "affirmed"
    NEGATED = "negated"
    HYPOTHETICAL = "hypothetical"
    PAST = "past"
    OTHER_PERSON = "other_person"  # someone else's history ("my mum had cancer")
    HYPERBOLE = "hyperbole"
    EXCLUDED = "excluded"  # ruled out by the concept's own neighbour rules
    MENTION = "mention"  # a topic word said as a statement ("I read about cauda equina")


class Direction(Enum):
    FORWARD = "forward"
    BACKWARD = "backward"
    BIDIRECTIONAL = "bidirectional"
    PSEUDO = "pseudo"


# a FORWARD hypothetical cue reaches on over clauses these join (see _forward_scope_start)
COORDINATORS = frozenset({"and", "or", "&"})
# ... unless the coordinated clause moves to the present ("last year, and now it's hot")
PRESENT_WORDS = frozenset(
    {
        "now",
        "today",
        "currently",
        "recently",
        "again",
        "still",
        "since",
        "tonight",
        "lately",
        "new",
        "yesterday",
        "suddenly",
    }
)
_RECENT_SPAN_START = frozenset({"last", "past"})
_RECENT_SPAN_UNITS = frozenset({"days", "weeks", "months", "day", "week", "fortnight"})
# Words that open a sentence pointing back at the one before ("It started on Monday.").
POINTERS = ("it", "this", "that", "they")


def moves_to_present(norms: Sequence[str]) -> bool:
    """The words between a past cue and a mention move the story to now: a present-time word
    ("and now"), or "in the last / past (few) days|weeks|months" (a recent stretch up to now)."""
    if PRESENT_WORDS & set(norms):
        return True
    for index, norm in enumerate(norms):
        if norm in _RECENT_SPAN_START and index > 0 and norms[index - 1] in ("the", "these"):
            following = list(norms[index + 1 : index + 4])
            if any(word in _RECENT_SPAN_UNITS for word in following):
                return True
    return False


# cue name -> (the status it gives, its direction)
CUE_CATEGORIES: Dict[str, Tuple[Status, Direction]] = {
    "negation": (Status.NEGATED, Direction.FORWARD),
    "pseudo_negation": (Status.NEGATED, Direction.PSEUDO),
    "hypothetical_forward": (Status.HYPOTHETICAL, Direction.FORWARD),
    "habitual_if": (Status.HYPOTHETICAL, Direction.PSEUDO),
    "hypothetical_question": (Status.HYPOTHETICAL, Direction.BIDIRECTIONAL),
    "modal": (Status.HYPOTHETICAL, Direction.FORWARD),
    "speculation": (Status.HYPOTHETICAL, Direction.FORWARD),
    "past_time": (Status.PAST, Direction.BIDIRECTIONAL),
    "recent_past": (Status.PAST, Direction.BIDIRECTIONAL),
    "used_to": (Status.PAST, Direction.FORWARD),
    "resolved": (Status.PAST, Direction.BACKWARD),
    "family_history": (Status.OTHER_PERSON, Direction.BIDIRECTIONAL),
    "hyperbole": (Status.HYPERBOLE, Direction.BIDIRECTIONAL),
}


def cue_tokens(message: "Message", status: Status, direction: Direction) -> Set[int]:
    """Tokens of the cues of one category, less those inside a PSEUDO cue of that status."""
    tokens: Set[int] = set()
    pseudo: Set[int] = set()
    for name, (cue_status, cue_direction) in CUE_CATEGORIES.items():
        if cue_status is not status:
            continue
        if cue_direction is direction:
            tokens |= message.cue_tokens.get(name, set())
        elif cue_direction is Direction.PSEUDO:
            pseudo |= message.cue_tokens.get(name, set())
    return tokens - pseudo


class Modifiers(BackgroundStories):
    """Assigns ``Mention.status`` and ``Mention.experiencer`` for one chunk."""

    def __init__(self, message: "Message", persons: "Persons", questions: Set[int], words: ModifierWords) -> None:
        self.message = message
        self.persons = persons
        self.questions = questions
        self.words = words
        self.negation = cue_tokens(message, Status.NEGATED, Direction.FORWARD)
        self.pseudo_negation = message.cue_tokens.get("pseudo_negation", set())
        # FORWARD "if", "what if", "in case" less PSEUDO "if I sit ..." (habitual)
        self.hypothetical_forward = message.cue_tokens.get("hypothetical_forward", set()) - (
            message.cue_tokens.get("habitual_if", set())
        )
        self.hyperbole = message.cue_tokens.get("hyperbole", set())
        self.past_by_sentence: Dict[Tuple[str, int], List["Mention"]] = {}
        for name in ("past_time", "recent_past"):
            for cue in message.cue(name):
                self.past_by_sentence.setdefault((name, cue.sent), []).append(cue)

    def assign(self) -> bool:
        """Statuses of every mention; True if a red-flag subject was said hypothetically.
        History is done last: a carer's description ("my dad ... now his hip hurts") decides
        whether someone else's history is the patient's."""
        histories: List["Mention"] = []
        stories: List["Mention"] = []
        for name, mentions in self.message.mentions.items():
            concept = self.message.concepts[name]
            if concept.kind == "cue":
                continue
            for mention in mentions:
                mention.experiencer = self.persons.experiencer(mention)
                mention.experiencer_age = self.persons.experiencer_age(mention)
                if mention.experiencer == "animal" and concept.kind in ("symptom", "history"):
                    mention.status = Status.OTHER_PERSON  # "our cat can't put weight on his leg"
                    continue
                if concept.kind == "history":
                    histories.append(mention)
                else:
                    mention.status = self.status(concept, mention)
                    if mention.status is Status.AFFIRMED and self._told_as_past(concept, mention):
                        stories.append(mention)
        if stories and not self._carer_describes_now(set(map(id, stories))):
            for mention in stories:
                mention.status = Status.OTHER_PERSON
        for mention in histories:
            mention.status = self.status(self.message.concepts[mention.concept], mention)
        for name, mentions in self.message.mentions.items():
            for mention in mentions:
                if mention.status is Status.HYPOTHETICAL and not self._supposes(self.message.concepts[name], mention):
                    mention.status = Status.OTHER_PERSON
        return any(
            mention.status is Status.HYPOTHETICAL
            for name, mentions in self.message.mentions.items()
            if self.message.concepts[name].subject
            for mention in mentions
        )

    def _supposes(self, concept: Concept, mention: "Mention") -> bool:
        """Whether a hypothetical mention supposes anything. Someone else's history or
        condition named in a question ("my grandad has bowel cancer, what does a weak
        gluteus medius do?") is their history, not a supposition, unless an "if"-like cue
        reaches it ("what if my dad had cancer"); ``assign`` marks it ``OTHER_PERSON``."""
        if concept.kind not in ("history", "topic") or mention.experiencer not in ("other", "child"):
            return True
        start = self._forward_scope_start(mention)
        return any(index in self.hypothetical_forward for index in range(start, mention.start + 1))

    def status(self, concept: Concept, mention: "Mention") -> Status:
        if (
            self.hyperbole
            and not concept.never_hyperbole
            and any(index in self.hyperbole for index in range(mention.start, mention.end))
        ):
            return Status.HYPERBOLE
        if self._excluded(concept, mention):
            return Status.EXCLUDED
        if concept.kind in ("site", "context"):
            return Status.NEGATED if concept.negatable and self.negated(concept, mention) else Status.AFFIRMED
        if concept.negatable and self.negated(concept, mention):
            return Status.NEGATED
        if self.hypothetical(concept, mention):
            return Status.HYPOTHETICAL
        if concept.kind == "topic":
            return Status.MENTION
        if not concept.past_counts and self.resolved(mention, "cleared"):
            return Status.PAST
        if not concept.past_counts and self.past(mention) and not self.message.sentence_has_cue("onset", mention.sent):
            # "noticed 2 months ago", "started three weeks ago": when it began, not over
            return Status.PAST
        if concept.resolvable and (self.past(mention, "recent_past") or self.resolved(mention)):
            return Status.PAST
        if (
            not concept.past_counts
            and (
                self._dated(mention)
                or self.message.sentence_has_cue("passing_cause", mention.sent)
                or self._cleared_before(mention)
            )
            and self.resolved(mention, reach_next=True)
        ):
            # dated and said to be over: "swollen last summer, fine now"; or a passing cause
            # and over: "numb bum from the bleachers, went away when I stood up", "numb
            # from the epidural, it wore off the same day"; or cleared before it and over:
            # "the scan showed no clot, and the swelling has gone down now"
            return Status.PAST
        if concept.kind == "history" and self.someone_elses_history(mention):
            return Status.OTHER_PERSON
        return Status.AFFIRMED

    def _cleared_before(self, mention: "Mention") -> bool:
        """A clinician cleared it earlier in its sentence ("had a scan, it wasn't a clot, and
        the swelling has gone down now"): with "gone now" after it, it is over."""
        return any(cue.sent == mention.sent and cue.end <= mention.start for cue in self.message.cue("cleared"))

    def _excluded(self, concept: Concept, mention: "Mention") -> bool:
        message = self.message
        if concept.next_in is not None and not message.next_is(mention.end, concept.next_in):
            return True
        if concept.next_not_in and message.next_is(mention.end, concept.next_not_in):
            return True
        if concept.prev_not_in and message.prev_is(mention.start, concept.prev_not_in):
            return True
        if concept.unless_sentence_has and message.sentence_has_phrase(mention.sent, concept.unless_sentence_has):
            return True
        return concept.exertion_sensitive and message.sentence_has_cue("exertion", mention.sent)

    # ------------------------------------------------------------------ negation
    def negated(self, concept: Concept, mention: "Mention") -> bool:
        if not self.message.all_negation_tokens:
            return False
        if concept.negation_is_flag:
            return self._negation_just_before(mention)
        if any(
            index in self.message.all_negation_tokens and index not in self.pseudo_negation
            for index in range(mention.start, mention.end)
        ):
            return True
        return self._negation_before(mention)

    def _negation_just_before(self, mention: "Mention") -> bool:
        """ "can't wee" *is* the flag: the negation inside is part of it. Only a cue right
        before it undoes it ("no unexplained weight loss", "I don't have saddle numbness");
        no list chain, so "no pain and can't wee" stays a flag."""
        message = self.message
        index = mention.start - 1
        filler = 0
        while index >= 0 and message.clause_of[index] == mention.clause and not message.doc[index].is_punct:
            if index in self.negation:
                return True
            filler += 1
            if filler > 1:
                break
            index -= 1
        return False

    def _negation_before(self, mention: "Mention") -> bool:
        """Walk back from the mention through a chain of coordinated concept mentions ("no
        fever, chills or sweats") and up to ``window`` filler tokens after the cue."""
        message, words = self.message, self.words
        index = mention.start - 1
        filler = 0
        while index >= 0 and message.clause_of[index] == mention.clause:
            norm = message.norms[index]
            if index in self.negation:
                return True
            if norm in words.negation_enders:
                return False  # TERMINATE
            if message.doc[index].is_punct and norm not in words.negation_connectors:
                return False
            if norm not in words.negation_connectors and index not in message.concept_tokens:
                filler += 1
                if filler > words.negation_window:
                    return False
            index -= 1
        return False

    # ------------------------------------------------------------------ hypothetical
    def hypothetical(self, concept: Concept, mention: "Mention") -> bool:
        message = self.message
        clause_start, clause_end = message.segments.clause_spans[mention.clause]
        # 1. forward cues ("if", "what if", "in case", "when should") to the end of the clause,
        #    and on through clauses joined by "and"/"or" ("if I fell and couldn't stand up,
        #    what would that mean"); a comma or a new sentence ends it ("if I cough, I leak")
        if not concept.condition_counts and any(
            index in self.hypothetical_forward for index in range(self._forward_scope_start(mention), mention.start + 1)
        ):
            return True
        # 2. question cues ("can X cause", "is X a sign of") anywhere in a question clause
        if (
            mention.sent in self.questions
            and not concept.question_counts
            and self._speculative_question(concept, mention, clause_start, clause_end)
            and not self.dated_after_question(mention)
        ):
            return True
        # 3. modal just before the mention ("I might fall", "I'll go numb")
        index = mention.start - 1
        while index >= clause_start and message.norms[index] in self.words.modal_skip:
            index -= 1
        if index >= clause_start and not concept.modal_counts and message.cue_at("modal", index):
            return True
        # 4. speculation ("I'm worried I have cancer") for concepts that ask for it
        if concept.speculation_cues and message.cue_in("speculation", range(clause_start, mention.start)):
            return True
        # 5. topic words ("cauda equina", "is it serious") in a question, worry or always
        if concept.kind == "topic":
            return (
                concept.always_hypothetical
                or mention.sent in self.questions
                or message.sentence_has_cue("worry", mention.sent)
                or message.sentence_has_cue("speculation", mention.sent)
            )
        return False

    def _forward_scope_start(self, mention: "Mention") -> int:
        """First token a FORWARD hypothetical cue may sit at to reach ``mention``: its
        clause's start, or an earlier clause's when the clauses between are joined only by
        a coordinating "and"/"or" (ConText's forward scope, bounded by punctuation)."""
        message = self.message
        spans = message.segments.clause_spans
        clause = mention.clause
        start = spans[clause][0]
        while clause - 1 in spans and start > 0:
            joint = message.norms[start]
            if joint not in COORDINATORS or message.sent_of[start - 1] != mention.sent:
                break
            if message.doc[start - 1].is_punct:
                break
            clause -= 1
            start = spans[clause][0]
        return start

    def _speculative_question(self, concept: Concept, mention: "Mention", clause_start: int, clause_end: int) -> bool:
        if self.message.cue_in("hypothetical_question", range(clause_start, clause_end)):
            return True
        return self.general_question(mention) or concept.speculative_in_question

    def general_question(self, mention: "Mention") -> bool:
        """A question about a symptom with nobody having it ("is numbness in the groin
        serious?"), unless the sentence dates it now ("leaking wee all day now, is that the
        sciatica?"). Both context layers ask this."""
        return mention.sent not in self.persons.sentences and not self.message.sentence_has_cue("recency", mention.sent)

    # ------------------------------------------------------------------ past and resolved
    def past(self, mention: "Mention", cue_name: str = "past_time") -> bool:
        message = self.message
        spans = message.segments.clause_spans
        scope_start = self._forward_scope_start(mention)
        for cue in self.past_by_sentence.get((cue_name, mention.sent), ()):
            if cue.end <= mention.start and moves_to_present(message.norms[cue.end : mention.start]):
                # "a fever 2 years ago and in the last few weeks my hip hurts" (also for a
                # coordinated clause: not "... last year and now it's hot and swollen")
                continue
            if cue.clause == mention.clause:
                return True
            # the same time for a coordinated clause: "years ago I had a UTI and couldn't pee"
            # (not "... last year and now it's hot and swollen")
            if cue_name == "past_time" and cue.clause < mention.clause and cue.start >= scope_start:
                return True
            # fronted time adverbial: "Years ago, I had ..."
            cue_start, cue_end = spans[cue.clause]
            if cue_end - cue_start <= 5 and mention.clause == cue.clause + 1:
                return True
            # a time clause of its own: "... broke his hip when he was 90",
            # "I had night sweats when I had covid last year"
            if mention.clause == cue.clause - 1 and (
                cue.start <= cue_start + 1 or message.norms[cue_start] in self.words.time_clause_starters
            ):
                return True
        if cue_name != "past_time":
            return False
        return message.cue_in("used_to", range(spans[mention.clause][0], mention.start))

    def _dated(self, mention: "Mention") -> bool:
        """A time in the past is given for it, in its sentence ("..., that was 3 years ago").
        The past tense alone is not enough: "I had numbness down there after lifting, it went
        away" may be this morning's."""
        message = self.message
        if self.past(mention, "recent_past") or any(
            message.sentence_has_cue(name, mention.sent) for name in ("past_time", "recent_past", "origin_time")
        ):
            return True
        # the next sentence dates it: "... it wore off the same day. That was 6 years ago."
        return self._points_back_next(mention.sent) and message.sentence_has_cue("past_time", mention.sent + 1)

    def dated_after_question(self, mention: "Mention") -> bool:
        """The question is about the writer's own symptom when the next sentence says when it
        began: "Is it normal to strain and only a dribble comes out? Started on Monday." """
        start = self._next_sentence_start(mention.sent)
        if start is None:
            return False
        norms = self.message.norms
        opening = norms[start : start + 3]
        if opening and opening[0] in self.words.onset_openers:
            return True
        return len(opening) > 1 and opening[0] in POINTERS and opening[1] in self.words.onset_openers

    def _next_sentence_start(self, sent: int) -> Optional[int]:
        tokens = self.message.sent_tokens.get(sent + 1)
        return tokens[0] if tokens else None

    def _points_back_next(self, sent: int) -> bool:
        """The next sentence opens by pointing back at this one ("That was ...", "It went ...")."""
        start = self._next_sentence_start(sent)
        return start is not None and self.message.norms[start] in POINTERS + ("which",)

    def resolved(self, mention: "Mention", cue_name: str = "resolved", reach_next: bool = False) -> bool:
        """Said to be over later in the same sentence (BACKWARD): "I had a temperature but
        it's gone now", "the kids had a fever last week but they're fine now" (not "it
        hasn't gone"). ``cleared``: said by a clinician to be nothing ("the lump turned
        out to be nothing, the GP checked it")."""
        message = self.message
        next_start = self._next_sentence_start(mention.sent)
        next_sentence = reach_next and self._points_back_next(mention.sent)
        for cue in message.cue(cue_name):
            # a clearing cue may start before the mention it spans ("they x-rayed my hip after
            # I tripped, no fracture", "the ultrasound showed the lump is a lipoma")
            if cue.start < mention.end and not (cue_name == "cleared" and cue.end > mention.end):
                continue
            if cue.sent != mention.sent:
                # "It went away once I moved around." right after it
                if not (next_sentence and cue.sent == mention.sent + 1 and cue.start - (next_start or 0) <= 3):
                    continue
            if cue_name == "cleared" and message.cue_in(
                "cleared_undone", range(cue.end, message.sent_tokens[cue.sent][-1] + 1)
            ):
                continue  # "no clot on the scan last month, but it's got worse"
            clause_start, _ = message.segments.clause_spans[cue.clause]
            if cue_name == "resolved" and any(
                index in message.all_negation_tokens for index in range(max(clause_start, cue.start - 3), cue.end)
            ):
                continue  # "it hasn't gone" ("turned out to be nothing" holds its own "nothing")
            return True
        return False

    # ------------------------------------------------------------------ someone else's
    def someone_elses_history(self, mention: "Mention") -> bool:
        if self.message.sentence_has_cue("family_history", mention.sent):
            return True
        if mention.experiencer == "self":
            return False
        # a carer describing the patient: the same (non-self) person has symptoms now
        for name, mentions in self.message.mentions.items():
            concept = self.message.concepts[name]
            if concept.kind not in ("symptom", "context") or name == mention.concept:
                continue
            if name not in self.words.carer_evidence:
                continue
            if any(other.status is Status.AFFIRMED and other.experiencer != "self" for other in mentions):
                return False
        return True

"""Persons and ages: who has each mention (the writer, someone else, a child).

A mention's experiencer is the last person named before its end, passing over a person
named only as the one carried, lifted or given birth to ("carrying my toddler all day, hip
pain is awful"), and over a description of the writer ("I'm a cancer patient"). Ages
attach to the person next to them ("my 15 year old son", "I'm 78", "my son (12)"); a
writer who gives an age under 18 is a child. Pronouns take the last other person's role.
"""

from __future__ import annotations

import logging
import re
from bisect import bisect_left, insort
from dataclasses import dataclass
from typing import TYPE_CHECKING, List, Optional

from assistant.triage.lexicon import POSSESSIVES
from assistant.triage.rules import PersonWords

if TYPE_CHECKING:
    from assistant.triage.message import Mention, Message

logger = logging.getLogger(__name__)

ROLES = ("self", "other", "child", "animal", "pronoun")
ADULT_AGE = 18
_AGE_DIGITS = re.compile(r"^(\d{1,3})")
_FIRST_PERSON_BE = frozenset({"'m", "am", "m", "im"})
_BE = frozenset({"'s", "is", "s", "are", "'re"})
_SIGNED_AGE = re.compile(r"\d{2}[mf]")
_PERSON_CUES = ("person_pronoun", "person_child", "person_other")
_DETERMINERS = frozenset(
    {"my", "our", "the", "his", "her", "their", "your", "a", "an", "poor", "old", "little", "so", "and", "but", "also"}
)


@dataclass
class Person:
    start: int
    end: int
    role: str  # self | other | child | animal | pronoun (resolved to other, child or animal)
    age: Optional[int] = None
    is_object: bool = False  # named as the object of carrying, lifting, giving birth ...


class Persons:
    """The persons named in one chunk, in text order, and who has a mention."""

    def __init__(self, message: "Message", words: PersonWords) -> None:
        self.message = message
        self.words = words
        self.people = self._find()
        self.starts = [person.start for person in self.people]
        self.sentences = {message.sent_of[person.start] for person in self.people}

    def experiencer(self, mention: "Mention") -> str:
        """The role of the last person named before the end of the mention, else "self"."""
        index = bisect_left(self.starts, mention.end)
        while index > 0 and self.people[index - 1].is_object:
            index -= 1
        return self.people[index - 1].role if index else "self"

    def experiencer_age(self, mention: "Mention") -> Optional[int]:
        """The age stated for the person who has the mention, if any: the writer's age holds
        wherever the writer has a mention ("I slipped on the ice ... I'm 29")."""
        index = bisect_left(self.starts, mention.end)
        while index > 0 and self.people[index - 1].is_object:
            index -= 1
        person = self.people[index - 1] if index else None
        if person is not None and person.age is not None:
            return person.age
        if person is None or person.role == "self":
            return self.writer_age
        return None

    @property
    def writer_age(self) -> Optional[int]:
        """The age the writer gives for themself anywhere in the chunk ("I'm 34")."""
        return next((p.age for p in self.people if p.role == "self" and p.age is not None), None)

    def experiencer_start(self, mention: "Mention") -> Optional[int]:
        """Where the person who has the mention is named (None: the writer, unnamed)."""
        index = bisect_left(self.starts, mention.end)
        while index > 0 and self.people[index - 1].is_object:
            index -= 1
        return self.people[index - 1].start if index else None

    # ------------------------------------------------------------------ finding persons
    def _find(self) -> List[Person]:
        message = self.message
        people: List[Person] = []
        for role in ROLES:
            for mention in message.cue("person_" + role):
                if message.prev_is(mention.start, self.words.not_a_person_before):
                    continue
                if role in ("other", "child") and self._describes_writer(mention.start, mention.sent):
                    continue  # "I'm a cancer patient", "I'm a 15 year old girl"
                person = Person(mention.start, mention.end, role)
                if role == "animal":
                    # a pet has the symptom only as the sentence's subject ("our cat fell off
                    # the fence"), never as an object ("I tripped over the dog")
                    person.is_object = not self._opens_sentence(mention.start)
                elif role != "self":
                    person.is_object = self._named_as_object(mention.start)
                people.append(person)
        people.sort(key=lambda person: (person.start, -(person.end - person.start)))
        kept: List[Person] = []
        last_end = -1
        for person in people:
            if person.start >= last_end:
                kept.append(person)
                last_end = person.end
        self._attach_ages(kept)
        _resolve_roles(kept)
        return kept

    def _describes_writer(self, start: int, sent: int) -> bool:
        """A person word in a description of the writer: "I'm a (cancer) patient", "I'm a
        15 year old girl" (not "I'm a carer for my son")."""
        message, words = self.message, self.words
        if not words.self_description:
            return False
        for back in range(words.self_description_window):
            position = start - back
            if position <= 0 or message.sent_of[position - 1] != sent:
                break
            if back and message.norms[position] in words.self_description_stop:
                break
            if message.prev_is(position, words.self_description):
                return True
        return False

    def _opens_sentence(self, start: int) -> bool:
        """Only a determiner or a possessive stands before ``start`` in its sentence."""
        message = self.message
        position = start
        while position > 0 and message.sent_of[position - 1] == message.sent_of[start]:
            if message.norms[position - 1] not in _DETERMINERS:
                return False
            position -= 1
        return True

    def _named_as_object(self, start: int) -> bool:
        position = start
        while position > 0 and self.message.norms[position - 1] in self.words.object_skip:
            position -= 1
        return self.message.prev_is(position, self.words.object_before)

    # ------------------------------------------------------------------ ages
    def _age_of(self, mention: "Mention") -> Optional[int]:
        message = self.message
        spec = message.concepts.get("age")
        # "14yo" carries its unit: what follows ("14yo M") cannot make it a dose or a time
        unit_inside = mention.end - mention.start == 1 and not message.doc[mention.start].text.isdigit()
        # "I'm 27." ends a sentence: a writer's own "am N" needs no unit ("I'm 12 weeks" still does)
        # ... and so does a person's ("He's 14.", "my son is 9."; not "the pain is 8.")
        ends_sentence = message.next_is(mention.end, [(".",)])
        first = message.norms[mention.start]
        stated_age = ends_sentence and (
            first in _FIRST_PERSON_BE
            or (
                first in _BE
                and mention.start > 0
                and any(message.cue_at(cue, mention.start - 1) for cue in _PERSON_CUES)
            )
        )
        if spec is not None and (
            (spec.next_not_in and not unit_inside and not stated_age and message.next_is(mention.end, spec.next_not_in))
            or (spec.prev_not_in and message.prev_is(mention.start, spec.prev_not_in))
        ):
            return None  # "I'm 12 weeks pregnant", "the pain is 8"
        for index in range(mention.start, mention.end):
            digits = _AGE_DIGITS.match(message.doc[index].text)
            if digits:
                age = int(digits.group(1))
                return age if age <= 120 else None
        return None

    def _owner(self, people: List[Person], mention: "Mention") -> Optional[Person]:
        """ "my 15 year old son": the person after; "I'm 78", "my son is 15": the one before
        (not "... my son is 15, my hip hurts": a writer's "my" is never aged from before)."""
        sent_of = self.message.sent_of
        starts = [person.start for person in people]
        index = bisect_left(starts, mention.end)
        after = [
            person
            for person in people[index : index + 2]
            if 0 <= person.start - mention.end <= 1
            and sent_of[person.start] == mention.sent
            and person.role not in ("self", "pronoun")
        ]
        if after:
            return after[0]
        if mention.start > 0 and self.message.norms[mention.start - 1] in POSSESSIVES:
            return None  # "my 5 year old has ...": the age names the person
        index = bisect_left(starts, mention.start)
        before = [
            person
            for person in people[max(0, index - 5) : index]
            if -1 <= mention.start - person.end <= (1 if person.role == "self" else 4)
            and person.start < mention.start
            and sent_of[person.start] == mention.sent
        ]
        return before[-1] if before else None

    def _attach_ages(self, people: List[Person]) -> None:
        for mention in self.message.cue("age"):
            age = self._age_of(mention)
            if age is None:
                continue
            if _SIGNED_AGE.fullmatch(self.message.doc[mention.start].text.lower()):
                # "..., 34F." signs the message: the writer's own age and sex
                writers = [person for person in people if person.role == "self"]
                for person in writers:
                    person.age = age
                if not writers:
                    insort(people, Person(mention.start, mention.end, "self", age), key=lambda person: person.start)
                continue
            owner = self._owner(people, mention)
            if owner is None:
                role = "child" if age < ADULT_AGE else "other"
                insort(people, Person(mention.start, mention.end, role, age), key=lambda person: person.start)
            else:
                owner.age = age
        people.sort(key=lambda person: person.start)


def _resolve_roles(people: List[Person]) -> None:
    """Ages decide child or adult; a writer under 18 is a child; pronouns refer back."""
    if any(person.role == "self" and person.age is not None and person.age < ADULT_AGE for person in people):
        for person in people:
            if person.role == "self":
                person.role = "child"
    # "my daughter's hip hurts after netball, she's 25": an age said of "she" is the age of
    # the person she refers back to, so the earlier "her hip" is an adult's too
    named = None
    for person in people:
        if person.role in ("child", "other"):
            named = person
        elif person.role == "pronoun" and person.age is not None and named is not None and named.age is None:
            named.age = person.age
    # "he"/"she" is the last person named; a pet only when no person was ("our cat ... his
    # back leg", but "my husband tripped over the dog and he can't get up")
    last_other = "other"
    pet_only = True
    for person in people:
        if person.age is not None and person.role in ("child", "other", "pronoun"):
            person.role = "child" if person.age < ADULT_AGE else "other"
        if person.role == "pronoun":
            person.role = last_other
        elif person.role in ("child", "other"):
            last_other, pet_only = person.role, False
        elif person.role == "animal" and pet_only and not person.is_object:
            last_other = "animal"

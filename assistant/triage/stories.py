"""Someone else's symptom told as background to the writer's own question.

red-flags.md: "Someone else's history is not a flag ("my mum had cancer"); a carer
describing the patient now is". A symptom of someone else (not a child) that the writer
tells as background ("my uncle lost control of his bladder after a back injury. I'm only
asking what sciatica is", "my dad has numbness down there as well, could it be linked to
mine?") is marked ``OTHER_PERSON``; a carer's report, a worried writer, "what should I do?"
or a story dated now stay flags. Mixed into ``modifiers.Modifiers`` (both context layers).
The cues (``past_narrative``, ``still_current``, ``writer_own``, ``recency``,
``points_back``, ``asks_what_to_do``) are in content/red_flags.yml.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Set

from assistant.triage.rules import Concept

if TYPE_CHECKING:
    from assistant.triage.message import Mention

logger = logging.getLogger(__name__)


class BackgroundStories:
    """Needs ``message``, ``persons``, ``questions`` and ``words`` (set by ``Modifiers``)."""

    message: Any
    persons: Any
    questions: Set[int]
    words: Any

    def _told_as_past(self, concept: Concept, mention: "Mention") -> bool:
        """Someone else's symptom told as background to the writer's own question, not as
        the patient's (red-flags.md: someone else's history is not a flag):

        * a past-tense story, then the writer turns to themself or asks a question of
          their own: "my uncle lost control of his bladder after a back injury. I'm only
          asking what sciatica is", "my aunt had incontinence after childbirth, does physio
          help glute pain?";
        * in any tense, when the writer says it is about their own ("... could it be linked
          to mine?", "... but my question is about hip drops") or about families ("... is
          that genetic?").

        Not a child's (a parent's "my son had a fever" is usually today's), not a crisis,
        and never when the writer asks what to do or is worried ("... I'm scared", "what
        should I do?") or the story is dated now ("since this morning"). A carer's report
        ("my husband went numb between his legs after lifting") stays a flag."""
        if mention.experiencer != "other" or concept.kind != "symptom" or concept.never_hyperbole:
            return False
        message = self.message
        person = self.persons.experiencer_start(mention)
        if person is None or message.sent_of[person] != mention.sent:
            return False
        start = person
        while start > 0 and message.sent_of[start - 1] == mention.sent:
            start -= 1
        if any(cue.start >= start for cue in message.cue("asks_what_to_do")):
            return False
        turns_to_own = any(cue.start >= mention.end for cue in message.cue("writer_own"))
        # in hospital already, and the writer turns to their own: background even when dated
        # now ("my grandad fell and broke his hip, he's in hospital now. It's made me think
        # about my own hip")
        if turns_to_own and any(
            message.sentence_has_cue("under_care", sent) for sent in (mention.sent, mention.sent + 1)
        ):
            return True
        if message.sentence_has_cue("recency", mention.sent):
            return False
        if turns_to_own:
            return True
        if message.cue("family_history"):
            return True
        if not message.cue_in("past_narrative", range(start, mention.end)) or self._goes_on(mention):
            return False
        return self._turns_to_writer(mention) or self._own_question_after(mention)

    def _own_question_after(self, mention: "Mention") -> bool:
        """A later question that does not point back at the story ("... how do crab steps
        work?", not "... is that serious?" or "... will she be ok?")."""
        message = self.message
        back = message.cue_tokens.get("person_pronoun", set()) | message.cue_tokens.get("points_back", set())
        for sent in sorted(self.questions):
            if sent <= mention.sent:
                continue
            tokens = range(message.sent_of.index(sent), len(message.sent_of))
            if not any(index in back for index in tokens if message.sent_of[index] == sent):
                return True
        return False

    def _turns_to_writer(self, mention: "Mention") -> bool:
        """The message moves on to the writer after the story ("... I'm only asking what
        sciatica is", "I'm fine, what's ..."): told as background, not as the patient's.
        A writer's "my" naming someone else ("my dad") does not count."""
        message = self.message
        others = message.cue_tokens.get("person_other", set()) | message.cue_tokens.get("person_child", set())
        for cue in message.cue("person_self"):
            if cue.start < mention.end or message.clause_of[cue.start] == mention.clause:
                continue
            if cue.end - cue.start == 1 and message.norms[cue.start] == "my" and {cue.end, cue.end + 1} & others:
                continue
            return True
        return False

    def _goes_on(self, mention: "Mention") -> bool:
        """Said to go on now, in the story's sentence or a later one; not the writer's own
        present ("... turned out to be cancer so I've been googling")."""
        message = self.message
        own = message.cue_tokens.get("person_self", set())
        return any(
            cue.sent >= mention.sent and cue.start not in own and cue.start - 1 not in own
            for cue in message.cue("still_current")
        )

    def _carer_describes_now(self, stories: Set[int]) -> bool:
        """Another symptom of someone else is current: the story is the patient's now."""
        from assistant.triage.modifiers import Status  # modifiers imports this module

        AFFIRMED = Status.AFFIRMED  # noqa: N806
        # what follows the writer's turn to their own ("... anyway, how do you diagnose glute
        # pain?") is the writer's, whoever the last person named was
        turns = [cue.start for cue in self.message.cue("writer_own")]
        own_from = min(turns) if turns else len(self.message.norms)
        for name, mentions in self.message.mentions.items():
            concept = self.message.concepts[name]
            if concept.kind not in ("symptom", "context") or name not in self.words.carer_evidence:
                continue
            if any(
                other.status is AFFIRMED
                and other.experiencer != "self"
                and id(other) not in stories
                and other.start < own_from
                for other in mentions
            ):
                return True
        return False

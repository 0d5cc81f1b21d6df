"""The negation / hypothetical / historical / family layer on medspacy 1.3.1's ConText.

Same interface as ``modifiers.Modifiers`` (the engine builds one per chunk and calls
``assign()``), but the cue matching, scopes, PSEUDO pruning and termination are done by
medspacy's ``ConText`` component over the chunk's concept mentions as target spans. The
project's own parts stay as they are and are inherited from ``Modifiers``: persons and ages
(``persons.py``), symptom-site attribution (``attribution.py``), "gone now" (``resolved``),
hyperbole, the concepts' neighbour exclusions and per-concept options (``negation_is_flag``,
``question_counts``, ``modal_counts``, ``speculation_cues``, ``past_counts``,
``resolvable``), and the carer reading of someone else's history.

Cue rules come from two places, selectable so that both can be measured:

- ``own``: the table's ``context.cues`` ported to ``ConTextRule``s (each cue's compiled
  spaCy patterns on NORM; FORWARD / BIDIRECTIONAL / PSEUDO as in ``modifiers.CUE_CATEGORIES``;
  ``context.negation.scope_enders`` as a category that terminates negation only);
- ``default``: medspacy's packaged English rules (``resources/en/context_rules.json``);
- ``both``: the two together.

Scope is either ``project`` (ConText's scope narrowed by ``on_modifies`` callbacks to the
project's clauses, the negation window and connectors, the modal skip words and the
fronted/time-clause reading of past cues) or ``sentence`` (plain ConText: the sentence,
cut by TERMINATE cues).

Selected with ``Triage.from_file(context="medspacy")`` (or env ``TRIAGE_CONTEXT``);
``"medspacy:<cues>:<scope>"`` picks a variant, ``"medspacy"`` is ``medspacy:own:project``.
medspacy is imported only when this layer is built.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Set, Tuple

from assistant.triage.context_rules import (
    CUE_SETS,
    FAMILY,
    GROUP_OF,
    HISTORICAL,
    HYPOTHETICAL,
    MESSAGE_KEY,
    MODAL,
    NEGATED,
    PRUNINGS,
    QUESTION,
    RECENT,
    SCOPES,
    SPAN_GROUP,
    SPECULATION,
    USED_TO,
    Edge,
    default_rules,
    own_rules,
    parse_setting,
    project_callbacks,
    sentence_callbacks,
)
from assistant.triage.modifiers import Modifiers, Status
from assistant.triage.rules import Concept, ModifierWords, Rules

if TYPE_CHECKING:
    from assistant.triage.message import Mention, Message
    from assistant.triage.persons import Persons

logger = logging.getLogger(__name__)


class MedspacyContext:
    """medspacy's ConText with the chosen cue rules, built once per ``Triage``."""

    def __init__(
        self, rules: Rules, nlp: Any, cues: str = "own", scope: str = "project", pruning: str = "category"
    ) -> None:
        """``pruning``: "category" runs one ConText per category group, so that ConText's
        longest-match pruning (how PSEUDO cues win) only weighs cues of one reading against
        each other, as the project's layer does ("I read that": a hypothetical even though
        the question cue "I read that" is longer); "shared" is one ConText for all."""
        from spacy.tokens import Span

        # ConText with its pair loops made linear, same results (context_graph.py)
        from assistant.triage.context_graph import LinearConText

        if cues not in CUE_SETS or scope not in SCOPES or pruning not in PRUNINGS:
            raise ValueError(f"cues one of {CUE_SETS}, scope one of {SCOPES}, pruning one of {PRUNINGS}")
        self.cues, self.scope, self.pruning = cues, scope, pruning
        callbacks = project_callbacks(rules.modifier_words) if scope == "project" else sentence_callbacks()
        selected: List[Any] = []
        if cues in ("own", "both"):
            selected += own_rules(rules, callbacks)
        if cues in ("default", "both"):
            selected += default_rules(callbacks)
        groups: Dict[str, List[Any]] = {}
        for rule in selected:
            group = "all" if pruning == "shared" else GROUP_OF.get(rule.category, rule.category)
            groups.setdefault(group, []).append(rule)
        self.contexts: List[Any] = []
        for group, members in groups.items():
            context = LinearConText(
                nlp,
                name=f"triage_context_{group.lower()}",
                rules=None,
                phrase_matcher_attr="LOWER",
                span_attrs=None,  # no Span._.is_negated etc.: edges are read from the graph
                input_span_type="group",
                span_group_name=SPAN_GROUP,
            )
            context.add(members)
            self.contexts.append(context)
        self.rule_count = len(selected)
        self._span = Span
        self._lock = threading.Lock()
        logger.info(
            "medspacy ConText layer: %d rules in %d ConText (cues=%s, scope=%s)",
            self.rule_count,
            len(self.contexts),
            cues,
            scope,
        )

    def modifiers(
        self, message: "Message", persons: "Persons", questions: Set[int], words: ModifierWords
    ) -> "MedspacyModifiers":
        """What the engine calls instead of ``Modifiers(...)``."""
        return MedspacyModifiers(message, persons, questions, words, self)

    def edges(
        self, message: "Message", questions: Set[int]
    ) -> Tuple[Dict[Tuple[int, int, str], List[Edge]], List[Any]]:
        """Run ConText over the chunk: (start, end, concept) -> the (category, cue span) of
        each modifier of it, and every modifier found (for negations inside a mention, which
        ConText leaves alone)."""
        doc = message.doc
        targets = [
            self._span(doc, mention.start, mention.end, label=name)
            for name, found in message.mentions.items()
            if message.concepts[name].kind != "cue"
            for mention in found
        ]
        edges: Dict[Tuple[int, int, str], List[Edge]] = {}
        modifiers: List[Any] = []
        # ConText scopes by doc.sents: give it the project's sentences (the pipeline's, split
        # at newlines too; also when the pipeline has no sentencizer)
        sent_of = message.sent_of
        for index, token in enumerate(doc):
            token.is_sent_start = index == 0 or sent_of[index] != sent_of[index - 1]
        with self._lock:
            doc.user_data[MESSAGE_KEY] = message
            doc.user_data["questions"] = questions
            doc.spans[SPAN_GROUP] = targets
            try:
                for context in self.contexts:
                    graph = context(doc)._.context_graph
                    modifiers.extend(graph.modifiers)
                    for target, modifier in graph.edges:
                        edges.setdefault((target.start, target.end, target.label_), []).append(
                            (modifier.category, modifier.modifier_span)
                        )
            finally:
                doc.user_data.pop(MESSAGE_KEY, None)
        return edges, modifiers


class MedspacyModifiers(Modifiers):
    """``Modifiers`` whose negation, hypothetical, past and family readings come from ConText
    edges; everything else (hyperbole, exclusions, "gone now", carers) is the project's."""

    def __init__(
        self,
        message: "Message",
        persons: "Persons",
        questions: Set[int],
        words: ModifierWords,
        layer: MedspacyContext,
    ) -> None:
        super().__init__(message, persons, questions, words)
        self.edges, modifiers = layer.edges(message, questions)
        flag_spans = [
            (mention.start, mention.end)
            for name, found in message.mentions.items()
            if message.concepts[name].negation_is_flag
            for mention in found
        ]
        self.negation_cues = [
            (modifier.modifier_span, modifier.direction)
            for modifier in modifiers
            if modifier.category == NEGATED and modifier.direction in ("FORWARD", "BACKWARD", "BIDIRECTIONAL")
        ]
        self.family_cues = [modifier.modifier_span for modifier in modifiers if modifier.category == FAMILY]
        # time cues by category, for a mention inside its cue ("when he fell at 85"), which
        # ConText leaves alone and the own layer dates (the cue is in the mention's clause)
        self.time_cues: Dict[str, List[Tuple[int, int]]] = {}
        for modifier in modifiers:
            if modifier.category in (HISTORICAL, RECENT):
                self.time_cues.setdefault(modifier.category, []).append(modifier.modifier_span)
        # a negation that is part of a flag ("nothing helps", "can't wee") negates nothing else
        self.flag_negations = {
            span for span, _ in self.negation_cues if any(s < span[1] and span[0] < e for s, e in flag_spans)
        }

    def _categories(self, mention: "Mention") -> Set[str]:
        return {category for category, _ in self.edges.get((mention.start, mention.end, mention.concept), ())}

    # ------------------------------------------------------------------ negation
    def negated(self, concept: Concept, mention: "Mention") -> bool:
        if not self.negation_cues:
            return False
        if concept.negation_is_flag:
            return self._negation_just_before(mention)
        if any(start < mention.end and mention.start < end for (start, end), _ in self.negation_cues):
            return True  # a negation inside the mention ("no feeling in ...")
        return any(
            category == NEGATED and span not in self.flag_negations
            for category, span in self.edges.get((mention.start, mention.end, mention.concept), ())
        )

    def _negation_just_before(self, mention: "Mention") -> bool:
        """ "can't wee" *is* the flag: only a negation cue ending at most one token before it
        undoes it ("no unexplained weight loss"), with no punctuation between."""
        doc = self.message.doc
        for (start, end), direction in self.negation_cues:
            if direction == "BACKWARD" or end > mention.start or (start, end) in self.flag_negations:
                continue
            if mention.start - end <= 1 and not any(doc[index].is_punct for index in range(end, mention.start)):
                if self.message.clause_of[start] == mention.clause:
                    return True
        return False

    # ------------------------------------------------------------------ hypothetical
    def hypothetical(self, concept: Concept, mention: "Mention") -> bool:
        categories = self._categories(mention)
        if HYPOTHETICAL in categories and not concept.condition_counts:
            return True
        if mention.sent in self.questions and not concept.question_counts and not self.dated_after_question(mention):
            if QUESTION in categories or concept.speculative_in_question:
                return True
            if self.general_question(mention):
                return True
        if MODAL in categories and not concept.modal_counts:
            return True
        if concept.speculation_cues and SPECULATION in categories:
            return True
        if concept.kind == "topic":
            message = self.message
            return (
                concept.always_hypothetical
                or mention.sent in self.questions
                or message.sentence_has_cue("worry", mention.sent)
                or message.sentence_has_cue("speculation", mention.sent)
            )
        return False

    # ------------------------------------------------------------------ past
    def past(self, mention: "Mention", cue_name: str = "past_time") -> bool:
        categories = self._categories(mention)
        category = RECENT if cue_name == "recent_past" else HISTORICAL
        if any(start < mention.end and mention.start < end for start, end in self.time_cues.get(category, ())):
            return True
        if cue_name == "recent_past":
            return RECENT in categories
        return HISTORICAL in categories or USED_TO in categories

    # ------------------------------------------------------------------ someone else's
    def someone_elses_history(self, mention: "Mention") -> bool:
        if FAMILY in self._categories(mention) or any(
            start < mention.end and mention.start < end for start, end in self.family_cues
        ):
            return True  # ConText leaves a cue inside the mention alone ("family history of cancer")
        if mention.experiencer == "self":
            return False
        # a carer describing the patient: the same (non-self) person has symptoms now
        for name, mentions in self.message.mentions.items():
            concept = self.message.concepts[name]
            if (
                concept.kind not in ("symptom", "context")
                or name == mention.concept
                or name not in self.words.carer_evidence
            ):
                continue
            if any(other.status is Status.AFFIRMED and other.experiencer != "self" for other in mentions):
                return False
        return True


def build_layer(setting: Optional[str], rules: Rules, nlp: Any) -> Optional[MedspacyContext]:
    """None for the project's own layer ("own"), else the ConText layer the setting names."""
    if not setting or setting == "own":
        return None
    cues, scope, pruning = parse_setting(setting)
    try:
        import medspacy  # noqa: F401
    except ImportError:
        # triage must always build: without medspacy the project's own layer (the same
        # figures on every set, docs/triage.md) does the work
        logger.warning("medspacy is not installed; the own context layer is used (pip install medspacy==1.3.1)")
        return None
    return MedspacyContext(rules, nlp, cues, scope, pruning)

"""The red-flag table compiled: concepts and their Matcher, context word lists, flags.

``Rules.build(raw, nlp)`` validates the YAML against ``schema.RedFlagRules`` (unknown keys
and wrong types fail with their location), then compiles the patterns and checks every
cross-reference (concept, term set and flag names), raising ``RulesError``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Dict, FrozenSet, List, Optional, Set, Tuple

from assistant.triage import schema
from assistant.triage.lexicon import Normaliser
from assistant.triage.patterns import PatternCompiler, Phrase, pattern_words
from assistant.triage.schema import RulesError

logger = logging.getLogger(__name__)


@dataclass
class Concept:
    """What the text can say (a symptom, a site, history, context) or a context cue."""

    name: str
    kind: str = "symptom"  # symptom | history | site | context | topic | cue | union
    negatable: bool = True
    negation_is_flag: bool = False
    past_counts: bool = False
    subject: bool = True  # a hypothetical mention sets TriageResult.hypothetical
    exertion_sensitive: bool = False
    speculative_in_question: bool = False
    speculation_cues: bool = False
    always_hypothetical: bool = False
    resolvable: bool = False  # "had a fever last week", "my temperature has gone now"
    never_hyperbole: bool = False  # a wish to die is never hyperbole (red-flags.md: crisis)
    question_counts: bool = False  # said in a question it still counts ("what's the point of living?")
    modal_counts: bool = False  # a modal before it is intent ("I might end it all")
    # said under a condition it still counts ("if this doesn't get better I'd rather not wake up")
    condition_counts: bool = False
    next_in: Optional[List[Phrase]] = None
    next_not_in: Optional[List[Phrase]] = None
    prev_not_in: Optional[List[Phrase]] = None
    unless_sentence_has: Optional[List[Phrase]] = None
    union: Tuple[str, ...] = ()


@dataclass(frozen=True)
class Trigger:
    all: Tuple[str, ...]
    pairs: Tuple[Tuple[str, str], ...]
    scope: str = "sentence"  # clause | region | sentence | message
    experiencer: Optional[str] = None  # "child"
    experiencer_not: Optional[str] = None  # "child"
    same_experiencer: bool = False  # every concept said of the same person
    unless_self_has: Tuple[str, ...] = ()  # not when the writer speaks of these for themself
    unless_flags: Tuple[str, ...] = ()
    min_age: Optional[int] = None  # not when the person's stated age is under it


@dataclass(frozen=True)
class Flag:
    id: str
    tier: str
    condition: str
    watch_for: str
    source: str
    triggers: Tuple[Trigger, ...]
    upgrade_to: Optional[str]
    upgrade_if: Tuple[Dict[str, str], ...]
    suppressed_by: Tuple[str, ...]
    order: int


def _words(items: Any) -> FrozenSet[str]:
    return frozenset(str(item).lower() for item in items or [])


@dataclass(frozen=True)
class ClauseWords:
    hard_breaks: FrozenSet[str]
    soft_breaks: FrozenSet[str]
    skip_after_break: FrozenSet[str]
    subject_words: FrozenSet[str]
    anaphora: FrozenSet[str]
    verbs: FrozenSet[str]
    question_starters: FrozenSet[str]
    question_skip: FrozenSet[str]


@dataclass(frozen=True)
class ModifierWords:
    negation_window: int
    negation_connectors: FrozenSet[str]
    negation_enders: FrozenSet[str]  # TERMINATE: a negation's scope ends here
    modal_skip: FrozenSet[str]
    time_clause_starters: FrozenSet[str]
    carer_evidence: FrozenSet[str]
    onset_openers: FrozenSet[str] = frozenset()  # "Started on Monday." after a question


@dataclass(frozen=True)
class PersonWords:
    not_a_person_before: Tuple[Phrase, ...]
    self_description: Tuple[Phrase, ...]
    self_description_window: int
    self_description_stop: FrozenSet[str]
    object_before: Tuple[Phrase, ...]
    object_skip: FrozenSet[str]


@dataclass(frozen=True)
class AttributionWords:
    window: int
    connectors: FrozenSet[str]  # may stand between two sites of one chain
    link_words: FrozenSet[str]  # "my bum is (all) tingling"


@dataclass
class Rules:
    """Everything the engine needs from the table, compiled for one spaCy pipeline."""

    nlp: Any
    normaliser: Normaliser
    matcher: Any
    concepts: Dict[str, Concept]
    flags: List[Flag]
    clause_words: ClauseWords
    modifier_words: ModifierWords
    person_words: PersonWords
    attribution_words: AttributionWords
    pattern_count: int = 0
    flag_by_id: Dict[str, Flag] = field(default_factory=dict)

    @classmethod
    def build(cls, raw: Any, nlp: Any, source: str = "<rules>", text: Optional[str] = None) -> "Rules":
        table = schema.validate_rules(raw, source, text)
        lexicon = table.lexicon
        normaliser = Normaliser(
            lexicon.variants,
            lexicon.rewrite,
            lexicon.fuzzy.targets,
            lexicon.fuzzy.min_length,
            lexicon.fuzzy.protect,
            softeners=(lexicon.softeners.negations, lexicon.softeners.words),
        )
        specs = _concept_specs(table)
        normaliser.set_vocabulary(_rule_vocabulary(table, specs))
        compiler = PatternCompiler(nlp, normaliser, {name: list(items) for name, items in table.terms.items()})
        from spacy.matcher import Matcher

        matcher = Matcher(nlp.vocab, validate=True)
        concepts, count = _compile_concepts(specs, compiler, matcher)
        context = table.context
        rules = cls(
            nlp=nlp,
            normaliser=normaliser,
            matcher=matcher,
            concepts=concepts,
            flags=[],
            clause_words=ClauseWords(
                _words(context.clauses.hard_breaks),
                _words(context.clauses.soft_breaks),
                _words(context.clauses.skip_after_break),
                _words(context.clauses.subject_words),
                _words(context.clauses.anaphora),
                _words(context.clauses.verbs),
                _words(context.clauses.question_starters),
                _words(context.hypothetical.question_skip),
            ),
            modifier_words=ModifierWords(
                context.negation.window,
                _words(context.negation.connectors),
                _words(context.negation.scope_enders),
                _words(context.hypothetical.modal_skip),
                _words(context.time.time_clause_starters),
                _words(context.persons.carer_evidence),
                _words(context.hypothetical.onset_openers),
            ),
            person_words=PersonWords(
                tuple(compiler.phrases(context.persons.not_a_person_before)),
                tuple(compiler.phrases(context.persons.self_description)),
                context.persons.self_description_window,
                _words(context.persons.self_description_stop),
                tuple(compiler.phrases(context.persons.object_before)),
                _words(context.persons.object_skip),
            ),
            attribution_words=AttributionWords(
                context.attribution_window,
                _words(context.attribution_connectors),
                _words(context.attribution_link_words),
            ),
            pattern_count=count,
        )
        rules.flags = _compile_flags(table, concepts)
        rules.flag_by_id = {flag.id: flag for flag in rules.flags}
        return rules


def _concept_specs(table: schema.RedFlagRules) -> Dict[str, schema.Concept]:
    specs = dict(table.concepts)
    for name, cue in table.context.cues.items():
        if name in specs:
            raise RulesError(f"cue {name!r} clashes with a concept name")
        specs[name] = cue if cue.kind else cue.copy(update={"kind": "cue"})
    return specs


def _rule_vocabulary(table: schema.RedFlagRules, specs: Dict[str, schema.Concept]) -> Set[str]:
    """Canonical words mentioned anywhere in the rules: never "typo-corrected"."""
    words: Set[str] = set()
    for items in table.terms.values():
        for item in items:
            words.update(str(item).lower().split())
    for spec in specs.values():
        words |= pattern_words(spec.patterns or [])
    return words


def _concept(name: str, spec: schema.Concept, compiler: PatternCompiler) -> Concept:
    kind = spec.kind or "symptom"
    lists = {
        key: compiler.phrases(getattr(spec, key))
        for key in ("next_in", "next_not_in", "prev_not_in", "unless_sentence_has")
        if getattr(spec, key) is not None
    }
    defaults_on = kind in ("symptom", "history", "topic")
    return Concept(
        name=name,
        kind=kind,
        negatable=defaults_on if spec.negatable is None else spec.negatable,
        negation_is_flag=spec.negation_is_flag,
        past_counts=(kind in ("site", "context", "cue")) if spec.past_counts is None else spec.past_counts,
        subject=defaults_on if spec.subject is None else spec.subject,
        exertion_sensitive=spec.exertion_sensitive,
        speculative_in_question=spec.speculative_in_question,
        speculation_cues=spec.speculation_cues,
        always_hypothetical=spec.always_hypothetical,
        resolvable=spec.resolvable,
        never_hyperbole=spec.never_hyperbole,
        question_counts=spec.question_counts,
        modal_counts=spec.modal_counts,
        condition_counts=spec.condition_counts,
        next_in=lists.get("next_in"),
        next_not_in=lists.get("next_not_in"),
        prev_not_in=lists.get("prev_not_in"),
        unless_sentence_has=lists.get("unless_sentence_has"),
    )


def _compile_concepts(
    specs: Dict[str, schema.Concept], compiler: PatternCompiler, matcher: Any
) -> Tuple[Dict[str, Concept], int]:
    concepts: Dict[str, Concept] = {}
    unions: Dict[str, Tuple[str, ...]] = {}
    count = 0
    for name, spec in specs.items():
        if spec.union:
            unions[name] = tuple(spec.union)
            continue
        if not spec.patterns:
            raise RulesError(f"concept {name!r} needs 'patterns' or 'union'")
        concepts[name] = _concept(name, spec, compiler)
        patterns = [compiled for pattern in spec.patterns for compiled in compiler.compile(pattern, name)]
        matcher.add(name, patterns)
        count += len(patterns)
    for name, members in unions.items():
        for member in members:
            if member not in concepts or member in unions:
                raise RulesError(f"union {name!r}: unknown or nested member {member!r}")
        concepts[name] = Concept(name=name, kind="union", union=members)
    return concepts, count


def _check_trigger(flag_id: str, trigger: schema.Trigger, concepts: Dict[str, Concept]) -> Trigger:
    names = list(trigger.all) + [name for pair in trigger.pairs for name in pair] + list(trigger.unless_self_has)
    for name in names:
        if name not in concepts:
            raise RulesError(f"flag {flag_id}: unknown concept {name!r}")
    return Trigger(
        all=tuple(trigger.all),
        pairs=tuple(tuple(pair) for pair in trigger.pairs),  # type: ignore[misc]
        scope=trigger.scope,
        experiencer=trigger.experiencer,
        experiencer_not=trigger.experiencer_not,
        same_experiencer=trigger.same_experiencer,
        unless_self_has=tuple(trigger.unless_self_has),
        unless_flags=tuple(trigger.unless_flags),
        min_age=trigger.min_age,
    )


def _compile_flags(table: schema.RedFlagRules, concepts: Dict[str, Concept]) -> List[Flag]:
    flags: List[Flag] = []
    seen: Set[str] = set()
    for order, spec in enumerate(table.flags):
        if spec.id in seen:
            raise RulesError(f"flag id missing or duplicated: {spec.id!r}")
        seen.add(spec.id)
        triggers = tuple(_check_trigger(spec.id, trigger, concepts) for trigger in spec.triggers)
        upgrade_if: Tuple[Dict[str, str], ...] = ()
        if spec.upgrade:
            upgrade_if = tuple(
                {key: value for key, value in condition.dict().items() if value is not None}
                for condition in spec.upgrade.if_any
            )
            for condition in upgrade_if:
                if "concept" in condition and condition["concept"] not in concepts:
                    raise RulesError(f"flag {spec.id}: unknown upgrade concept {condition['concept']!r}")
        flags.append(
            Flag(
                id=spec.id,
                tier=spec.tier,
                condition=spec.condition,
                watch_for=str(spec.watch_for).strip(),
                source=str(spec.source).strip(),
                triggers=triggers,
                upgrade_to=spec.upgrade.to if spec.upgrade else None,
                upgrade_if=upgrade_if,
                suppressed_by=tuple(spec.suppressed_by),
                order=order,
            )
        )
    for flag in flags:
        for other in flag.suppressed_by:
            if other not in seen:
                raise RulesError(f"flag {flag.id}: suppressed_by unknown flag {other!r}")
        for trigger in flag.triggers:
            for other in trigger.unless_flags:
                if other not in seen:
                    raise RulesError(f"flag {flag.id}: unless_flags unknown flag {other!r}")
    return flags

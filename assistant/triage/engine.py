"""Rule-based red-flag triage for hip and buttock pain messages: the engine.

The clinical table (flags, tiers, upgrades, patterns, patient-facing wording and the
context cue lists) lives in ``content/red_flags.yml``; clinical basis
``shared/clinical/red-flags.md``. The layers follow medspacy ConText's:

1. ``lexicon``      clean the text, give every token a canonical ``NORM`` (contractions,
                    slang and typos) that the patterns match on;
2. ``rules``        the table, validated by ``schema`` and compiled (``patterns``) into one
                    spaCy ``Matcher`` of concepts and cues;
3. ``segment``      sentences, clauses and regions, which bound every context rule;
4. ``persons``      who has each mention (self, other, child), with ages;
5. ``modifiers``    each mention's ``Status``: affirmed, negated, hypothetical, past,
                    someone else's history, hyperbole, excluded;
6. ``attribution``  which site a symptom is said of;
7. ``firing``       triggers, upgrades and suppressions decide the findings.

Build triage one way: ``Triage.from_file(path=None, nlp=None)`` (None: ``rules_path()``,
env ``RED_FLAGS_PATH``). ``assess(text, doc=None)`` takes the NLU pipeline's parsed
``Doc`` when there is one and puts the result on ``doc._.triage``. Only flag ids are ever
logged: the message is health data.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any, Dict, List, Optional, Tuple

from assistant.paths import ROOT
from assistant.triage.attribution import Attribution, drop_contained_sites
from assistant.triage.firing import AS_IF_CURRENT, AS_IF_REAL, RULED_OUT, Firing
from assistant.triage.lexicon import chunks, clean
from assistant.triage.message import Mention, Message
from assistant.triage.modifiers import Modifiers
from assistant.triage.persons import Persons
from assistant.triage.prefilter import PatternPrefilter
from assistant.triage.results import EMPTY_RESULT, TIER_RANK, TIERS, Finding, TriageResult
from assistant.triage.rules import Rules
from assistant.triage.schema import RulesError
from assistant.triage.segment import question_sentences, segment

logger = logging.getLogger(__name__)

PROJECT_ROOT = str(ROOT)
DEFAULT_RULES_PATH = os.path.join(PROJECT_ROOT, "content", "red_flags.yml")
RULES_ENV_VAR = "RED_FLAGS_PATH"
CONTEXT_ENV_VAR = "TRIAGE_CONTEXT"  # the modifiers layer: "own" or "medspacy[:cues[:scope]]"
DEFAULT_CONTEXT = "medspacy"  # adopted: docs/triage.md "medspacy ConText: evaluated, adopted"
DOC_EXTENSION = "triage"  # doc._.triage: the TriageResult of a Doc passed to assess()

__all__ = [
    "DEFAULT_RULES_PATH",
    "EMPTY_RESULT",
    "Finding",
    "RulesError",
    "TIERS",
    "Triage",
    "TriageResult",
    "assess",
    "default_triage",
    "rules_path",
]


class Triage:
    """Red-flag detector. Build once (``from_file``), call ``assess``."""

    def __init__(
        self,
        rules: dict,
        nlp: Any = None,
        source: str = "<rules>",
        text: Optional[str] = None,
        context: Optional[str] = None,
    ) -> None:
        if not isinstance(rules, dict):
            raise RulesError("red-flag rules must be a mapping")
        self._nlp = nlp if nlp is not None else _blank_pipeline()
        self._lock = threading.Lock()  # spaCy pipelines and matchers are not guaranteed thread-safe
        self.rules = Rules.build(rules, self._nlp, source, text)
        # long texts: a matcher of only the patterns the text can match (same matches)
        self._prefilter = PatternPrefilter(self.rules.matcher, list(self.rules.concepts), self._nlp.vocab)
        from assistant.triage.context_medspacy import build_layer  # medspacy loads only if chosen

        self.context = context or os.environ.get(CONTEXT_ENV_VAR) or DEFAULT_CONTEXT
        self._context_layer = build_layer(self.context, self.rules, self._nlp)
        self._site_connectors = set(
            self.rules.modifier_words.negation_connectors | self.rules.attribution_words.connectors
        )
        _register_extension()

    @classmethod
    def from_file(cls, path: Optional[str] = None, nlp: Any = None, context: Optional[str] = None) -> "Triage":
        """THE way to build triage: the table at ``path``, else ``rules_path()``; ``context``
        the modifiers layer (else env TRIAGE_CONTEXT, else DEFAULT_CONTEXT)."""
        import yaml  # local import: nothing heavy at module import time

        path = path or rules_path()
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        return cls(yaml.load(text, Loader=loader), nlp=nlp, source=str(path), text=text, context=context)

    # ------------------------------------------------------------------ public
    @property
    def flag_ids(self) -> List[str]:
        return [flag.id for flag in self.rules.flags]

    def flag_info(self, flag_id: str) -> Dict[str, str]:
        flag = self.rules.flag_by_id[flag_id]
        return {
            "id": flag.id,
            "tier": flag.tier,
            "condition": flag.condition,
            "watch_for": flag.watch_for,
            "source": flag.source,
        }

    def assess(self, text: Any, doc: Any = None) -> TriageResult:
        """Assess one message. ``doc``: the NLU pipeline's Doc of this text (its sentence
        boundaries are reused; the result is set on ``doc._.triage``). Never raises; on an
        internal error returns no finding."""
        try:
            result = self._assess(text, doc)
        except Exception as exc:  # pragma: no cover - defensive: triage must never crash a turn
            logger.error(
                "triage failed (%s); no flag assessed", type(exc).__name__, exc_info=logger.isEnabledFor(logging.DEBUG)
            )
            result = EMPTY_RESULT
        if doc is not None and hasattr(doc, "_") and doc.has_extension(DOC_EXTENSION):
            setattr(doc._, DOC_EXTENSION, result)
        return result

    # ------------------------------------------------------------------ per message
    def _assess(self, text: Any, doc: Any) -> TriageResult:
        cleaned = clean(text)
        if not cleaned.strip():
            return EMPTY_RESULT
        started = time.perf_counter()
        fired: Dict[str, str] = {}
        hypothetical = False
        ruled_out: List[str] = []
        pieces = list(chunks(cleaned))
        for piece in pieces:
            piece_flags, piece_hypothetical, piece_ruled_out = self._assess_chunk(
                piece, doc if len(pieces) == 1 else None
            )
            hypothetical = hypothetical or piece_hypothetical
            ruled_out.extend(flag for flag in piece_ruled_out if flag not in ruled_out)
            for flag_id, tier in piece_flags.items():
                if TIER_RANK[tier] > TIER_RANK.get(fired.get(flag_id, ""), 0):
                    fired[flag_id] = tier
        result = self._result(fired, hypothetical, [flag for flag in ruled_out if flag not in fired])
        if result.findings or result.hypothetical:
            logger.info(
                "triage: flags=%s tier=%s hypothetical=%s (%.1f ms)",
                result.flags,
                result.tier,
                result.hypothetical,
                (time.perf_counter() - started) * 1000,
            )
        return result

    def _make_doc(self, text: str, parsed: Any = None) -> Any:
        """The working Doc: normalised text, tokenised; NORMs set. A parsed Doc whose tokens
        are the same lends its sentence boundaries, so the pipeline need not run again."""
        normalised = self.rules.normaliser.rewrite(text)
        with self._lock:
            doc = self._nlp.make_doc(normalised)
            if not _copy_sentences(parsed, doc):
                for _, component in self._nlp.pipeline:
                    doc = component(doc)
        canonical = self.rules.normaliser.canonical
        for token in doc:
            norm = canonical(token.lower_)
            if norm != token.norm_:
                token.norm_ = norm
        return doc

    def _mentions(
        self, doc: Any, sent_of: List[int], clause_of: List[int], region_of: List[int]
    ) -> Dict[str, List[Mention]]:
        with self._lock:
            matches = self._prefilter.matches(doc)
        strings = self._nlp.vocab.strings
        mentions: Dict[str, List[Mention]] = {}
        seen = set()
        for match_id, start, end in matches:
            name = strings[match_id]
            if sent_of[start] != sent_of[end - 1] or (name, start, end) in seen:
                continue
            seen.add((name, start, end))
            mentions.setdefault(name, []).append(
                Mention(name, start, end, sent_of[start], clause_of[start], region_of[start])
            )
        drop_contained_sites(mentions, self.rules.concepts)
        return mentions

    def _assess_chunk(self, text: str, parsed: Any = None) -> Tuple[Dict[str, str], bool, List[str]]:
        doc = self._make_doc(text, parsed)
        if len(doc) == 0:
            return {}, False, []
        rules = self.rules
        norms = [token.norm_ for token in doc]
        segments = segment(doc, norms, rules.clause_words)
        mentions = self._mentions(doc, segments.sent_of, segments.clause_of, segments.region_of)
        message = Message(doc, norms, segments, rules.concepts, mentions)
        persons = Persons(message, rules.person_words)
        questions = question_sentences(doc, norms, segments.sent_of, rules.clause_words)
        layer = self._context_layer.modifiers if self._context_layer is not None else Modifiers
        hypothetical = layer(message, persons, questions, rules.modifier_words).assign()
        attribution = Attribution(message, rules.attribution_words, self._site_connectors)
        fired = Firing(message, attribution).fire(rules.flags)
        if not hypothetical:
            # would a flag fire if the hypothetical mentions were real? ("what if my legs go weak")
            as_if = Firing(message, attribution, accept=AS_IF_REAL).fire(rules.flags)
            hypothetical = bool(set(as_if) - set(fired))
        return fired, hypothetical, _ruled_out(message, attribution, rules.flags, fired)

    def _result(self, fired: Dict[str, str], hypothetical: bool, ruled_out: List[str]) -> TriageResult:
        flag_by_id = self.rules.flag_by_id
        findings = [Finding(flag_id, tier, flag_by_id[flag_id].watch_for) for flag_id, tier in fired.items()]
        findings.sort(key=lambda finding: (-TIER_RANK[finding.tier], flag_by_id[finding.flag].order))
        return TriageResult(findings=tuple(findings), hypothetical=bool(hypothetical), ruled_out=tuple(ruled_out))


def _ruled_out(message: Message, attribution: Attribution, flags: List[Any], fired: Dict[str, str]) -> List[str]:
    """Flags that would fire if the mentions context ruled out (negated, past, someone
    else's, hypothetical, hyperbole) were current, and did not: the rules saw the mention
    and decided. Only run when such a mention exists (most messages have none)."""
    if not any(
        mention.status in RULED_OUT
        for name, mentions in message.mentions.items()
        if message.concepts[name].kind != "cue"
        for mention in mentions
    ):
        return []
    as_if = Firing(message, attribution, accept=AS_IF_CURRENT).fire(flags)
    out = [flag_id for flag_id in as_if if flag_id not in fired]
    # flags of one event (a flag and the flag it is suppressed by: fall_older_adult and
    # fracture) are ruled out together: "there was no fall" rules out a fracture suspicion
    for flag in flags:
        related = [flag.id, *flag.suppressed_by]
        if any(flag_id in out for flag_id in related):
            out.extend(flag_id for flag_id in related if flag_id not in out and flag_id not in fired)
    return out


def _copy_sentences(parsed: Any, doc: Any) -> bool:
    """Copy sentence starts from ``parsed`` when its tokens are ``doc``'s (case aside)."""
    if parsed is None or not hasattr(parsed, "has_annotation") or len(parsed) != len(doc):
        return False
    if not parsed.has_annotation("SENT_START"):
        return False
    if any(ours.lower_ != theirs.lower_ for ours, theirs in zip(doc, parsed)):
        return False
    for ours, theirs in zip(doc, parsed):
        ours.is_sent_start = bool(theirs.is_sent_start)
    return True


def _register_extension() -> None:
    from spacy.tokens import Doc

    if not Doc.has_extension(DOC_EXTENSION):
        Doc.set_extension(DOC_EXTENSION, default=None)


def _blank_pipeline() -> Any:
    import spacy  # local import: spaCy (and what it pulls in) loads only when needed

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return nlp


_default: Optional[Triage] = None
_default_lock = threading.Lock()


def rules_path() -> str:
    """The red-flag table in use: env RED_FLAGS_PATH (relative to the project root) or the default."""
    path = os.environ.get(RULES_ENV_VAR) or DEFAULT_RULES_PATH
    if not os.path.isabs(path):
        path = os.path.join(PROJECT_ROOT, path)
    return path


def default_triage() -> Triage:
    """The shared detector, built on first use with ``Triage.from_file()``."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                started = time.perf_counter()
                _default = Triage.from_file()
                logger.info(
                    "red-flag triage loaded: %d flags (%.0f ms)",
                    len(_default.flag_ids),
                    (time.perf_counter() - started) * 1000,
                )
    return _default


def assess(text: str) -> TriageResult:
    """Convenience: ``default_triage().assess(text)``."""
    return default_triage().assess(text)

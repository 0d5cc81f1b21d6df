"""The shape of ``content/red_flags.yml``: pydantic models that reject unknown keys.

A misspelt option must fail loudly: a concept with ``negateable: false`` used to load and
silently keep the default, so a negated red flag could have fired (or a real one been
missed). ``validate_rules`` checks the whole table and raises ``RulesError`` naming the
file, the line (when the YAML text is known), the key path and what is wrong, e.g.
``content/red_flags.yml:212: concepts.saddle_area.negateable: unknown option 'negateable'
(did you mean 'negatable'?)``. Cross-references (concept and flag names) are checked when
the rules are compiled (``assistant.triage.rules``), with the same error type.
"""

from __future__ import annotations

import difflib
import logging
from typing import Any, Dict, List, Literal, Mapping, Optional, Sequence, Tuple, Union

from pydantic import BaseModel, Extra, ValidationError, conint, constr, validator
from pydantic.fields import SHAPE_SINGLETON

logger = logging.getLogger(__name__)

Tier = Literal["emergency", "urgent"]
Experiencer = Literal["self", "other", "child"]
Scope = Literal["clause", "region", "sentence", "message"]
ConceptKind = Literal["symptom", "history", "site", "context", "topic", "cue"]
NonEmpty = constr(strip_whitespace=True, min_length=1)


class RulesError(ValueError):
    """The red-flag table is malformed."""


def _word(value: Any) -> str:
    """Word lists hold strings. YAML reads bare on/off/yes/no as booleans: say to quote them."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f"word lists hold strings; got {value!r} (quote it)")
    return str(value)


class _Strict(BaseModel):
    class Config:
        extra = Extra.forbid


class Word(str):
    """An entry of a word list: a string (or a number), never a YAML boolean."""

    @classmethod
    def __get_validators__(cls) -> Any:
        yield _word


class Fuzzy(_Strict):
    min_length: conint(ge=3) = 6  # type: ignore[valid-type]
    score_cutoff: Optional[float] = None
    targets: List[str] = []
    protect: List[str] = []


class Softeners(_Strict):
    """Words dropped between a negation and its verb ("can't really feel" -> "can't feel")."""

    negations: List[str] = []
    words: List[str] = []


class Lexicon(_Strict):
    softeners: Softeners = Softeners()
    rewrite: Dict[str, str] = {}
    variants: Dict[str, List[str]] = {}
    fuzzy: Fuzzy = Fuzzy()


Pattern = Union[str, List[Dict[str, Any]]]


class Concept(_Strict):
    """A concept (``concepts.*``) or a context cue (``context.cues.*``)."""

    patterns: Optional[List[Pattern]] = None
    union: Optional[List[str]] = None
    kind: Optional[ConceptKind] = None
    negatable: Optional[bool] = None
    negation_is_flag: bool = False
    past_counts: Optional[bool] = None
    subject: Optional[bool] = None
    exertion_sensitive: bool = False
    speculative_in_question: bool = False
    speculation_cues: bool = False
    always_hypothetical: bool = False
    resolvable: bool = False
    never_hyperbole: bool = False
    question_counts: bool = False
    modal_counts: bool = False
    condition_counts: bool = False
    next_in: Optional[List[Word]] = None
    next_not_in: Optional[List[Word]] = None
    prev_not_in: Optional[List[Word]] = None
    unless_sentence_has: Optional[List[Word]] = None


class Clauses(_Strict):
    hard_breaks: List[Word] = []
    soft_breaks: List[Word] = []
    skip_after_break: List[Word] = []
    subject_words: List[Word] = []
    anaphora: List[Word] = []
    verbs: List[Word] = []
    question_starters: List[Word] = []


class Negation(_Strict):
    window: conint(ge=0) = 5  # type: ignore[valid-type]
    connectors: List[Word] = []
    scope_enders: List[Word] = []


class Hypothetical(_Strict):
    modal_skip: List[Word] = []
    question_skip: List[Word] = []
    onset_openers: List[Word] = []


class Persons(_Strict):
    carer_evidence: List[Word] = []
    not_a_person_before: List[Word] = []
    self_description: List[Word] = []
    self_description_window: conint(ge=0) = 3  # type: ignore[valid-type]
    self_description_stop: List[Word] = []
    object_before: List[Word] = []
    object_skip: List[Word] = []


class Time(_Strict):
    time_clause_starters: List[Word] = []


class Context(_Strict):
    attribution_window: conint(ge=0) = 8  # type: ignore[valid-type]
    attribution_link_words: List[Word] = []
    attribution_connectors: List[Word] = []
    clauses: Clauses = Clauses()
    negation: Negation = Negation()
    hypothetical: Hypothetical = Hypothetical()
    persons: Persons = Persons()
    time: Time = Time()
    cues: Dict[str, Concept] = {}


class Trigger(_Strict):
    all: List[str] = []
    pairs: List[Tuple[str, str]] = []
    scope: Scope = "sentence"
    experiencer: Optional[Experiencer] = None
    experiencer_not: Optional[Experiencer] = None
    same_experiencer: bool = False
    unless_self_has: List[str] = []
    unless_flags: List[str] = []
    # not when the person's stated age is under this ("I'm 30, tripped on the stairs")
    min_age: Optional[int] = None

    @validator("pairs", pre=True, each_item=True)
    def _pair_is_symptom_and_site(cls, value: Any) -> Any:  # noqa: N805 - pydantic
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            raise ValueError("a pair is [symptom, site]")
        return value

    @validator("pairs", always=True)
    def _needs_all_or_pairs(cls, pairs: List[Tuple[str, str]], values: Dict[str, Any]) -> Any:  # noqa: N805
        if not pairs and not values.get("all"):
            raise ValueError("a trigger needs 'all' or 'pairs'")
        return pairs


class UpgradeCondition(_Strict):
    concept: Optional[str] = None
    experiencer: Optional[Experiencer] = None


class Upgrade(_Strict):
    to: Tier
    if_any: List[UpgradeCondition] = []


class Flag(_Strict):
    id: NonEmpty  # type: ignore[valid-type]
    tier: Tier
    condition: NonEmpty  # type: ignore[valid-type]
    watch_for: NonEmpty  # type: ignore[valid-type]
    source: NonEmpty  # type: ignore[valid-type]
    triggers: List[Trigger]
    upgrade: Optional[Upgrade] = None
    suppressed_by: List[str] = []

    @validator("triggers")
    def _has_triggers(cls, triggers: List[Trigger]) -> List[Trigger]:  # noqa: N805 - pydantic
        if not triggers:
            raise ValueError("no triggers")
        return triggers


class RedFlagRules(_Strict):
    """The whole ``content/red_flags.yml``."""

    version: int = 1
    lexicon: Lexicon = Lexicon()
    terms: Dict[str, List[Word]] = {}
    concepts: Dict[str, Concept]
    context: Context = Context()
    flags: List[Flag]

    @validator("flags")
    def _flags_not_empty(cls, flags: List[Flag]) -> List[Flag]:  # noqa: N805 - pydantic
        if not flags:
            raise ValueError("rules need a non-empty 'flags' list")
        return flags


# ----------------------------------------------------------------------------- messages
def _model_at(loc: Sequence[Union[str, int]]) -> Optional[Any]:
    """The model class that holds the last key of ``loc`` (for "did you mean")."""
    model: Any = RedFlagRules
    skip_key = False
    for part in loc[:-1]:
        if skip_key:  # a list index or dict key: the item's model is already ``model``
            skip_key = False
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        field = model.__fields__.get(str(part))
        if field is None:
            return None
        model = field.type_
        skip_key = field.shape != SHAPE_SINGLETON
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _describe(error: Mapping[str, Any]) -> str:
    loc = error["loc"]
    if error["type"] == "value_error.extra":
        key = str(loc[-1])
        model = _model_at(loc)
        known = sorted(model.__fields__) if model is not None else []
        close = difflib.get_close_matches(key, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else (f" (known: {', '.join(known)})" if known else "")
        return f"unknown option {key!r}{hint}"
    return str(error["msg"])


def _path_text(loc: Sequence[Union[str, int]], raw: Any) -> str:
    """``flags.14(crisis).triggers.0.scope``: a flag's index is followed by its id."""
    parts: List[str] = []
    for index, part in enumerate(loc):
        if part == "__root__":
            continue
        parts.append(str(part))
        if index == 1 and loc[0] == "flags" and isinstance(part, int) and isinstance(raw, dict):
            flags = raw.get("flags")
            if isinstance(flags, list) and part < len(flags) and isinstance(flags[part], dict):
                parts[-1] += f"({flags[part].get('id')})"
    return ".".join(parts)


def _messages(exc: ValidationError, raw: Any, source: str, text: Optional[str]) -> List[str]:
    lines: Dict[Tuple[str, ...], int] = {}
    if text is not None:
        from assistant.schema.locate import node_lines

        lines = node_lines(text)
    out = []
    for error in exc.errors():
        where = source
        if lines:
            from assistant.schema.locate import line_of

            where = f"{source}:{line_of(lines, error['loc'])}"
        out.append(f"{where}: {_path_text(error['loc'], raw)}: {_describe(error)}")
    return out


def _parse(raw: Any, source: str, text: Optional[str]) -> Tuple[Optional[RedFlagRules], List[str]]:
    if not isinstance(raw, dict):
        return None, [f"{source}: red-flag rules must be a mapping"]
    try:
        return RedFlagRules.parse_obj(raw), []
    except ValidationError as exc:
        return None, _messages(exc, raw, source, text)


def problems(raw: Any, source: str = "<rules>", text: Optional[str] = None) -> List[str]:
    """Every schema problem of a loaded table, as ``source:line: key.path: message``."""
    return _parse(raw, source, text)[1]


def validate_rules(raw: Any, source: str = "<rules>", text: Optional[str] = None) -> RedFlagRules:
    """The table as models, or ``RulesError`` listing every problem."""
    model, found = _parse(raw, source, text)
    if model is None:
        raise RulesError("red-flag table is malformed:\n  " + "\n  ".join(found))
    return model


def check_rules_file(path: str) -> List[str]:
    """Schema problems of a red-flag file (for ``assistant.validate``); [] when it is sound."""
    import yaml

    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return [f"{path}: not valid YAML ({exc})"]
    return problems(raw, path, text)

"""ConText rules and scopes for the medspacy layer (``context_medspacy.py``).

The ConText categories the layer reads, the table's cues ported to ``ConTextRule``s,
medspacy's packaged rules mapped to those categories, and the project's scope rules as
``on_modifies`` callbacks (ConText calls them for each cue-target pair inside the cue's
scope; False keeps the cue from modifying that target). The callbacks read the chunk's
``Message`` from ``doc.user_data`` (set by the layer for the duration of one call).
medspacy is imported only inside the rule builders.
"""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Tuple

from assistant.triage.modifiers import CUE_CATEGORIES, Direction, Modifiers, moves_to_present
from assistant.triage.rules import ModifierWords, Rules

if TYPE_CHECKING:
    from assistant.triage.message import Message

logger = logging.getLogger(__name__)

CUE_SETS = ("own", "default", "both")
SCOPES = ("project", "sentence")
PRUNINGS = ("category", "shared")
SPAN_GROUP = "triage_targets"
MESSAGE_KEY = "triage_message"  # doc.user_data: the Message the callbacks read
Edge = Tuple[str, Tuple[int, int]]  # (category, modifier span) of one ConText edge

NEGATED = "NEGATED_EXISTENCE"
NEGATION_END = "NEGATION_END"
HYPOTHETICAL = "HYPOTHETICAL"
QUESTION = "HYPOTHETICAL_QUESTION"
MODAL = "MODAL"
SPECULATION = "SPECULATION"
HISTORICAL = "HISTORICAL"
USED_TO = "HISTORICAL_USED_TO"
RECENT = "HISTORICAL_RECENT"
FAMILY = "FAMILY"
# categories that prune (and, for negation, terminate) each other in one ConText
GROUP_OF: Dict[str, str] = {NEGATION_END: NEGATED, USED_TO: HISTORICAL}

# the table's cue name -> ConText category (directions come from CUE_CATEGORIES)
OWN_CATEGORIES: Dict[str, str] = {
    "negation": NEGATED,
    "pseudo_negation": NEGATED,
    "hypothetical_forward": HYPOTHETICAL,
    "habitual_if": HYPOTHETICAL,
    "hypothetical_question": QUESTION,
    "modal": MODAL,
    "speculation": SPECULATION,
    "past_time": HISTORICAL,
    "used_to": USED_TO,
    "recent_past": RECENT,
    "family_history": FAMILY,
}
# medspacy's packaged categories -> ours
DEFAULT_CATEGORIES: Dict[str, str] = {
    "NEGATED_EXISTENCE": NEGATED,
    "POSSIBLE_EXISTENCE": HYPOTHETICAL,
    "HYPOTHETICAL": HYPOTHETICAL,
    "HISTORICAL": HISTORICAL,
    "FAMILY": FAMILY,
}


def parse_setting(setting: str) -> Tuple[str, str, str]:
    """``medspacy[:cues[:scope[:pruning]]]`` -> (cues, scope, pruning); a clear error on a bad value."""
    parts = setting.split(":")
    defaults = ("own", "project", "category")
    if parts[0] != "medspacy" or len(parts) > 4:
        raise ValueError(
            f"context layer {setting!r}: expected 'own' or "
            "'medspacy[:own|default|both[:project|sentence[:category|shared]]]'"
        )
    cues, scope, pruning = (parts[1:] + list(defaults[len(parts) - 1 :]))[:3]
    if cues not in CUE_SETS or scope not in SCOPES or pruning not in PRUNINGS:
        raise ValueError(
            f"context layer {setting!r}: cues one of {CUE_SETS}, scope one of {SCOPES}, pruning one of {PRUNINGS}"
        )
    return cues, scope, pruning


# ---------------------------------------------------------------------- scope callbacks
def _message(target: Any) -> "Message":
    return target.doc.user_data[MESSAGE_KEY]


def _same_clause(target: Any, modifier: Any) -> bool:
    clause_of = _message(target).clause_of
    return clause_of[modifier.start] == clause_of[target.start]


def _same_sentence(target: Any, modifier: Any) -> bool:
    sent_of = _message(target).sent_of
    return sent_of[modifier.start] == sent_of[target.start]


def _before_in_clause(target: Any, modifier: Any, _between: Any) -> bool:
    """FORWARD cues reach to the end of the clause ("if", "what if", "used to")."""
    return modifier.start <= target.start and _same_clause(target, modifier)


def _hypothetical_reach(target: Any, modifier: Any, _between: Any) -> bool:
    """A FORWARD hypothetical cue reaches as far as the own layer says: its clause, or on
    through clauses it joins (``Modifiers._forward_scope_start`` when the own layer has that
    rule, so that the rule lives in one place)."""
    if modifier.start > target.start:
        return False
    return modifier.end > _forward_scope_start(target)


def _forward_scope_start(target: Any) -> int:
    """The first token of the target's clause, or of an earlier clause joined to it only by
    "and"/"or" (``Modifiers._forward_scope_start``, called so that the rule lives in one place)."""
    message = _message(target)
    clause, sent = message.clause_of[target.start], message.sent_of[target.start]
    own = getattr(Modifiers, "_forward_scope_start", None)
    if own is None:
        return message.segments.clause_spans[clause][0]
    return own(SimpleNamespace(message=message), SimpleNamespace(clause=clause, sent=sent, start=target.start))


def _in_sentence(target: Any, modifier: Any, _between: Any) -> bool:
    return _same_sentence(target, modifier)


def _in_question_clause(target: Any, modifier: Any, _between: Any) -> bool:
    """ "can X cause", "is X a sign of": anywhere in the clause of a question sentence."""
    message = _message(target)
    return _same_clause(target, modifier) and message.sent_of[target.start] in message.doc.user_data["questions"]


def _negation_scope(words: ModifierWords) -> Callable[[Any, Any, Any], bool]:
    """The project's negation reach: same clause; walking back from the target only through
    connectors, other concept mentions ("no fever, chills or sweats") and up to ``window``
    filler tokens; a scope ender or a punctuation mark that is no connector ends it."""

    def modifies(target: Any, modifier: Any, _between: Any) -> bool:
        if modifier.start > target.start or not _same_clause(target, modifier):
            return False
        message = _message(target)
        filler = 0
        for index in range(target.start - 1, modifier.end - 1, -1):
            norm = message.norms[index]
            if norm in words.negation_enders:
                return False
            if message.doc[index].is_punct and norm not in words.negation_connectors:
                return False
            if norm not in words.negation_connectors and index not in message.concept_tokens:
                filler += 1
                if filler > words.negation_window:
                    return False
        return True

    return modifies


def _modal_scope(words: ModifierWords) -> Callable[[Any, Any, Any], bool]:
    """A modal just before the mention, past the modal skip words ("I might (suddenly) fall")."""

    def modifies(target: Any, modifier: Any, _between: Any) -> bool:
        if modifier.start > target.start or not _same_clause(target, modifier):
            return False
        norms = _message(target).norms
        return all(norms[index] in words.modal_skip for index in range(modifier.end, target.start))

    return modifies


def _past_scope(words: ModifierWords, coordinated: bool = False) -> Callable[[Any, Any, Any], bool]:
    """A time cue dates its own clause, the clause after a short fronted adverbial ("Years
    ago, I had ..."), and the clause before a time clause ("... when he was 90").
    ``coordinated`` (past-time cues, not "recently"): also the clauses after it joined by
    "and"/"or" ("years ago I had a UTI and couldn't pee"), unless a present-time word comes
    between ("... last year and now it's hot and swollen"), as ``Modifiers.past`` reads it."""

    def modifies(target: Any, modifier: Any, _between: Any) -> bool:
        message = _message(target)
        if message.sent_of[modifier.start] != message.sent_of[target.start]:
            return False
        cue_clause, clause = message.clause_of[modifier.start], message.clause_of[target.start]
        if modifier.end <= target.start and moves_to_present(message.norms[modifier.end : target.start]):
            return False  # "... 5 years ago and in the last few weeks he's got a new pain"
        if cue_clause == clause:
            return True
        if coordinated and cue_clause < clause and modifier.start >= _forward_scope_start(target):
            return True
        cue_start, cue_end = message.segments.clause_spans[cue_clause]
        if cue_end - cue_start <= 5 and clause == cue_clause + 1:
            return True
        return clause == cue_clause - 1 and (
            modifier.start <= cue_start + 1 or message.norms[cue_start] in words.time_clause_starters
        )

    return modifies


def project_callbacks(words: ModifierWords) -> Dict[str, Callable[[Any, Any, Any], bool]]:
    return {
        NEGATED: _negation_scope(words),
        HYPOTHETICAL: _hypothetical_reach,
        QUESTION: _in_question_clause,
        MODAL: _modal_scope(words),
        SPECULATION: _before_in_clause,
        HISTORICAL: _past_scope(words, coordinated=True),
        RECENT: _past_scope(words),
        USED_TO: _before_in_clause,
        FAMILY: _in_sentence,
    }


def sentence_callbacks() -> Dict[str, Callable[[Any, Any, Any], bool]]:
    """Plain ConText reach (the sentence, as the message's sentences split it), except the
    question cues, which only mean something in a question."""
    return {
        category: _in_sentence
        for category in (NEGATED, HYPOTHETICAL, MODAL, SPECULATION, HISTORICAL, RECENT, USED_TO, FAMILY)
    } | {
        QUESTION: lambda target, modifier, between: (
            _in_sentence(target, modifier, between)
            and _message(target).sent_of[target.start] in target.doc.user_data["questions"]
        )
    }


def _unless_excluded(name: str, callback: Callable[[Any, Any, Any], bool]) -> Callable[[Any, Any, Any], bool]:
    """A cue with its own next_not_in / prev_not_in modifies nothing where those rule it out
    ("my hip replacement from last year": no past time). The message kept only the cue
    mentions its rules allow (Message.cue_tokens); ConText matched the same patterns."""

    def on_modifies(target: Any, modifier: Any, between: Any) -> bool:
        kept = _message(target).cue_tokens.get(name, set())
        return all(index in kept for index in range(modifier.start, modifier.end)) and callback(
            target, modifier, between
        )

    return on_modifies


# ---------------------------------------------------------------------- rules
def own_rules(rules: Rules, callbacks: Dict[str, Callable[[Any, Any, Any], bool]]) -> List[Any]:
    """The table's cues as ConTextRules: one rule per compiled NORM pattern of a cue."""
    from medspacy.context import ConTextRule

    out: List[Any] = []
    for name, category in OWN_CATEGORIES.items():
        if name not in rules.concepts:
            continue
        _, direction = CUE_CATEGORIES[name]
        on_modifies = None if direction is Direction.PSEUDO else callbacks.get(category)
        concept = rules.concepts[name]
        if on_modifies is not None and (concept.next_not_in or concept.prev_not_in):
            on_modifies = _unless_excluded(name, on_modifies)
        for pattern in rules.matcher.get(name)[1]:
            out.append(
                ConTextRule(
                    literal=name,
                    category=category,
                    pattern=pattern,
                    direction=direction.name,
                    on_modifies=on_modifies,
                    terminated_by={NEGATION_END} if category == NEGATED else None,
                )
            )
    # TERMINATE for negation only: "no fever but my leg is numb" ("but" would otherwise cut
    # every category's scope, as ConText's TERMINATE direction does)
    for word in sorted(rules.modifier_words.negation_enders):
        out.append(ConTextRule(literal=word, category=NEGATION_END, pattern=[{"NORM": word}], direction="PSEUDO"))
    return out


def default_rules(callbacks: Dict[str, Callable[[Any, Any, Any], bool]]) -> List[Any]:
    """medspacy's packaged English ConText rules, their categories mapped to ours."""
    import spacy
    from medspacy.context import ConText, ConTextRule

    probe = ConText(spacy.blank("en"), rules=None)
    out: List[Any] = []
    for rule in ConTextRule.from_json(probe.DEFAULT_RULES_FILEPATH):
        category = DEFAULT_CATEGORIES.get(rule.category.upper())
        if category is None:
            continue
        rule.category = category
        if rule.direction not in ("TERMINATE", "PSEUDO"):
            rule.on_modifies = callbacks.get(category)
        out.append(rule)
    return out

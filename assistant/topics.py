"""Which topic a turn answers: the intent, refined by the lexicon's entities.

Content intents are named like the reply contract's topic ids
(``../shared/reply-contract.md``). An exercise or treatment named in the message
sharpens a general question: "how do I do crab steps" classified as ``exercises``
answers ``exercise_crab_steps``.
"""

from typing import Iterable, List, Optional, Tuple

from assistant.catalogue import load_catalogue
from assistant.phrasing import tried_question


def _registry() -> Tuple[Tuple[str, ...], Tuple[str, ...]]:
    """Content topic ids and start-menu ids, read from the catalogue: the one place they live.

    The domain's intents, the rules, the reply contract and the front ends' labels are
    checked against it (``tests/test_registry.py``, ``assistant/validate.py``).
    """
    catalogue = load_catalogue()
    return tuple(catalogue.topics), catalogue.menu


# The content topics of the reply contract, in the catalogue's order, and the start menu
# (front ends and the clarify reply use it).
CONTENT_TOPICS, MENU = _registry()

# The contract's conversation topic ids (reply-contract.md, "Conversation topics"): every
# turn's ``custom.topic`` is one of these or a content topic.
CONVERSATION_TOPIC_IDS = (
    "red_flag",
    "appointment",
    "handoff",
    "greet",
    "goodbye",
    "thanks",
    "capabilities",
    "clarify",
    "out_of_scope",
)

# Conversation intents and the contract topic their reply carries.
CONVERSATION_TOPICS = {
    "greet": "greet",
    "goodbye": "goodbye",
    "thanks": "thanks",
    "capabilities": "capabilities",
    "deny": "capabilities",
    "appointment": "appointment",
    "handoff": "handoff",
    "out_of_scope": "out_of_scope",
    "other_body_part": "out_of_scope",
    "nlu_fallback": "clarify",
    "red_flag": "red_flag",
}

# The intents answered as out of scope (another body part, or nothing the articles cover).
SCOPE_INTENTS = tuple(intent for intent, topic in CONVERSATION_TOPICS.items() if topic == "out_of_scope")

# Intents whose topic depends on the conversation so far.
FOLLOW_UP_INTENTS = ("tell_me_more", "choose_option", "affirm")

EXERCISE_TOPICS = {
    "hip_drop": "exercise_hip_drop",
    "crab_steps": "exercise_crab_steps",
    "trx_lunge": "exercise_trx_lunge",
    "bulgarian_lunge": "exercise_bulgarian_lunge",
}
TREATMENT_TOPICS = {
    "surgery": "surgery",
    "injections": "injections",
    "prp": "regenerative",
    "prolotherapy": "regenerative",
    "physiotherapy": "physiotherapy",
    "medication": "medication",
    "rest": "self_care",
    "ice": "self_care",
    "stretching": "self_care",
}
EXERCISE_INTENTS = {"exercises", *EXERCISE_TOPICS.values()}


def entity_values(entities: Iterable[dict], name: str) -> List[str]:
    """Distinct values of one entity type, in message order."""
    seen: List[str] = []
    for entity in entities or ():
        if entity.get("entity") == name:
            value = str(entity.get("value"))
            if value not in seen:
                seen.append(value)
    return seen


def resolve_topic(intent: Optional[str], entities: Iterable[dict] = (), text: str = "") -> Optional[str]:
    """The content topic for a content intent, or None for any other intent.

    A single named exercise or treatment narrows the topic ("what about ice?" is self-care),
    except one already tried before the question ("done rest and ice for weeks, what other
    treatments are there?" asks for the other treatments): ``text`` tells which."""
    if intent not in CONTENT_TOPICS:
        return None
    if intent not in EXERCISE_INTENTS and intent != "treatment":
        return intent
    entities = list(entities or ())
    _, asked_from = tried_question(text) if text else ("", -1)
    if asked_from > 0:
        entities = [e for e in entities if not isinstance(e.get("start"), int) or e["start"] >= asked_from]
    if intent in EXERCISE_INTENTS:
        named = entity_values(entities, "exercise")
        if len(named) == 1 and named[0] in EXERCISE_TOPICS:
            return EXERCISE_TOPICS[named[0]]
    if intent == "treatment":
        treatments = {TREATMENT_TOPICS[v] for v in entity_values(entities, "treatment") if v in TREATMENT_TOPICS}
        if len(treatments) == 1:
            return treatments.pop()
    return intent

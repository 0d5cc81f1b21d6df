"""Which topic a turn answers: the intent, refined by the lexicon's entities.

Content intents are named like the reply contract's topic ids
(``../shared/reply-contract.md``). An exercise or treatment named in the message
sharpens a general question: "how do I do crab steps" classified as ``exercises``
answers ``exercise_crab_steps``.
"""
from typing import Iterable, List, Optional

# The content topics of the reply contract, in the order a menu shows them.
CONTENT_TOPICS = (
    "gluteus_medius", "function", "weakness", "injury_types", "causes", "other_causes",
    "sciatica", "sitting", "symptoms", "diagnosis", "trendelenburg", "treatment",
    "self_care", "medication", "injections", "surgery", "regenerative", "physiotherapy",
    "exercises", "exercise_hip_drop", "exercise_crab_steps", "exercise_trx_lunge",
    "exercise_bulgarian_lunge", "prevention", "consequences", "when_to_see_clinician",
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

# Start-menu topics (front ends and the clarify reply use them).
MENU = ("gluteus_medius", "symptoms", "exercises", "treatment", "when_to_see_clinician")


def entity_values(entities: Iterable[dict], name: str) -> List[str]:
    """Distinct values of one entity type, in message order."""
    seen: List[str] = []
    for entity in entities or ():
        if entity.get("entity") == name:
            value = str(entity.get("value"))
            if value not in seen:
                seen.append(value)
    return seen


def resolve_topic(intent: Optional[str], entities: Iterable[dict] = ()) -> Optional[str]:
    """The content topic for a content intent, or None for any other intent."""
    if intent not in CONTENT_TOPICS:
        return None
    entities = list(entities or ())
    if intent in EXERCISE_INTENTS:
        named = entity_values(entities, "exercise")
        if len(named) == 1 and named[0] in EXERCISE_TOPICS:
            return EXERCISE_TOPICS[named[0]]
    if intent == "treatment":
        named = {TREATMENT_TOPICS[v] for v in entity_values(entities, "treatment") if v in TREATMENT_TOPICS}
        if len(named) == 1:
            return named.pop()
    return intent

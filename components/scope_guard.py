"""A message about the hip or buttock is not out of scope because it also names a knee.

Patients tell the story around their question: "I had a swollen knee from a football knock
in my teens, long sorted. What's the gluteus medius?", "I was on crutches for a sprained
ankle last year ... could limping have weakened my glutes?". The topic head hears the
other body part and says ``other_body_part`` / ``out_of_scope``. When the lexicon found a
hip or buttock word (``body_part: hip`` or ``buttock``, which includes glute and gluteus
medius) and the topic head's best content topic is a real candidate, that topic wins.

Runs after ``LexiconEntityExtractor`` (it reads its entities) and before the
``FallbackClassifier``. The content topic and the out-of-scope intent swap places and
confidences; nothing else in the ranking changes.
"""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY
from rasa.shared.nlu.training_data.message import Message

from assistant.topics import CONTENT_TOPICS, SCOPE_INTENTS

IN_SCOPE_BODY_PARTS = ("hip", "buttock")


def in_scope_words(entities: List[Dict[Text, Any]]) -> bool:
    return any(e.get("entity") == "body_part" and e.get("value") in IN_SCOPE_BODY_PARTS for e in entities or [])


def reorder(ranking: List[Dict[Text, Any]], min_confidence: float) -> List[Dict[Text, Any]]:
    """The ranking with its best content topic first, if out of scope led and it qualifies."""
    if not ranking or ranking[0].get("name") not in SCOPE_INTENTS:
        return ranking
    for index, item in enumerate(ranking):
        if item.get("name") in CONTENT_TOPICS:
            if float(item.get("confidence") or 0.0) < min_confidence:
                return ranking
            # the two swap places and confidences, so the FallbackClassifier judges the
            # message as sure as the topic head was that it was about something
            top = ranking[0]
            promoted = {**item, "confidence": top.get("confidence")}
            demoted = {**top, "confidence": item.get("confidence")}
            rest = [r for i, r in enumerate(ranking) if i not in (0, index)]
            return sorted([promoted, demoted] + rest, key=lambda r: -float(r.get("confidence") or 0.0))
    return ranking


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class ScopeGuard(GraphComponent):
    """Out of scope yields to the best content topic when the hip or buttock is named."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # 0.05: the content topic must be a real second guess, not the softmax's floor
        return {"min_confidence": 0.05}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.min_confidence = float({**self.get_default_config(), **config}["min_confidence"])

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "ScopeGuard":
        return cls(config)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            ranking = message.get(INTENT_RANKING_KEY) or []
            if not in_scope_words(message.get(ENTITIES) or []):
                continue
            reordered = reorder(ranking, self.min_confidence)
            if reordered is not ranking:
                message.set(INTENT_RANKING_KEY, reordered, add_to_output=True)
                message.set(INTENT, reordered[0], add_to_output=True)
        return messages

"""Rasa adapter for the topic head (``assistant/topic_model.py``): intent and ranking.

Trains on the intent examples the pipeline passes on (``RedFlagHead`` has already removed
the ``red_flag`` examples, so there is no ``red_flag`` class to compete with a question),
and writes ``intent`` and ``intent_ranking`` as Rasa's own classifiers do, so the
FallbackClassifier, the policies and ``rasa test`` work unchanged.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from assistant import topic_model
from assistant.topics import CONTENT_TOPICS, SCOPE_INTENTS
from components import model_file

logger = logging.getLogger(__name__)

MODEL_FILE = "topic_model.pkl"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class TopicClassifier(GraphComponent, IntentClassifier):
    """Linear SVM over word + char n-grams; confidences from a tempered softmax."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {**topic_model.DEFAULTS, "ranking_length": 10}

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: Optional[topic_model.TopicModel] = None,
    ) -> None:
        self.config = {**self.get_default_config(), **config}
        self._storage = model_storage
        self._resource = resource
        self.model = model

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "TopicClassifier":
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "TopicClassifier":
        model = model_file.read(model_storage, resource, MODEL_FILE)
        if model is None:
            logger.warning("topic classifier: no trained model in the package; every message falls back")
        return cls(config, model_storage, resource, model)

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples if m.get(TEXT) and m.get(INTENT)]
        texts = [m.get(TEXT) for m in examples]
        labels = [m.get(INTENT) for m in examples]
        # a message without one content word ("what about it", "???", "uhh") can neither ask
        # an article's question nor be out of scope: it is unclear, and the fallback asks
        needs_content = tuple(CONTENT_TOPICS) + SCOPE_INTENTS
        self.model = topic_model.train(texts, labels, self.config, content_labels=needs_content)
        model_file.write(self._storage, self._resource, MODEL_FILE, self.model)
        return self._resource

    def process(self, messages: List[Message]) -> List[Message]:
        texts = [m.get(TEXT) or "" for m in messages]
        rankings = self.model.rank(texts) if self.model is not None else [[] for _ in texts]
        length = int(self.config.get("ranking_length") or 0)
        for message, text, ranking in zip(messages, texts, rankings):
            if not text.strip() or not ranking:
                message.set(INTENT, {"name": None, "confidence": 0.0}, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [], add_to_output=True)
                continue
            ranked = [{"name": name, "confidence": confidence} for name, confidence in ranking]
            message.set(INTENT, ranked[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranked[:length] if length > 0 else ranked, add_to_output=True)
        return messages

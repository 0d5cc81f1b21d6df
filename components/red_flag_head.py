"""The learned red-flag head: "this message looks like red flag X", with a probability.

It is one of the two independent results of every message (docs/architecture.md, "Two
heads"): the topic classifier (DIET) says which question was asked, this head says which
red flag the message resembles. The rules (``components/red_flags.py``) decide whether a
flag is current; this head only raises a suspicion, which becomes a yes/no check question
when the rules find nothing.

Training data: the ``red_flag`` examples of ``data/nlu/red_flag.yml``, each block labelled
with its flag id in the block's metadata; every other NLU example (the questions, the small
talk, and the negated / past / someone else's mentions written as questions) is "no flag".
The head then removes the ``red_flag`` examples from the training data the rest of the
pipeline sees, so the topic classifier never learns a ``red_flag`` class that could
compete with, and empty, the question's ranking.

Model: scikit-learn logistic regression over character n-grams of the cleaned text
(tolerant of typos such as "numbnes in my saddel area"), with a fixed ``random_seed``.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Sequence, Text, Tuple

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from assistant.text import clean_text
from components import model_file

logger = logging.getLogger(__name__)

RED_FLAG_INTENT = "red_flag"
NO_FLAG = "none"
# Parse-data key: the head's suspicions, most probable first ([{"flag", "probability"}]).
RED_FLAG_HEAD_KEY = "red_flag_head"
MODEL_FILE = "red_flag_head.pkl"


def example_flag(message: Message) -> Optional[str]:
    """The flag id of a ``red_flag`` training example (block metadata ``flag``), else None."""
    if message.get(INTENT) != RED_FLAG_INTENT:
        return None
    metadata = message.get("metadata") or {}
    block = metadata.get("intent") if isinstance(metadata.get("intent"), dict) else metadata
    flag = (block or {}).get("flag")
    return str(flag) if flag else None


def build_model(config: Dict[Text, Any]) -> Any:
    """The untrained pipeline: char n-gram TF-IDF into a logistic regression."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(
        TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(int(config["min_ngram"]), int(config["max_ngram"])),
            sublinear_tf=True,
            min_df=1,
        ),
        LogisticRegression(
            C=float(config["C"]),
            max_iter=2000,
            class_weight="balanced",
            random_state=int(config["random_seed"]),
        ),
    )


def suspicions(
    model: Any, texts: Sequence[str], threshold: float, per_flag: Optional[Dict[str, float]] = None
) -> List[List[Dict[str, Any]]]:
    """Per text, the flags whose probability reaches their threshold, most probable first.

    ``per_flag`` overrides ``threshold`` for single flags (crisis asks only when surer).
    """
    per_flag = per_flag or {}
    if not texts:
        return []
    probabilities = model.predict_proba([clean_text(t).lower() for t in texts])
    classes = list(model.classes_)
    out = []
    for row in probabilities:
        ranked = sorted(
            ((classes[i], float(p)) for i, p in enumerate(row) if classes[i] != NO_FLAG),
            key=lambda item: -item[1],
        )
        out.append([{"flag": f, "probability": round(p, 3)} for f, p in ranked if p >= per_flag.get(f, threshold)])
    return out


def labelled_examples(training_data: TrainingData) -> Tuple[List[str], List[str]]:
    """Texts and labels (flag id or ``none``) from the NLU training examples."""
    texts, labels = [], []
    for message in training_data.intent_examples:
        text = message.get(TEXT)
        if not text:
            continue
        if message.get(INTENT) == RED_FLAG_INTENT:
            flag = example_flag(message)
            if flag is None:
                logger.warning("a red_flag training example has no flag in its block metadata")
                continue
            labels.append(flag)
        else:
            labels.append(NO_FLAG)
        texts.append(clean_text(text).lower())
    return texts, labels


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=True)
class RedFlagHead(GraphComponent):
    """Trainable: learns the flags; at training time also hides them from the classifier."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # threshold: see docs/architecture.md ("The check question") for how it was chosen.
        return {
            "min_ngram": 2,
            "max_ngram": 5,
            "C": 10.0,
            "random_seed": 42,
            "threshold": 0.5,
            "flag_thresholds": {"crisis": 0.6},
        }

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: Any = None,
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
    ) -> "RedFlagHead":
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "RedFlagHead":
        model = model_file.read(model_storage, resource, MODEL_FILE)
        if model is None:
            logger.warning("red-flag head: no trained model in the package; head disabled")
        return cls(config, model_storage, resource, model)

    def train(self, training_data: TrainingData) -> Resource:
        texts, labels = labelled_examples(training_data)
        if len(set(labels)) < 2:
            logger.warning("red-flag head: no red_flag examples to learn from; head disabled")
            return self._resource
        self.model = build_model(self.config).fit(texts, labels)
        model_file.write(self._storage, self._resource, MODEL_FILE, self.model)
        logger.info("red-flag head trained on %d examples, %d flags", len(texts), len(set(labels)) - 1)
        return self._resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """The training data without ``red_flag`` examples, for the rest of the pipeline."""
        kept = [m for m in training_data.training_examples if m.get(INTENT) != RED_FLAG_INTENT]
        return TrainingData(
            training_examples=kept,
            entity_synonyms=training_data.entity_synonyms,
            regex_features=training_data.regex_features,
            lookup_tables=training_data.lookup_tables,
            responses=training_data.responses,
        )

    def process(self, messages: List[Message]) -> List[Message]:
        texts = [m.get(TEXT) or "" for m in messages]
        if self.model is None:
            found: List[List[Dict[str, Any]]] = [[] for _ in messages]
        else:
            found = suspicions(
                self.model, texts, float(self.config["threshold"]), dict(self.config.get("flag_thresholds") or {})
            )
        for message, text, flags in zip(messages, texts, found):
            message.set(RED_FLAG_HEAD_KEY, flags if text else [], add_to_output=True)
        return messages

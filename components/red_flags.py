"""Red-flag triage inside the NLU pipeline, independent of the intent classifier.

Every message is checked with ``assistant.triage`` (spaCy rule patterns with negation and
context handling; the table is ``content/red_flags.yml``, its clinical basis
``../shared/clinical/red-flags.md``). The rules, not the classifier, decide:

* flags found -> intent ``red_flag`` (confidence 1.0) and the findings under the parse
  data key ``red_flags`` (``flag``, ``tier``, ``watch_for``). The classifier's ranking moves
  to ``classifier_ranking`` so the action can still answer the question that came with it;
* a red-flag subject mentioned hypothetically ("what if I go numb?"), or a message the
  classifier took for a red flag that the rules do not confirm -> ``red_flag_mention`` is
  set, so the answer carries the safety-net wording; the classifier's red_flag guess is
  replaced by its next-best intent (the FallbackClassifier after this component then
  judges that intent's confidence as usual).
"""
import logging
from pathlib import Path
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from assistant.nlp import load_nlp
from assistant.paths import ROOT

logger = logging.getLogger(__name__)

RED_FLAG_INTENT = "red_flag"
# Keys of the parse data (kept in the tracker's latest_message) that the actions read.
RED_FLAGS_KEY = "red_flags"
RED_FLAG_MENTION_KEY = "red_flag_mention"
CLASSIFIER_RANKING_KEY = "classifier_ranking"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class RedFlagDetector(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"rules": "content/red_flags.yml", "spacy_model": "models/spacy"}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.config = config
        self._triage = None

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "RedFlagDetector":
        detector = cls(config)
        detector.triage  # load now, not on the first patient's message
        return detector

    @property
    def triage(self):
        if self._triage is None:
            from assistant.triage import Triage

            self._triage = Triage.from_file(
                str(ROOT / self.config["rules"]), nlp=load_nlp(ROOT / self.config["spacy_model"])
            )
        return self._triage

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT)
            if text:
                self._apply(message, text)
        return messages

    def _apply(self, message: Message, text: str) -> None:
        result = self.triage.assess(text)
        intent = message.get(INTENT) or {}
        ranking = list(message.get(INTENT_RANKING_KEY) or [])
        mention = None
        if result.findings:
            # The classifier's ranking is kept apart (for the question asked with the flag);
            # intent_ranking holds red_flag alone, so the FallbackClassifier after this
            # component can never see an "ambiguous" top two and turn a red flag into
            # nlu_fallback.
            message.set(
                CLASSIFIER_RANKING_KEY,
                [r for r in ranking if r.get("name") != RED_FLAG_INTENT],
                add_to_output=True,
            )
            ranking = [{"name": RED_FLAG_INTENT, "confidence": 1.0}]
            message.set(INTENT, {"name": RED_FLAG_INTENT, "confidence": 1.0}, add_to_output=True)
            logger.info("red flags found: %s (tier %s)", result.flags, result.tier)
        else:
            classifier_said_red_flag = intent.get("name") == RED_FLAG_INTENT
            if result.hypothetical:
                mention = "hypothetical"
            elif classifier_said_red_flag:
                mention = "classifier"
            if classifier_said_red_flag:
                ranking = [r for r in ranking if r.get("name") != RED_FLAG_INTENT]
                top = ranking[0] if ranking else {"name": "nlu_fallback", "confidence": 0.0}
                message.set(INTENT, dict(top), add_to_output=True)
                logger.info("classifier's red_flag not confirmed by the rules; using %s", top.get("name"))
        message.set(
            RED_FLAGS_KEY,
            [f.as_dict() for f in result.findings],
            add_to_output=True,
        )
        message.set(RED_FLAG_MENTION_KEY, mention, add_to_output=True)
        message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)

"""Red-flag triage inside the NLU pipeline, independent of the intent classifier.

Every message is checked with ``assistant.triage`` (spaCy rule patterns with negation and
context handling; the table is ``content/red_flags.yml``, its clinical basis
``../shared/clinical/red-flags.md``). The rules, not the classifier, decide:

* flags found -> intent ``red_flag`` (confidence 1.0) and the findings under the parse
  data key ``red_flags`` (``flag``, ``tier``, ``watch_for``). The classifier's ranking moves
  to ``classifier_ranking`` so the action can still answer the question that came with it;
* a red-flag subject mentioned hypothetically ("what if I go numb?") ->
  ``red_flag_mention`` is "hypothetical", so the answer carries the safety-net wording;
* the learned head (``components/red_flag_head.py``, parse key ``red_flag_head``) suspects
  a flag the rules do not find -> ``red_flag_check`` holds that flag (the action asks a
  yes/no check question) and ``red_flag_mention`` is "classifier"; the intent and the
  ranking are the classifier's, untouched. A suspicion of a flag the rules found mentioned
  and ruled out by context (``TriageResult.ruled_out``: "no tingling down below", "my gran
  had bone cancer", "this pain is killing me") asks nothing: the rules read that very
  mention, and a check question there only interrupts a patient who said they are fine.

This component runs AFTER the FallbackClassifier (config.yml), so the FallbackClassifier
only ever judges the topic classifier's own ranking, never one a red flag changed. (A
model trained before the two heads could still predict ``red_flag`` itself; that guess
is replaced by the next-best intent.)
"""

import logging
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from assistant.nlp import load_nlp
from assistant.paths import ROOT
from assistant.topics import SCOPE_INTENTS

logger = logging.getLogger(__name__)

RED_FLAG_INTENT = "red_flag"
# Keys of the parse data (kept in the tracker's latest_message) that the actions read.
RED_FLAGS_KEY = "red_flags"
RED_FLAG_MENTION_KEY = "red_flag_mention"
CLASSIFIER_RANKING_KEY = "classifier_ranking"
RED_FLAG_CHECK_KEY = "red_flag_check"
SPACY_DOC = "text_spacy_doc"  # where SpacyNLP leaves its Doc on the message
RED_FLAG_HEAD_KEY = "red_flag_head"  # set by components.red_flag_head.RedFlagHead


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class RedFlagDetector(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"rules": "content/red_flags.yml", "spacy_model": "models/spacy"}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.config = config
        self._triage = None
        self._takes_doc: Optional[bool] = None

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "RedFlagDetector":
        detector = cls(config)
        _ = detector.triage  # load now, not on the first patient's message
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

    def _assess(self, message: Message, text: str):
        """Triage of the text, reusing SpacyNLP's Doc when the triage accepts one."""
        if self._takes_doc is None:
            import inspect

            self._takes_doc = "doc" in inspect.signature(self.triage.assess).parameters
        doc = message.get(SPACY_DOC)
        if self._takes_doc and doc is not None:
            return self.triage.assess(text, doc=doc)
        return self.triage.assess(text)

    def _check(self, suspected: Dict[Text, Any]) -> Dict[Text, Any]:
        """The suspected flag with its tier and patient wording from the red-flag table."""
        flag = str(suspected.get("flag"))
        try:
            info = self.triage.flag_info(flag)
        except KeyError:  # the head knows a flag the rule table does not (yet)
            info = {"tier": "emergency" if flag == "crisis" else "urgent", "watch_for": ""}
        return {
            "flag": flag,
            "tier": info.get("tier"),
            "watch_for": info.get("watch_for"),
            "probability": suspected.get("probability"),
        }

    def _apply(self, message: Message, text: str) -> None:
        result = self._assess(message, text)
        check = None
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
            ruled_out = set(getattr(result, "ruled_out", ()) or ())
            suspected = [s for s in message.get(RED_FLAG_HEAD_KEY) or [] if s.get("flag") not in ruled_out]
            if result.hypothetical:
                mention = "hypothetical"
                ranking = _warning_signs_for_unclear(message, ranking)
            elif suspected:
                # The learned head sees a flag the rules do not: ask, do not assume.
                mention = "classifier"
                check = self._check(suspected[0])
                logger.info("red-flag head suspects %s; rules found none: check question", check["flag"])
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
        message.set(RED_FLAG_CHECK_KEY, check, add_to_output=True)
        message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)


# "What if my calf swelled up?", "suppose my foot started dragging": a red flag asked about
# hypothetically IS a question about warning signs. When the topic head found no topic for
# it (out of scope, another body part, unsure), or only the weak-muscle or what-if-ignored
# topic, the answer is the warning signs.
WARNING_SIGNS_INTENT = "when_to_see_clinician"
# "What happens if I lose feeling between my legs?", "what if both my legs go weak?": the
# consequences and weakness topics are about a weak or ignored gluteus medius; with a red
# flag asked about hypothetically the answer is the warning signs
UNCLEAR_INTENTS = SCOPE_INTENTS + ("nlu_fallback", "consequences", "weakness")


def _warning_signs_for_unclear(message: Message, ranking: List[Dict[Text, Any]]) -> List[Dict[Text, Any]]:
    intent = message.get(INTENT) or {}
    if intent.get("name") not in UNCLEAR_INTENTS:
        return ranking
    chosen = {"name": WARNING_SIGNS_INTENT, "confidence": float(intent.get("confidence") or 0.0)}
    message.set(INTENT, chosen, add_to_output=True)
    logger.info("hypothetical red-flag question without a topic: warning signs")
    return [chosen] + [r for r in ranking if r.get("name") != WARNING_SIGNS_INTENT]

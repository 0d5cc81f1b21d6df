"""Rasa entities from the spaCy pipeline's entity ruler, with canonical values.

The project's spaCy pipeline (``scripts/build_spacy_model.py``) carries an entity ruler
built from ``content/lexicon.yml``; each pattern's ``id`` is the canonical value ("crab
walk" -> ``exercise: crab_steps``). Rasa's own ``SpacyEntityExtractor`` would return the
surface text, so this small extractor maps labels and ids instead. Ordinals the ruler
does not know ("the last one", "number four" written in any case) come from
``assistant.followups.find_ordinals``, the same parser the follow-up resolution uses.
"""

from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.nlu.utils.spacy_utils import SpacyNLP
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from assistant.followups import find_ordinals

SPACY_DOC = "text_spacy_doc"
# "my hip drops when I walk" describes the sign (Trendelenburg), not the hip-drop exercise:
# the words after a possessive, followed by when/while/as/to one side
SIGN_OWNERS = {"my", "her", "his", "your", "their", "our", "one", "mum's", "dad's"}
SIGN_NEXT = {"when", "while", "whilst", "as", "whenever", "during", "sideways", "down", "to", "lower", "if"}


def describes_the_sign(doc: Any, ent: Any) -> bool:
    if ent.label_ != "exercise" or ent.ent_id_ != "hip_drop":
        return False
    before = doc[ent.start - 1].lower_ if ent.start > 0 else ""
    after = doc[ent.end].lower_ if ent.end < len(doc) else ""
    return before in SIGN_OWNERS and after in SIGN_NEXT


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class LexiconEntityExtractor(GraphComponent, EntityExtractorMixin):
    @staticmethod
    def required_components() -> List[type]:
        return [SpacyNLP]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"labels": ["exercise", "treatment", "body_part", "ordinal"]}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.labels = set(config.get("labels") or [])

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "LexiconEntityExtractor":
        return cls(config)

    def extract(self, doc: Any) -> List[Dict[Text, Any]]:
        if doc is None:
            return []
        return [
            {
                "entity": ent.label_,
                "value": ent.ent_id_ or ent.text.lower(),
                "start": ent.start_char,
                "end": ent.end_char,
                "confidence_entity": 1.0,
            }
            for ent in doc.ents
            if ent.label_ in self.labels and not describes_the_sign(doc, ent)
        ]

    def ordinals(self, text: str, found: List[Dict[Text, Any]]) -> List[Dict[Text, Any]]:
        """Ordinals the entity ruler missed, not overlapping anything it found."""
        if "ordinal" not in self.labels:
            return []
        taken = [(e["start"], e["end"]) for e in found]
        return [
            {"entity": "ordinal", "value": value, "start": start, "end": end, "confidence_entity": 1.0}
            for start, end, value in find_ordinals(text)
            if not any(start < t_end and t_start < end for t_start, t_end in taken)
        ]

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            if not message.get(TEXT):
                continue
            found = self.extract(message.get(SPACY_DOC))
            found = sorted(found + self.ordinals(message.get(TEXT), found), key=lambda e: e["start"])
            found = self.add_extractor_name(found)
            message.set(ENTITIES, message.get(ENTITIES, []) + found, add_to_output=True)
        return messages

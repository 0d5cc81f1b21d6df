"""The custom NLU components, on real Rasa messages with the project's spaCy pipeline."""

import pytest
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from assistant.nlp import load_nlp
from assistant.paths import ROOT
from components.lexicon_entities import SPACY_DOC, LexiconEntityExtractor
from components.red_flags import RedFlagDetector

SPACY_DIR = ROOT / "models" / "spacy"
pytestmark = pytest.mark.skipif(
    not (SPACY_DIR / "meta.json").exists(), reason="run `make spacy-model` first (make test does)"
)


@pytest.fixture(scope="module")
def nlp():
    return load_nlp(SPACY_DIR)


@pytest.fixture(scope="module")
def detector():
    return RedFlagDetector({**RedFlagDetector.get_default_config()})


def message(text, intent="symptoms", ranking=None, nlp=None):
    msg = Message(data={TEXT: text})
    msg.set(INTENT, {"name": intent, "confidence": 0.9})
    msg.set(
        INTENT_RANKING_KEY, ranking or [{"name": intent, "confidence": 0.9}, {"name": "causes", "confidence": 0.05}]
    )
    if nlp is not None:
        msg.set(SPACY_DOC, nlp(text))
    return msg


@pytest.mark.parametrize(
    "text,expected",
    [
        ("how do I do crab walks", ("exercise", "crab_steps")),
        ("is a bulgarian split squat ok", ("exercise", "bulgarian_lunge")),
        ("what about a cortisone shot", ("treatment", "injections")),
        ("would physio help", ("treatment", "physiotherapy")),
        ("how do I do the second one", ("ordinal", "2")),
    ],
)
def test_lexicon_entities_have_canonical_values(text, expected, nlp):
    extractor = LexiconEntityExtractor(LexiconEntityExtractor.get_default_config())
    [msg] = extractor.process([message(text, nlp=nlp)])
    found = {(e["entity"], e["value"]) for e in msg.get(ENTITIES)}
    assert expected in found
    assert all(e["extractor"] == "LexiconEntityExtractor" for e in msg.get(ENTITIES))


@pytest.mark.parametrize(
    "text,exercise",
    [
        ("why does my hip drop when I walk", False),  # the sign, not the exercise
        ("her hip drops to one side", False),
        ("how do I do hip drops", True),
        ("I do my hip drops every morning, is that enough", True),
    ],
)
def test_a_hip_that_drops_is_the_sign_not_the_exercise(text, exercise, nlp):
    extractor = LexiconEntityExtractor(LexiconEntityExtractor.get_default_config())
    [msg] = extractor.process([message(text, nlp=nlp)])
    assert (("exercise", "hip_drop") in {(e["entity"], e["value"]) for e in msg.get(ENTITIES)}) is exercise


def test_red_flag_overrides_the_intent_and_keeps_the_ranking(detector):
    msg = message("I can't feel anything around my bum and privates, what exercises help?", intent="exercises")
    detector.process([msg])
    assert msg.get(INTENT) == {"name": "red_flag", "confidence": 1.0}
    flags = msg.get("red_flags")
    assert flags and flags[0]["flag"] == "saddle_numbness" and flags[0]["tier"] == "emergency"
    assert flags[0]["watch_for"]
    assert "red_flags" in msg.as_dict(only_output_properties=True), "kept in the tracker's parse data"
    assert msg.get(INTENT_RANKING_KEY) == [{"name": "red_flag", "confidence": 1.0}]
    assert "exercises" in [r["name"] for r in msg.get("classifier_ranking")]


def test_a_red_flag_is_never_turned_into_a_fallback(detector):
    """A confident classifier next to red_flag (1.0) must not look 'ambiguous' to the FallbackClassifier."""
    from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier

    ranking = [{"name": "exercises", "confidence": 0.95}, {"name": "red_flag", "confidence": 0.03}]
    msg = message("can't wee since this morning, what stretches should i do", intent="exercises", ranking=ranking)
    detector.process([msg])
    fallback = FallbackClassifier(
        {**FallbackClassifier.get_default_config(), "threshold": 0.45, "ambiguity_threshold": 0.08}
    )
    fallback.process([msg])
    assert msg.get(INTENT)["name"] == "red_flag"


def test_no_red_flag_leaves_the_message_alone(detector):
    msg = message("my bum hurts when I sit for a long time", intent="sitting")
    detector.process([msg])
    assert msg.get(INTENT)["name"] == "sitting"
    assert msg.get("red_flags") == [] and msg.get("red_flag_mention") is None


def test_a_hypothetical_mention_is_marked_for_the_safety_net(detector):
    msg = message("what if I go numb down there?", intent="when_to_see_clinician")
    detector.process([msg])
    assert msg.get(INTENT)["name"] == "when_to_see_clinician"
    assert msg.get("red_flag_mention") == "hypothetical"


def test_classifier_red_flag_without_rule_evidence_is_demoted(detector):
    ranking = [{"name": "red_flag", "confidence": 0.6}, {"name": "symptoms", "confidence": 0.3}]
    msg = message("my hip aches a lot", intent="red_flag", ranking=ranking)
    detector.process([msg])
    assert msg.get(INTENT)["name"] == "symptoms"
    assert "red_flag" not in [r["name"] for r in msg.get(INTENT_RANKING_KEY)]
    assert msg.get("red_flag_mention") == "classifier"


# --- the learned red-flag head and the check question ------------------------------------


def test_a_head_suspicion_without_rule_evidence_becomes_a_check(detector):
    # Wording the rules cannot read as a flag; the head's suspicion is given.
    msg = message("something feels off in that area, what exercises help?", intent="exercises")
    msg.set("red_flag_head", [{"flag": "saddle_numbness", "probability": 0.71}])
    ranking_before = list(msg.get(INTENT_RANKING_KEY))
    detector.process([msg])
    assert msg.get("red_flags") == []
    assert msg.get(INTENT)["name"] == "exercises", "the question's topic survives"
    assert msg.get(INTENT_RANKING_KEY) == ranking_before, "the classifier's ranking survives"
    check = msg.get("red_flag_check")
    assert check["flag"] == "saddle_numbness" and check["tier"] == "emergency" and check["watch_for"]
    assert msg.get("red_flag_mention") == "classifier"


def test_negated_mention_keeps_the_question_and_its_ranking(detector):
    ranking = [{"name": "causes", "confidence": 0.8}, {"name": "symptoms", "confidence": 0.1}]
    msg = message(
        "no tingling down below, just an ache on the outside of my hip, why?", intent="causes", ranking=ranking
    )
    detector.process([msg])
    assert msg.get(INTENT)["name"] == "causes"
    assert msg.get(INTENT_RANKING_KEY) == ranking
    assert msg.get("red_flags") == [] and msg.get("red_flag_check") is None


def _training_data():
    from rasa.shared.nlu.training_data.training_data import TrainingData

    examples = []
    flags = {
        "saddle_numbness": [
            "numb between my legs",
            "no feeling down there",
            "my privates feel numb",
            "numb bottom and groin",
        ],
        "bladder_bowel": [
            "i cant pee",
            "leaking urine since the pain",
            "wet myself without noticing",
            "cant control my bowels",
        ],
    }
    for flag, texts in flags.items():
        for text in texts:
            examples.append(Message(data={TEXT: text, INTENT: "red_flag", "metadata": {"intent": {"flag": flag}}}))
    for text in [
        "what exercises help",
        "why does my hip hurt",
        "how is it treated",
        "hello",
        "what is the gluteus medius",
        "does sitting make it worse",
        "no numbness, just a sore bum",
        "thanks",
    ]:
        examples.append(Message(data={TEXT: text, INTENT: "causes"}))
    return TrainingData(training_examples=examples)


def test_the_head_learns_flags_and_hides_them_from_the_classifier(tmp_path):
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource

    from components.red_flag_head import RED_FLAG_HEAD_KEY, RedFlagHead

    storage = LocalModelStorage(tmp_path)
    resource = Resource("red_flag_head")
    config = {**RedFlagHead.get_default_config(), "threshold": 0.3}
    head = RedFlagHead.create(config, storage, resource, None)
    data = _training_data()
    head.train(data)
    kept = head.process_training_data(data)
    assert {m.get(INTENT) for m in kept.intent_examples} == {"causes"}, "DIET never sees red_flag"
    loaded = RedFlagHead.load(config, storage, resource, None)
    msgs = [Message(data={TEXT: "numbnes between my legz"}), Message(data={TEXT: "what exercises help me"})]
    loaded.process(msgs)
    assert msgs[0].get(RED_FLAG_HEAD_KEY)[0]["flag"] == "saddle_numbness"
    assert msgs[1].get(RED_FLAG_HEAD_KEY) == []


@pytest.mark.parametrize("unclear", ["out_of_scope", "other_body_part", "nlu_fallback", "consequences", "weakness"])
def test_hypothetical_red_flag_without_a_topic_gets_the_warning_signs(detector, nlp, unclear):
    msg = message("suppose I lost control of my bladder, what then?", intent=unclear, nlp=nlp)
    detector.process([msg])
    assert msg.get("red_flag_mention") == "hypothetical"
    assert msg.get(INTENT)["name"] == "when_to_see_clinician"
    assert msg.get(INTENT_RANKING_KEY)[0]["name"] == "when_to_see_clinician"


def test_hypothetical_red_flag_with_a_topic_keeps_it(detector, nlp):
    msg = message("what if my legs went weak, which exercises would help?", intent="exercises", nlp=nlp)
    detector.process([msg])
    assert msg.get(INTENT)["name"] == "exercises"

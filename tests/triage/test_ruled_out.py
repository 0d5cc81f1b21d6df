"""TriageResult.ruled_out: flags the rules found mentioned and ruled out by context
(negated, past, someone else's, hypothetical, hyperbole, another sense of the word), and the NLU component's use of
it: the learned head's suspicion of such a flag asks no check question (it only
interrupted patients who had just said they are fine)."""

from pathlib import Path

import pytest
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def triage():
    from assistant.triage import Triage

    return Triage.from_file()


@pytest.fixture(scope="module")
def detector():
    from components.red_flags import RedFlagDetector

    if not (ROOT / "models" / "spacy" / "meta.json").exists():
        pytest.skip("models/spacy not built (make spacy-model)")
    return RedFlagDetector({**RedFlagDetector.get_default_config()})


@pytest.mark.parametrize(
    "text,flag",
    [
        ("no tingling down below, just an ache on the outside of my hip - what causes that?", "saddle_numbness"),
        ("my gran had bone cancer but i want to know about stretches for my hip", "cancer_history"),
        ("i had a temperature months ago, fine now, what helps a sore bum muscle?", "infection"),
        ("what if my legs go numb?", "bilateral_or_severe_weakness"),
        ("this pain is killing me", "crisis"),
        ("i'm dying to know which exercises help", "crisis"),
        ("i'm not suicidal, just fed up with the pain", "crisis"),
        ("no unexplained weight loss, just a sore glute", "weight_loss"),
        # the concept's own neighbour rules: another sense of the word
        ("I fell in love with running last year and now my hip aches.", "fall_older_adult"),
        ("I lost weight on purpose with a diet and I'm running more.", "weight_loss"),
        # someone else's history
        ("My husband's father died of prostate cancer.", "cancer_history"),
        # flags of one event go together: no fall, so no fracture either
        ("I can stand and walk normally, there was no fall.", "fracture"),
        ("My boss fell and fractured her hip last year.", "fall_older_adult"),
    ],
)
def test_a_mention_ruled_out_by_context_is_listed(triage, text, flag):
    result = triage.assess(text)
    assert result.findings == ()
    assert flag in result.ruled_out, result.ruled_out


@pytest.mark.parametrize(
    "text", ["my bum is numb", "i want to die", "no fever but my hip is hot and swollen", "what stretches help?"]
)
def test_nothing_is_ruled_out_without_a_ruled_out_mention(triage, text):
    result = triage.assess(text)
    assert not set(result.ruled_out) & set(result.flags)
    assert result.ruled_out == () or not result.findings


def test_ruled_out_is_not_part_of_equality(triage):
    from assistant.triage import TriageResult

    text = "my gran had bone cancer but i want to know about stretches for my hip"
    assert triage.assess(text).ruled_out == ("cancer_history",)
    assert triage.assess(text) == TriageResult(findings=(), hypothetical=False)


def _message(text, suspected, intent="causes"):
    msg = Message(data={TEXT: text})
    msg.set(INTENT, {"name": intent, "confidence": 0.9})
    msg.set(INTENT_RANKING_KEY, [{"name": intent, "confidence": 0.9}, {"name": "symptoms", "confidence": 0.05}])
    msg.set("red_flag_head", suspected)
    return msg


@pytest.mark.parametrize(
    "text,flag",
    [
        ("no tingling down below, just an ache on the outside of my hip - what causes that?", "saddle_numbness"),
        ("my gran had bone cancer but i want to know about stretches for my hip", "cancer_history"),
        ("i had a temperature months ago, fine now, what helps a sore bum muscle?", "infection"),
        ("this pain is killing me, what helps?", "crisis"),
    ],
)
def test_suspicion_of_a_ruled_out_flag_asks_no_check(detector, text, flag):
    msg = _message(text, [{"flag": flag, "probability": 0.9}])
    detector.process([msg])
    assert msg.get("red_flags") == []
    assert msg.get("red_flag_check") is None
    assert msg.get("red_flag_mention") is None
    assert msg.get(INTENT)["name"] == "causes"


def test_suspicion_of_another_flag_still_asks(detector):
    text = "my gran had bone cancer but i want to know about stretches for my hip"
    msg = _message(text, [{"flag": "cancer_history", "probability": 0.9}, {"flag": "mass", "probability": 0.7}])
    detector.process([msg])
    assert msg.get("red_flag_check")["flag"] == "mass"
    assert msg.get("red_flag_mention") == "classifier"


def test_a_suspicion_without_any_mention_still_asks(detector):
    msg = _message(
        "something feels off in that area, what exercises help?", [{"flag": "saddle_numbness", "probability": 0.7}]
    )
    detector.process([msg])
    assert msg.get("red_flag_check")["flag"] == "saddle_numbness"

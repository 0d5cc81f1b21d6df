"""The content loader, the clinic profile and the validator."""

import copy

import pytest
import yaml

from assistant import validate
from assistant.catalogue import load_catalogue, parse_catalogue
from assistant.clinic import ClinicProfile, load_profile
from assistant.paths import ROOT
from assistant.topics import CONTENT_TOPICS, resolve_topic

RAW = yaml.safe_load((ROOT / "content" / "catalogue.yml").read_text())
WORDING = yaml.safe_load((ROOT / "content" / "conversation.yml").read_text())


def test_the_shipped_knowledge_files_validate():
    assert validate.validate() == []


def test_contract_topics_are_read_from_the_contract():
    topics = validate.contract_topics()
    if not validate.CONTRACT.exists():
        pytest.skip("../shared/reply-contract.md is not beside the project")
    assert topics == set(CONTENT_TOPICS)


@pytest.mark.parametrize("topic", CONTENT_TOPICS)
def test_every_topic_loads_with_sources(topic):
    entry = load_catalogue().topic(topic)
    assert entry.title and entry.answer
    assert all(s.title and s.publisher for s in entry.sources)
    assert len(entry.answer.split()) <= 90, "answers stay short enough for a phone"


def test_sources_carry_author_and_date_where_given():
    source = load_catalogue().sources["sports_injury_clinic"]
    assert source.as_contract() == {
        "title": "Gluteus Medius Pain - the Butt of All Problems",
        "publisher": "The Sports Injury Clinic",
        "author": "Jamie Barnes",
        "date": "2018-02-15",
    }
    assert "Jamie Barnes" in source.citation()


def _broken(mutate):
    raw = copy.deepcopy(RAW)
    mutate(raw)
    return validate.check_catalogue(parse_catalogue(raw, WORDING))


@pytest.mark.parametrize(
    "mutate,problem",
    [
        (lambda r: r["topics"].pop("sitting"), "topic sitting: no content"),
        (lambda r: r["topics"]["symptoms"].update(answer=""), "topic symptoms: no answer"),
        (lambda r: r["topics"]["symptoms"].update(sources=["nowhere"]), "topic symptoms: no (known) sources"),
        (lambda r: r["topics"]["symptoms"].update(follow_ups=["astrology"]), "follow-up astrology is not a topic"),
        (lambda r: r["topics"]["medication"].update(answer="Take 400 mg of ibuprofen."), "medicine dose"),
        (lambda r: r["topics"]["symptoms"].update(more="Call 9783 9990 today."), "phone number"),
        (
            lambda r: r["topics"].update(horoscope={"title": "x", "answer": "y", "sources": ["alleviate"]}),
            "not a contract topic id",
        ),
    ],
)
def test_validator_catches(mutate, problem):
    assert any(problem in p for p in _broken(mutate)), _broken(mutate)


def test_validator_catches_missing_wording():
    wording = copy.deepcopy(WORDING)
    del wording["routine"]
    problems = validate.check_wording(parse_catalogue(RAW, wording))
    assert "conversation wording routine: missing" in problems


def test_validator_catches_unknown_placeholders():
    wording = copy.deepcopy(WORDING)
    wording["greet"] = "Hello {patient_name}"
    assert any("unknown placeholders" in p for p in validate.check_wording(parse_catalogue(RAW, wording)))


def test_validator_catches_unknown_profile_keys(tmp_path):
    path = tmp_path / "p.yml"
    path.write_text("name: x\nemergency_nmber: '000'\n")
    assert validate.check_profile(path) == ["clinic profile p.yml: unknown key emergency_nmber"]


def test_unconfigured_profile_uses_neutral_wording(unconfigured_clinic):
    profile = load_profile()
    assert profile.emergency_call == "your local emergency number"
    assert profile.display_name == "the clinic"
    assert profile.booking_lines() == []
    assert "Contact the clinic" in profile.booking_sentence()


def test_shipped_default_profile_is_unconfigured():
    profile = load_profile(ROOT / "clinic" / "profile.yml")
    assert profile.emergency_number == "" and profile.phone == ""


def test_profile_ignores_unknown_keys_and_non_strings():
    profile = ClinicProfile.from_dict({"phone": 123, "colour": "red"})
    assert profile.phone == "123"


def test_missing_profile_file_falls_back(tmp_path):
    assert load_profile(tmp_path / "absent.yml").emergency_call == "your local emergency number"


@pytest.mark.parametrize(
    "intent,entities,expected",
    [
        ("exercises", [{"entity": "exercise", "value": "hip_drop"}], "exercise_hip_drop"),
        (
            "exercises",
            [{"entity": "exercise", "value": "hip_drop"}, {"entity": "exercise", "value": "trx_lunge"}],
            "exercises",
        ),
        ("treatment", [{"entity": "treatment", "value": "surgery"}], "surgery"),
        ("treatment", [{"entity": "treatment", "value": "ice"}, {"entity": "treatment", "value": "rest"}], "self_care"),
        (
            "treatment",
            [{"entity": "treatment", "value": "surgery"}, {"entity": "treatment", "value": "prp"}],
            "treatment",
        ),
        ("symptoms", [{"entity": "treatment", "value": "surgery"}], "symptoms"),
        ("greet", [], None),
    ],
)
def test_resolve_topic(intent, entities, expected):
    assert resolve_topic(intent, entities) == expected

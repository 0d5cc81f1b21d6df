"""The crisis flag (red-flags.md: `crisis`, tier emergency): thoughts of suicide or
self-harm in lay words and typos; hyperbole, injuries, idioms, someone else's, past and
clearly negated mentions stay ordinary (tests/triage/crisis.yml)."""

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CASES = yaml.safe_load((ROOT / "tests" / "triage" / "crisis.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def triage():
    from assistant.triage import Triage

    return Triage.from_file()


def test_the_set_is_large_enough():
    assert len(CASES["positives"]) >= 15 and len(CASES["traps"]) >= 15


@pytest.mark.parametrize("text", CASES["positives"])
def test_crisis_is_an_emergency(triage, text):
    result = triage.assess(text)
    assert "crisis" in result.flags, result.flags
    assert result.tier == "emergency"
    assert result.findings[0].flag == "crisis" or result.findings[0].tier == "emergency"


@pytest.mark.parametrize("text", CASES["traps"])
def test_not_a_crisis(triage, text):
    assert "crisis" not in triage.assess(text).flags


def test_crisis_finding_carries_the_tables_wording(triage):
    finding = next(f for f in triage.assess("I want to die").findings if f.flag == "crisis")
    assert finding.tier == "emergency"
    assert finding.watch_for == triage.flag_info("crisis")["watch_for"]
    assert "harming yourself" in finding.watch_for


def test_crisis_with_a_muscle_question_still_flags_crisis(triage):
    result = triage.assess("my hip has hurt for years and i want to die, what exercises help?")
    assert result.flags == ["crisis"] and result.tier == "emergency"


def test_crisis_comes_with_other_flags(triage):
    result = triage.assess("I can't wee and I want to end it all")
    assert set(result.flags) == {"crisis", "bladder_bowel"} and result.tier == "emergency"

"""Lay words, softened negations and minimal pairs of the round of 2026-12-03
(tests/triage/lay_words.yml; figures in docs/triage.md, "Dev set v11")."""

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CASES = yaml.safe_load((ROOT / "tests" / "triage" / "lay_words.yml").read_text(encoding="utf-8"))
RANK = {None: 0, "urgent": 1, "emergency": 2}


@pytest.fixture(scope="module")
def triage():
    from assistant.triage import Triage

    return Triage.from_file()


@pytest.mark.parametrize("case", CASES["flags"], ids=lambda c: c["text"][:50])
def test_the_flag_is_found(triage, case):
    result = triage.assess(case["text"])
    assert case["flag"] in result.flags and RANK[result.tier] >= RANK[case["expect"]], result.flags


@pytest.mark.parametrize("text", CASES["harmless"], ids=lambda t: t[:50])
def test_no_flag(triage, text):
    assert not triage.assess(text).flags

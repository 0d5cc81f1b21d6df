"""The medspacy ConText modifiers layer (assistant/triage/context_medspacy.py) against the
project's own (modifiers.py): the setting selects it, and on the development sets it gives
the same (tier, flags, hypothetical) as the own layer. Skipped when medspacy is absent."""

import pytest
import yaml

from assistant.paths import ROOT
from assistant.triage.context_medspacy import parse_setting

DEV = yaml.safe_load((ROOT / "tests" / "redflags" / "dev_cases.yml").read_text(encoding="utf-8"))["cases"]


@pytest.fixture(scope="module")
def layers():
    pytest.importorskip("medspacy")
    from assistant.triage.engine import Triage

    own = Triage.from_file(context="own")
    return own, Triage.from_file(context="medspacy", nlp=own._nlp)


def test_setting_parses_and_refuses_unknown_values():
    assert parse_setting("medspacy") == ("own", "project", "category")
    assert parse_setting("medspacy:default:sentence") == ("default", "sentence", "category")
    assert parse_setting("medspacy:own:project:shared") == ("own", "project", "shared")
    for bad in ("medspacy:nope", "medspacy:own:clause", "medspacy:own:project:x", "negex"):
        with pytest.raises(ValueError):
            parse_setting(bad)


def test_the_setting_selects_the_layer(layers):
    own, medspacy = layers
    assert own.context == "own" and own._context_layer is None
    assert medspacy.context == "medspacy" and medspacy._context_layer.rule_count > 50


def test_env_var_selects_the_layer(monkeypatch, layers):
    from assistant.triage.engine import Triage

    monkeypatch.setenv("TRIAGE_CONTEXT", "medspacy:own:sentence")
    built = Triage.from_file(nlp=layers[0]._nlp)
    assert built.context == "medspacy:own:sentence" and built._context_layer.scope == "sentence"


@pytest.mark.parametrize(
    "text,flags,hypothetical",
    [
        ("no numbness in my groin, just an ache on the outside of my hip", [], False),
        ("I can't wee and my bum is numb", ["bladder_bowel", "saddle_numbness"], False),
        ("there is a family history of bone cancer", [], False),  # the cue inside the mention
        ("I read that numbness between the legs is serious. Mine is fine though.", [], True),
        ("what if my legs go numb?", [], True),
        ("i had a temperature last week but it's gone now", [], False),
        ("no fever but my leg is numb and weak", [], False),
    ],
)
def test_context_readings(layers, text, flags, hypothetical):
    result = layers[1].assess(text)
    assert set(result.flags) >= set(flags) and (flags or not result.flags), result.flags
    assert result.hypothetical is hypothetical


def test_same_results_as_the_own_layer_on_the_dev_set(layers):
    own, medspacy = layers
    differ = [
        case["text"]
        for case in DEV
        if (lambda a, b: (a.tier, a.flags, a.hypothetical) != (b.tier, b.flags, b.hypothetical))(
            own.assess(case["text"]), medspacy.assess(case["text"])
        )
    ]
    assert not differ, f"{len(differ)} dev cases differ, first: {differ[:3]}"


@pytest.mark.parametrize(
    "text",
    [
        "if I fell and couldn't stand up, what would that mean",
        "what if my legs went numb and I couldn't wee",
        "if I cough, I leak urine",
        "my mum had bone cancer but i want to know about stretches for my hip",
        "i had a temperature months ago, fine now, what helps a sore bum muscle?",
        "nothing wrong with my waterworks, my glute just hurts when i climb stairs, why?",
    ],
)
def test_same_reading_as_the_own_layer(layers, text):
    own, medspacy = (triage.assess(text) for triage in layers)
    assert (own.tier, own.flags, own.hypothetical) == (medspacy.tier, medspacy.flags, medspacy.hypothetical)


def test_works_without_a_sentencizer(layers):
    import spacy

    from assistant.triage.engine import Triage

    bare = Triage.from_file(nlp=spacy.blank("en"), context="medspacy")
    assert "saddle_numbness" in bare.assess("No fever. My bum is numb.\nI can't wee").flags

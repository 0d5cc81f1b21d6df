"""The triage package's API: the one construction, assess with an NLU Doc, light import,
and a table with an unknown option failing loudly with file, line and key."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
RULES_PATH = ROOT / "content" / "red_flags.yml"


@pytest.fixture(scope="module")
def triage():
    from assistant.triage import Triage

    return Triage.from_file()


def test_public_names_import_from_the_package():
    from assistant.triage import Finding, RulesError, Triage, TriageResult

    assert issubclass(RulesError, ValueError)
    assert Triage.from_file.__doc__ and Finding and TriageResult


def test_importing_the_package_loads_neither_spacy_nor_pydantic():
    code = (
        "import sys; from assistant.triage import Finding, TriageResult; "
        "print('spacy' in sys.modules, 'pydantic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_from_file_without_a_path_honours_red_flags_path(monkeypatch, tmp_path):
    from assistant.triage import Triage

    rules = yaml.safe_load(RULES_PATH.read_text(encoding="utf-8"))
    rules["flags"] = [flag for flag in rules["flags"] if flag["id"] == "mass"]
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump(rules), encoding="utf-8")
    monkeypatch.setenv("RED_FLAGS_PATH", str(path))
    assert Triage.from_file().flag_ids == ["mass"]


def test_assess_reuses_the_pipelines_doc_and_sets_doc_extension(triage):
    from assistant.nlp import load_nlp

    model = ROOT / "models" / "spacy"
    if not (model / "meta.json").exists():
        pytest.skip("models/spacy not built (make spacy-model)")
    nlp = load_nlp(model)
    for text, flags in [
        ("My bum is numb. I can't wee!", {"saddle_numbness", "bladder_bowel"}),
        ("No numbness. Just a sore hip.", set()),
        ("I CANT WEE", {"bladder_bowel"}),
    ]:
        doc = nlp(text)
        result = triage.assess(text, doc=doc)
        assert set(result.flags) == flags
        assert doc._.triage == result
        assert result == triage.assess(text)


def test_assess_with_a_doc_of_other_tokens_still_assesses_the_text(triage):
    import spacy

    nlp = spacy.blank("en")
    doc = nlp("something else entirely")
    assert triage.assess("I can't wee", doc=doc).flags == ["bladder_bowel"]
    assert doc._.triage.flags == ["bladder_bowel"]


def _write(tmp_path, mutate):
    text = RULES_PATH.read_text(encoding="utf-8")
    text = mutate(text)
    path = tmp_path / "red_flags.yml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "old,new,expect",
    [
        (
            "  fever:\n",
            "  fever:\n    negateable: false\n",
            r"concepts\.fever\.negateable: unknown option 'negateable' \(did you mean 'negatable'\?\)",
        ),
        (
            "        scope: region\n",
            "        sope: region\n",
            r"flags\.\d+\(saddle_numbness\)\.triggers\.\d+\.sope: unknown option 'sope' \(did you mean 'scope'\?\)",
        ),
        ("    tier: urgent\n", "    tier: soon\n", r"tier: unexpected value"),
        (
            "  negation:\n    window: 5",
            "  negation:\n    windw: 5",
            r"context\.negation\.windw: unknown option 'windw' \(did you mean 'window'\?\)",
        ),
        ("    min_length: 3", "    min_length: six", r"lexicon\.fuzzy\.min_length: value is not a valid integer"),
    ],
)
def test_a_table_with_an_unknown_option_or_bad_value_fails_with_file_line_and_key(tmp_path, old, new, expect):
    from assistant.triage import RulesError, Triage

    assert old in RULES_PATH.read_text(encoding="utf-8")
    path = _write(tmp_path, lambda text: text.replace(old, new, 1))
    with pytest.raises(RulesError, match=expect) as info:
        Triage.from_file(str(path))
    message = str(info.value)
    assert f"{path}:" in message
    line = int(message.split(f"{path}:")[1].split(":")[0])
    bad_key = [part for part in new.split("\n") if part.strip()][-1].strip().split(":")[0]
    assert bad_key in path.read_text(encoding="utf-8").splitlines()[line - 1]


def test_check_rules_file_reports_problems_and_passes_the_real_table(tmp_path):
    from assistant.triage.schema import check_rules_file

    assert check_rules_file(str(RULES_PATH)) == []
    path = _write(tmp_path, lambda text: text.replace("  fever:\n", "  fever:\n    negateable: false\n", 1))
    problems = check_rules_file(str(path))
    assert len(problems) == 1 and "negateable" in problems[0]
    line = int(problems[0].split(":")[1])
    assert "negateable" in path.read_text().splitlines()[line - 1]

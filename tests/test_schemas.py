"""The content schemas: a misspelt key or a wrong type fails, naming the file, line and key."""

import re
from pathlib import Path

import pytest
import yaml

from assistant import schema, validate
from assistant.paths import ROOT
from assistant.schema.locate import line_of, node_lines
from assistant.schema.models import CatalogueFile, ClinicProfileFile, ConversationFile, LexiconFile


def _text(relative: str) -> str:
    return (ROOT / relative).read_text(encoding="utf-8")


def _misspell(relative: str, old: str, new: str) -> str:
    """The shipped file with one key misspelt (the edit must hit exactly one line)."""
    text = _text(relative)
    assert text.count(old) == 1, f"{old!r} must occur once in {relative}"
    return text.replace(old, new)


def _line(text: str, fragment: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if fragment in line)


def test_every_shipped_content_file_passes_its_schema():
    assert validate.check_schemas() == []
    checked = {path.relative_to(ROOT).as_posix() for path, _ in validate.schema_files()}
    assert {
        "content/catalogue.yml",
        "content/conversation.yml",
        "content/lexicon.yml",
        "clinic/profile.yml",
        "clinic/examples/uk.yml",
        "clinic/examples/australia.yml",
    } <= checked


# One misspelt key per content file: the message names the file, the line, the key's path
# and the key itself.
MISSPELT = [
    (
        "content/catalogue.yml",
        CatalogueFile,
        "    follow_ups: [injury_types, other_causes, sitting, prevention]",
        "    folow_ups: [injury_types, other_causes, sitting, prevention]",
        "topics.causes.folow_ups",
        "folow_ups",
    ),
    (
        "content/catalogue.yml",
        CatalogueFile,
        '    publisher: "The Sports Injury Clinic"',
        '    publsher: "The Sports Injury Clinic"',
        "sources.sports_injury_clinic.publsher",
        "publsher",
    ),
    ("content/conversation.yml", ConversationFile, "  kiosk_hint:", "  kiosk_hnt:", "handoff.kiosk_hnt", "kiosk_hnt"),
    ("content/lexicon.yml", LexiconFile, "entities:\n", "entitys:\n", "entitys", "entitys"),
    (
        "clinic/profile.yml",
        ClinicProfileFile,
        "\nemergency_number:",
        "\nemergency_numbr:",
        "emergency_numbr",
        "emergency_numbr",
    ),
    ("clinic/examples/uk.yml", ClinicProfileFile, "urgent_line:", "urgent_lien:", "urgent_lien", "urgent_lien"),
]


@pytest.mark.parametrize("relative,model,old,new,loc,key", MISSPELT, ids=[m[0] + ":" + m[5] for m in MISSPELT])
def test_a_misspelt_key_fails_naming_file_line_and_key(relative, model, old, new, loc, key):
    text = _misspell(relative, old, new)
    problems = schema.check_text(text, model, relative)
    assert len(problems) >= 1
    unknown = [p for p in problems if p.loc == loc]
    assert unknown, [str(p) for p in problems]
    message = str(unknown[0])
    assert message.startswith(f"{relative}:{_line(text, key)}: {loc}: unknown key '{key}'"), message


def test_a_misspelt_key_suggests_the_right_one():
    text = _misspell(
        "content/catalogue.yml",
        "    follow_ups: [injury_types, other_causes, sitting, prevention]",
        "    folow_ups: [injury_types, other_causes, sitting, prevention]",
    )
    (problem,) = schema.check_text(text, CatalogueFile, "content/catalogue.yml")
    assert "did you mean 'follow_ups'?" in problem.message
    assert "allowed: answer, follow_ups, more, sources, steps, title" in problem.message


@pytest.mark.parametrize(
    "relative,model,old,new,loc,words",
    [
        # An unquoted date is a YAML date, not text.
        (
            "content/catalogue.yml",
            CatalogueFile,
            'date: "2018-02-15"',
            "date: 2018-02-15",
            "sources.sports_injury_clinic.date",
            "str type expected",
        ),
        # A list where text belongs.
        (
            "content/conversation.yml",
            ConversationFile,
            'goodbye: "Take care. If things get worse, please see a clinician."',
            "goodbye: [Take care]",
            "goodbye",
            "str type expected",
        ),
        # A number where text belongs: "000" unquoted would lose its zeros.
        (
            "clinic/examples/australia.yml",
            ClinicProfileFile,
            'emergency_number: "000"',
            "emergency_number: 112",
            "emergency_number",
            "str type expected",
        ),
        # A lexicon value must list phrases.
        (
            "content/lexicon.yml",
            LexiconFile,
            "    hip_drop:\n      - hip drop\n",
            "    hip_drop: hip drop\n    x:\n      - hip drop\n",
            "entities.exercise.hip_drop",
            "value is not a valid list",
        ),
        (
            "content/catalogue.yml",
            CatalogueFile,
            "menu: [gluteus_medius,",
            "menu: [glutes,",
            "menu",
            "not topics of this catalogue",
        ),
    ],
)
def test_a_wrong_type_fails_with_its_location(relative, model, old, new, loc, words):
    text = _misspell(relative, old, new)
    problems = [p for p in schema.check_text(text, model, relative) if p.loc == loc]
    assert problems, [str(p) for p in schema.check_text(text, model, relative)]
    assert words in problems[0].message
    assert problems[0].line == _line(text, new.strip().splitlines()[0])


def test_a_missing_required_key_points_at_its_parent():
    text = _text("content/conversation.yml").replace(
        '  watch: "What you describe needs a doctor to check it today:"\n', ""
    )
    problems = schema.check_text(text, ConversationFile, "content/conversation.yml")
    assert [(p.loc, p.message) for p in problems] == [("urgent.watch", "required key 'watch' is missing")]
    assert problems[0].line == _line(text, "urgent:")


def test_broken_yaml_and_non_mapping_are_problems_not_crashes():
    (broken,) = schema.check_text("a: [1, 2\n", LexiconFile, "x.yml")
    assert "not valid YAML" in broken.message and broken.file == "x.yml"
    (listed,) = schema.check_text("- 1\n", LexiconFile, "x.yml")
    assert "mapping" in listed.message


def test_validate_reports_schema_problems_with_file_and_line(tmp_path, monkeypatch):
    root = tmp_path
    for relative in (
        "content/catalogue.yml",
        "content/conversation.yml",
        "content/lexicon.yml",
        "content/red_flags.yml",
        "clinic/profile.yml",
    ):
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(_text(relative), encoding="utf-8")
    (root / "clinic" / "examples").mkdir()
    path = root / "clinic" / "profile.yml"
    path.write_text(_text("clinic/profile.yml").replace("\nhours:", "\nhowrs:"), encoding="utf-8")
    problems = validate.validate(root)
    assert len(problems) == 1 and re.search(
        r"profile\.yml:\d+: howrs: unknown key 'howrs' \(did you mean 'hours'\?\)", problems[0]
    )


def test_profile_schema_follows_the_profile_dataclass():
    """Every ClinicProfile field is accepted with its type; nothing else is."""
    from dataclasses import fields

    from assistant.clinic import ClinicProfile

    names = {f.name for f in fields(ClinicProfile)}
    assert set(ClinicProfileFile.__fields__) == names | {"version"}
    text = 'version: 1\nwebsite_origins: ["https://example.org"]\nname: "x"\n'
    assert schema.check_text(text, ClinicProfileFile, "p.yml") == []
    (wrong,) = schema.check_text('website_origins: "https://example.org"\n', ClinicProfileFile, "p.yml")
    assert wrong.loc == "website_origins" and "list" in wrong.message
    if "crisis_line" not in names:  # until the loader reads it, the key would be ignored: an error
        assert schema.check_text('crisis_line: "x"\n', ClinicProfileFile, "p.yml")


def test_conversation_check_questions_are_accepted_and_checked():
    base = _text("content/conversation.yml")
    good = base + '\nchecks:\n  saddle_numbness: "Do you have numbness between your legs right now?"\n'
    assert schema.check_text(good, ConversationFile, "c.yml") == []
    bad = base + '\nchecks:\n  saddle_numbness:\n    questoin: "Do you?"\n'
    messages = [str(p) for p in schema.check_text(bad, ConversationFile, "c.yml")]
    assert any("questoin" in m and "checks.saddle_numbness" in m for m in messages), messages


def test_node_lines_index_keys_and_list_items():
    lines = node_lines("a:\n  b: 1\n  c:\n    - x\n    - y\n")
    assert lines[("a", "b")] == 2 and lines[("a", "c", "1")] == 5
    assert line_of(lines, ["a", "c", 1]) == 5
    assert line_of(lines, ["a", "missing"]) == 1  # the nearest ancestor that exists


def test_schema_is_chosen_by_path():
    assert schema.schema_for(ROOT / "content" / "catalogue.yml") is CatalogueFile
    assert schema.schema_for(ROOT / "clinic" / "examples" / "uk.yml") is ClinicProfileFile
    assert schema.schema_for(Path("/elsewhere/notes.yml")) is None
    with pytest.raises(ValueError):
        schema.check_file(Path("/elsewhere/notes.yml"))


def _root_with(tmp_path, relative: str, text: str):
    """A project root holding the shipped content files, one of them replaced by ``text``."""
    for name in ("content/red_flags.yml", "content/conversation.yml"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(_text(name), encoding="utf-8")
    (tmp_path / relative).write_text(text, encoding="utf-8")
    return tmp_path


def test_red_flag_table_misspelt_option_fails_naming_it(tmp_path):
    """content/red_flags.yml has its schema in assistant/triage; the validator runs it."""
    assert validate.check_red_flag_schema() == []
    text = _text("content/red_flags.yml")
    old = re.search(r"^(\s+)negatable:", text, flags=re.M)
    broken = text[: old.start()] + old.group(1) + "negateable:" + text[old.end() :]
    problems = validate.check_red_flag_schema(_root_with(tmp_path, "content/red_flags.yml", broken))
    assert problems and "negateable" in problems[0], problems
    assert problems[0].startswith(str(tmp_path / "content" / "red_flags.yml") + ":" + str(_line(broken, "negateable:")))


def test_red_flag_table_unknown_flag_key_fails(tmp_path):
    text = _text("content/red_flags.yml")
    old = re.search(r"^(\s+)tier: emergency", text, flags=re.M)
    broken = text[: old.start()] + old.group(1) + "teir: emergency" + text[old.end() :]
    problems = validate.check_red_flag_schema(_root_with(tmp_path, "content/red_flags.yml", broken))
    assert any("teir" in p for p in problems), problems


def test_check_questions_must_name_red_flags(tmp_path):
    text = _text("content/conversation.yml") + '\nchecks:\n  sadle_numbness: "Do you?"\n'
    problems = validate.check_checks(_root_with(tmp_path, "content/conversation.yml", text))
    assert problems == ["conversation checks.sadle_numbness: not a red-flag id in content/red_flags.yml"]
    assert validate.check_checks() == []


def test_wording_checks_cover_crisis_and_check_questions():
    import copy

    from assistant.catalogue import parse_catalogue

    raw = yaml.safe_load(_text("content/catalogue.yml"))
    wording = yaml.safe_load(_text("content/conversation.yml"))
    assert validate.check_wording(parse_catalogue(raw, wording)) == []
    broken = copy.deepcopy(wording)
    broken["crisis"]["clinic"] = "Call {crisis_line}"  # only crisis.lead is given the crisis line
    broken["checks"] = {"saddle_numbness": "Do you have {watch_for}?"}
    problems = validate.check_wording(parse_catalogue(raw, broken))
    assert "conversation wording crisis.clinic: unknown placeholders ['crisis_line']" in problems
    assert "conversation wording checks.saddle_numbness: a check question takes no placeholders" in problems

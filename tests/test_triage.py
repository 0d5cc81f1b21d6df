"""Red-flag triage: assistant/triage/ with content/red_flags.yml.

Clinical basis: ../shared/clinical/red-flags.md. The development cases live in
tests/redflags/dev_cases.yml (the held-out set, holdout.yml, is someone else's and is not
read here). Every case is one parametrized test; the tables below spell out, per flag, a
positive and the context traps (negation, hypothetical, other person, past, hyperbole).
"""

import dataclasses
import logging
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from assistant.triage import engine as triage_module  # noqa: E402
from assistant.triage.engine import (  # noqa: E402
    DEFAULT_RULES_PATH,
    Finding,
    RulesError,
    Triage,
    TriageResult,
    default_triage,
)

RULES_PATH = ROOT / "content" / "red_flags.yml"
DEV_CASES_PATH = ROOT / "tests" / "redflags" / "dev_cases.yml"
RED_FLAGS_MD = ROOT.parent / "shared" / "clinical" / "red-flags.md"

SUGGESTED_IDS = {
    "bladder_bowel",
    "saddle_numbness",
    "bilateral_or_severe_weakness",
    "progressive_weakness",
    "fracture",
    "fall_older_adult",
    "infection",
    "limb_ischaemia",
    "cancer_history",
    "weight_loss",
    "night_rest_pain",
    "child_limp",
    "dvt",
    "avn_risk",
    "mass",
    "crisis",
}


def _load_rules():
    with open(RULES_PATH, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _dev_cases():
    with open(DEV_CASES_PATH, encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    assert data["version"] == 1
    return data["cases"]


DEV_CASES = _dev_cases()


@pytest.fixture(scope="module")
def triage():
    return default_triage()


def _check(result: TriageResult, expect: str, flags=None, hypothetical=None):
    got = result.tier or "none"
    assert got == expect, f"tier {got} (flags {result.flags}), expected {expect}"
    if flags is not None:
        assert set(result.flags) == set(flags), f"flags {result.flags}, expected {flags}"
    if hypothetical is not None:
        assert result.hypothetical is hypothetical


# ----------------------------------------------------------------------------- dev cases
@pytest.mark.parametrize("case", DEV_CASES, ids=[c["text"][:60] or "<empty>" for c in DEV_CASES])
def test_dev_case(triage, case):
    _check(triage.assess(case["text"]), case["expect"], case.get("flags") or [], case.get("hypothetical"))


def test_dev_cases_are_well_formed():
    ids = set(_load_rules_ids())
    for case in DEV_CASES:
        assert set(case) <= {"text", "expect", "flags", "hypothetical"}, case
        assert case["expect"] in ("emergency", "urgent", "none")
        assert set(case.get("flags") or []) <= ids, case
        assert bool(case.get("flags")) == (case["expect"] != "none"), case


def test_dev_set_recall_and_false_alarms(triage):
    """The headline figures: 100% recall on emergency/urgent, no false alarm on 'none'."""
    positives = [c for c in DEV_CASES if c["expect"] != "none"]
    negatives = [c for c in DEV_CASES if c["expect"] == "none"]
    rank = {None: 0, "urgent": 1, "emergency": 2}
    found = sum(rank[triage.assess(c["text"]).tier] >= rank[c["expect"]] for c in positives)
    alarms = sum(bool(triage.assess(c["text"]).findings) for c in negatives)
    assert found == len(positives)
    assert alarms == 0
    assert len(positives) >= 600 and len(negatives) >= 750


def test_dev_set_covers_every_flag_with_lay_and_carer_wording():
    """Each of the weak flags of the held-out evaluation has at least 50 positive cases."""
    counts = {}
    for case in DEV_CASES:
        for flag in case.get("flags") or []:
            counts[flag] = counts.get(flag, 0) + 1
    for flag in ("progressive_weakness", "cancer_history", "weight_loss", "bilateral_or_severe_weakness"):
        assert counts.get(flag, 0) >= 50, (flag, counts.get(flag))


def _load_rules_ids():
    return [f["id"] for f in _load_rules()["flags"]]


# ----------------------------------------------------------------------------- per flag
# flag -> (positive messages, negated or context messages that must not raise it)
FLAG_CASES = {
    "bladder_bowel": (
        ["I can't wee", "i've lost control of my bladder", "I keep wetting myself"],
        ["no problems with my bladder or bowels", "what if I can't wee?", "it stings when I pee"],
    ),
    "saddle_numbness": (
        ["my bum feels numb", "numbness between my legs", "no feeling down there"],
        ["no numbness down there", "what if my bum goes numb?", "my foot is numb and my bum hurts"],
    ),
    "bilateral_or_severe_weakness": (
        [
            "both my legs have gone weak",
            "I can't feel my legs",
            "my legs keep giving way",
            "my legs suddenly went like jelly and I can't lift them",
            "both legs feel weak and heavy",
            "my leg has suddenly gone completely dead",
            "my legs won't hold me up",
        ],
        [
            "my legs feel weak after the gym",
            "no weakness in my legs",
            "my glutes are weak",
            "legs weak after leg day",
            "my legs were weak when I had flu last year",
        ],
    ),
    "progressive_weakness": (
        [
            "my leg is getting weaker every day",
            "I think I have foot drop",
            "my leg keeps giving way and it's getting worse each day",
            "foot slapping when I walk",
            "toes catch on the ground",
            "my leg has gone weeker over the past week",
            "can't lift the front of my foot",
        ],
        [
            "my leg isn't getting any weaker",
            "the weakness in my leg is getting better",
            "What does foot drop mean?",
            "my physio checked for foot drop and I don't have it",
            "my weak leg is slowly getting stronger with the exercises",
            "my foot hurts when I drop my heel off the step",
        ],
    ),
    "fracture": (
        ["my dad fell and can't get up", "I can't put weight on it", "cant weight bare"],
        ["I can put weight on it fine", "I broke my hip 10 years ago", "what if I fall and break my hip?"],
    ),
    "fall_older_adult": (
        ["my 82 year old mum fell yesterday and her hip hurts but she can walk"],
        ["I fell behind on my exercises", "I haven't had any falls", "my dad fell 5 years ago"],
    ),
    "infection": (
        ["I have a fever and my hip is really painful", "no fever but my hip is hot and swollen"],
        ["I had a fever last year", "my hip doesn't feel hot or swollen", "can I use a hot water bottle on my bum?"],
    ),
    "limb_ischaemia": (
        ["my leg has suddenly gone cold and pale"],
        ["I have a cold", "my leg isn't cold or pale", "should I use a cold pack on my hip?"],
    ),
    "cancer_history": (
        [
            "had cancer 10 years ago",
            "I'm having chemo at the moment",
            "i'm on chemo and now my hip hurts",
            "had bowel cancer in 2015, new pain in my bum",
            "I had a mastectomy for breast cancer and now my hip aches",
            "I'm a cancer patient and my bum has been aching",
        ],
        [
            "my mum had cancer",
            "cancer runs in the family",
            "I'm worried it's cancer",
            "I've never had cancer",
            "I had a cancer scare but it was benign",
            "I'm running a marathon for cancer research and my hip hurts",
            "I'm waiting for results to see if it's cancer",
        ],
    ),
    "weight_loss": (
        [
            "I've lost a lot of weight without trying",
            "I'm getting night sweats",
            "lost a stone without dieting",
            "drenched in sweat at night",
            "waking up in a pool of sweat every night",
            "my dad's gone really thin and his hip hurts",
        ],
        [
            "I'm trying to lose weight to help my hip",
            "no weight loss or night sweats",
            "I lost weight after having my baby",
            "I had night sweats when I had covid last year",
            "the cartilage in my hip is getting thin",
            "I sweat at night during the heatwave",
        ],
    ),
    "night_rest_pain": (
        ["the pain is terrible at night and nothing helps", "the pain at night is unbearable"],
        ["it hurts at night when I lie on that side", "my hip aches at night but ice helps"],
    ),
    "child_limp": (
        ["my son is limping", "my toddler won't walk on his leg"],
        ["I'm limping", "my son isn't limping", "my son was limping last year but he's fine now"],
    ),
    "dvt": (
        ["my calf is swollen, red and warm", "I think I have a blood clot in my leg"],
        ["no swelling in my calves", "my mum had a DVT", "what are the signs of a blood clot?"],
    ),
    "avn_risk": (
        ["I've been on steroids for years and have deep pain in my groin"],
        ["I had a steroid injection in my hip last month", "I'm not on any steroids and my groin hurts"],
    ),
    "mass": (
        ["I've found a lump in my buttock that's getting bigger"],
        ["no lumps or bumps", "I have a knot in my glute", "is a lump a sign of cancer?"],
    ),
    "crisis": (
        ["I want to die", "thinking of ending it all", "can't go on with this pain"],
        ["this pain is killing me", "I'm dying to know", "I'm not suicidal, just fed up"],
    ),
}


def test_every_flag_has_a_positive_and_two_context_cases():
    assert set(FLAG_CASES) == set(_load_rules_ids())
    for flag, (positives, negatives) in FLAG_CASES.items():
        assert len(positives) >= 1 and len(negatives) >= 2, flag
    # and in the dev set too
    for flag in _load_rules_ids():
        assert any(flag in (c.get("flags") or []) for c in DEV_CASES), flag


@pytest.mark.parametrize("flag,text", [(f, t) for f, (pos, _) in FLAG_CASES.items() for t in pos])
def test_flag_positive(triage, flag, text):
    result = triage.assess(text)
    assert flag in result.flags
    assert result.tier in ("emergency", "urgent")


@pytest.mark.parametrize("flag,text", [(f, t) for f, (_, neg) in FLAG_CASES.items() for t in neg])
def test_flag_negated_or_out_of_context(triage, flag, text):
    assert flag not in triage.assess(text).flags


# ----------------------------------------------------------------------------- context traps
@pytest.mark.parametrize(
    "text,flag",
    [
        ("no fever but my hip is hot and swollen", "infection"),
        ("No fever. My calf is swollen and red though.", "dvt"),
        ("I have no back pain, only numbness around my bottom", "saddle_numbness"),
        ("No numbness in my groin but I can't pee", "bladder_bowel"),
        ("My hip isn't swollen but it's red and hot", "infection"),
    ],
)
def test_negation_ends_at_a_clause_break(triage, text, flag):
    assert flag in triage.assess(text).flags


@pytest.mark.parametrize(
    "text,flag",
    [
        ("can't wee", "bladder_bowel"),
        ("I can't put weight on it", "fracture"),
        ("no feeling down there", "saddle_numbness"),
        ("cant weight bare", "fracture"),
        ("I can't feel the toilet paper when I wipe", "saddle_numbness"),
        ("nothing helps the pain at night", "night_rest_pain"),
    ],
)
def test_negation_that_is_the_flag(triage, text, flag):
    assert flag in triage.assess(text).flags


@pytest.mark.parametrize(
    "text",
    [
        "my mum had cancer",
        "cancer runs in the family",
        "my mum had breast cancer and I have hip pain",
        "there is a family history of bone cancer",
        "my mum had a DVT",
        "I have a friend with cancer",
    ],
)
def test_someone_elses_history_is_not_a_flag(triage, text):
    assert triage.assess(text).findings == ()


@pytest.mark.parametrize(
    "text,flag",
    [
        ("my dad fell and can't get up", "fracture"),
        ("my son is limping", "child_limp"),
        ("my wife can't feel her legs", "bilateral_or_severe_weakness"),
        ("My husband has wet himself and his back and buttock are really painful", "bladder_bowel"),
        ("my dad has prostate cancer and now his hip hurts", "cancer_history"),
        ("Mum had a fall. She can't get up off the floor.", "fracture"),
    ],
)
def test_a_carer_describing_the_patient_now_is_a_flag(triage, text, flag):
    assert flag in triage.assess(text).flags


@pytest.mark.parametrize(
    "text,expect,flags",
    [
        ("I had a fever last year", "none", []),
        ("had cancer 10 years ago", "urgent", ["cancer_history"]),
        ("I broke my hip 10 years ago", "none", []),
        ("my son was limping last year but he's fine now", "none", []),
        (
            "I had a hip replacement last year and now it's hot and swollen and I have a fever",
            "emergency",
            ["infection"],
        ),
    ],
)
def test_past_versus_current(triage, text, expect, flags):
    _check(triage.assess(text), expect, flags)


@pytest.mark.parametrize(
    "text,expect,flags",
    [
        ("I had a temperature on Monday but it's gone now", "none", []),
        ("my daughter had a fever last week but she's better now", "none", []),
        ("I had a fever in January but it's long gone", "none", []),
        ("I've had a temperature since yesterday and my hip really hurts", "urgent", ["infection"]),
        ("I've had a fever for 3 days and it hasn't gone", "urgent", ["infection"]),
        ("my fever went away but now my hip is red and hot", "urgent", ["infection"]),
    ],
)
def test_a_fever_that_is_over_is_not_current(triage, text, expect, flags):
    """`resolvable` concepts: dated to last week or later said to be gone."""
    _check(triage.assess(text), expect, flags)


@pytest.mark.parametrize(
    "text,expect,flags",
    [
        ("my toddler has a temperature and I'm asking about my own hip", "none", []),
        ("my son has a fever and my hip is sore from carrying him", "none", []),
        ("my husband has a fever", "urgent", ["infection"]),
        ("my daughter's got a temp of 39 and her hip hurts", "emergency", ["infection", "child_limp"]),
        (
            "My son has a fever and his hip hurts and my back aches from carrying him",
            "emergency",
            ["infection", "child_limp"],
        ),
    ],
)
def test_someone_elses_fever_in_a_message_about_the_writers_hip(triage, text, expect, flags):
    _check(triage.assess(text), expect, flags)


@pytest.mark.parametrize(
    "text,expect,flags",
    [
        # a writer under 18 is a child
        ("I'm 14 and my hip hurts when I walk", "urgent", ["child_limp"]),
        ("I'm a 15 year old girl and my groin has been hurting for weeks", "urgent", ["child_limp"]),
        ("I'm 45 and my son is 15, my hip hurts", "none", []),
        # numbers that are not ages
        ("I'm 12 weeks pregnant, hip pain", "none", []),
        ("the pain is 8, hip hurts when I walk", "none", []),
        # a child named only as the one carried, lifted or given birth to
        ("carrying my toddler all day, hip pain is awful", "none", []),
        ("after having my son I've had hip pain", "none", []),
        ("my son is learning to walk and I carry him everywhere, hip aches", "none", []),
        ("carrying my son to the car because he can't walk on his leg", "urgent", ["child_limp"]),
        # a description of the writer is not another person
        ("I'm a cancer patient and my bum has been aching", "urgent", ["cancer_history"]),
        ("I'm a carer for my son and he's limping", "urgent", ["child_limp"]),
    ],
)
def test_who_has_it(triage, text, expect, flags):
    _check(triage.assess(text), expect, flags)


@pytest.mark.parametrize(
    "text",
    [
        "what if I go numb?",
        "should I worry if I can't feel my legs?",
        "can sciatica cause numbness?",
        "What if I can't wee?",
        "if I get a fever should I worry?",
        "what are the red flags?",
        "Is numbness in the groin a sign of something serious?",
        "I'm worried it's cancer",
        "What is cauda equina syndrome?",
        "what if my legs go weak?",
    ],
)
def test_hypotheticals_are_not_flags_but_ask_for_the_safety_net(triage, text):
    result = triage.assess(text)
    assert result.findings == ()
    assert result.hypothetical is True


@pytest.mark.parametrize(
    "text",
    [
        "my bum hurts when I sit",
        "what exercises help my hip",
        "how do I do hip drops?",
        "hi",
        "I fell behind on my exercises",
    ],
)
def test_ordinary_messages_are_not_hypothetical(triage, text):
    assert triage.assess(text) == TriageResult(findings=(), hypothetical=False)


@pytest.mark.parametrize(
    "text",
    [
        "this pain is killing me",
        "I'm dying here",
        "my bum is killing me after the spin class",
        "I'm so sick of this pain",
        "crab walks are killing me",
    ],
)
def test_hyperbole_is_not_an_emergency(triage, text):
    assert triage.assess(text).findings == ()


def test_hyperbole_does_not_hide_a_real_flag(triage):
    assert "bladder_bowel" in triage.assess("this pain is killing me and I can't wee").flags


@pytest.mark.parametrize(
    "text,flag",
    [
        ("numbbess in my backside", "saddle_numbness"),
        ("my privates are numb", "saddle_numbness"),
        ("I can't feel anything down there", "saddle_numbness"),
        ("i cant pee", "bladder_bowel"),
        ("I CANT WEE", "bladder_bowel"),
        ("i cnt feel my legs", "bilateral_or_severe_weakness"),
        ("I pooed myself", "bladder_bowel"),
        ("cant weight bare", "fracture"),
        ("my bum cheeks are numb", "saddle_numbness"),
        ("i have a feaver and my hip is swolen", "infection"),
        ("I can\u2019t wee", "bladder_bowel"),
    ],
)
def test_lay_words_slang_and_typos(triage, text, flag):
    assert flag in triage.assess(text).flags


@pytest.mark.parametrize(
    "text",
    [
        "my bum hurts when I sit",
        "what exercises help my hip",
        "is it serious",
        "I fell behind on my exercises",
        "my legs feel weak after the gym",
        "my gluteus medius is weak",
        "I can't stand on one leg for long",
        "I can't walk far without my bum aching",
        "I have a cold and my hip aches",
        "a hot bath helps my hip",
        "what are the red flags?",
        "I had a steroid injection in my hip",
        "I slipped a disc last year",
        "my calves are tight",
    ],
)
def test_no_false_alarm_on_ordinary_glute_messages(triage, text):
    assert triage.assess(text).findings == ()


# ----------------------------------------------------------------------------- tiers
@pytest.mark.parametrize(
    "text,tier",
    [
        ("my hip is hot and swollen", "urgent"),
        ("my hip is hot and swollen and I can't put weight on it", "emergency"),
        ("my hip is red and hot and I feel really ill", "emergency"),
        ("My daughter has a temperature and her hip is swollen", "emergency"),
        ("my hip replacement looks red and feels warm", "emergency"),
    ],
)
def test_infection_upgrades(triage, text, tier):
    result = triage.assess(text)
    assert {f.flag: f.tier for f in result.findings}["infection"] == tier


@pytest.mark.parametrize(
    "text,tier",
    [
        ("my calf is swollen and red", "urgent"),
        ("my calf is swollen and I'm short of breath", "emergency"),
        ("swollen red calf and chest pain", "emergency"),
    ],
)
def test_dvt_upgrades(triage, text, tier):
    assert {f.flag: f.tier for f in triage.assess(text).findings}["dvt"] == tier


@pytest.mark.parametrize(
    "text,tier",
    [
        ("my son is limping", "urgent"),
        ("my son is limping and he's floppy and really unwell", "emergency"),
    ],
)
def test_child_limp_upgrade(triage, text, tier):
    assert {f.flag: f.tier for f in triage.assess(text).findings}["child_limp"] == tier


@pytest.mark.parametrize(
    "text,flags",
    [
        ("my 82 year old mum fell and her hip hurts", ["fall_older_adult"]),
        ("my 82 year old mum fell and can't stand", ["fracture"]),
        ("Grandad slipped and his leg looks shorter and turned out", ["fracture"]),
    ],
)
def test_fall_becomes_fracture_when_weight_bearing_fails(triage, text, flags):
    result = triage.assess(text)
    assert result.flags == flags
    assert result.tier == triage.flag_info(flags[0])["tier"]


def test_findings_are_deduplicated_and_most_severe_first(triage):
    result = triage.assess("I've lost weight without trying. I can't wee. I can't wee! My bum is numb.")
    assert len(result.flags) == len(set(result.flags))
    tiers = [f.tier for f in result.findings]
    assert tiers == sorted(tiers, key=lambda t: t != "emergency")
    assert result.tier == "emergency"
    assert set(result.flags) == {"weight_loss", "bladder_bowel", "saddle_numbness"}


# ----------------------------------------------------------------------------- robustness
@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "   \n\t  ",
        "\x00\x01\x02\x1b[31m",
        "\ud800\udfff",
        "😀" * 500,
        "🍑💥",
        "???",
        "Me duele mucho la cadera",
        "Ich habe Schmerzen in der Hüfte",
        "股关节疼痛",
        "ألم في الورك",
        "a" * 5000,
        ".\n" * 2000,
        "\u0301" * 50,
        "<script>alert(1)</script>",
        "{{7*7}}",
        "%s %d",
    ],
    ids=lambda t: repr(t[:20]),
)
def test_never_raises_and_returns_a_result(triage, text):
    result = triage.assess(text)
    assert isinstance(result, TriageResult)
    assert result.findings == ()


@pytest.mark.parametrize("value", [None, 42, b"I can't wee", ["I can't wee"], object()])
def test_non_strings_are_no_finding(triage, value):
    assert triage.assess(value) == TriageResult(findings=(), hypothetical=False)


def test_100kb_message_is_assessed_in_full(triage):
    text = ("My bum hurts when I sit at my desk and the exercises help a bit. " * 1600)[:100_000]
    result = triage.assess("My groin is numb. " + text + " Since this morning I can't wee.")
    assert set(result.flags) == {"saddle_numbness", "bladder_bowel"}


def test_flags_survive_emoji_control_characters_and_accents(triage):
    assert "bladder_bowel" in triage.assess("😭😭 I can't wee!!! 😭").flags
    assert "bladder_bowel" in triage.assess("I can't\x00 wee").flags
    assert "saddle_numbness" in triage.assess("my bum is numb\ud800").flags
    assert "bladder_bowel" in triage.assess("I can't we\u0301e").flags


# ----------------------------------------------------------------------------- interface
def test_result_types_are_frozen_dataclasses(triage):
    result = triage.assess("I can't wee")
    assert dataclasses.is_dataclass(result) and dataclasses.is_dataclass(result.findings[0])
    assert isinstance(result.findings, tuple)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.hypothetical = True  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.findings[0].tier = "urgent"  # type: ignore[misc]
    finding = result.findings[0]
    assert finding == Finding("bladder_bowel", "emergency", finding.watch_for)
    assert result.tier == "emergency" and result.flags == ["bladder_bowel"]
    assert TriageResult(findings=(), hypothetical=False).tier is None


def test_watch_for_comes_from_the_yaml(triage):
    rules = {f["id"]: f for f in _load_rules()["flags"]}
    result = triage.assess("numbness between my legs")
    assert result.findings[0].watch_for == rules["saddle_numbness"]["watch_for"].strip()
    assert "between your legs" in result.findings[0].watch_for


def test_default_triage_is_cached_and_reads_the_default_file():
    assert default_triage() is default_triage()
    assert Path(DEFAULT_RULES_PATH) == RULES_PATH


def test_red_flags_path_env_selects_another_table(monkeypatch, tmp_path):
    rules = _load_rules()
    rules["flags"] = [f for f in rules["flags"] if f["id"] == "bladder_bowel"]
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump(rules), encoding="utf-8")
    monkeypatch.setattr(triage_module, "_default", None)
    monkeypatch.setenv("RED_FLAGS_PATH", str(path))
    try:
        custom = default_triage()
        assert custom.flag_ids == ["bladder_bowel"]
        assert custom.assess("my bum is numb").findings == ()
        assert custom.assess("I can't wee").flags == ["bladder_bowel"]
    finally:
        monkeypatch.setattr(triage_module, "_default", None)


def test_relative_env_path_is_relative_to_the_project_root(monkeypatch):
    monkeypatch.setenv("RED_FLAGS_PATH", "content/red_flags.yml")
    assert Path(triage_module.rules_path()) == RULES_PATH


def test_works_with_the_production_pipeline_and_with_a_pipeline_without_sentencizer():
    import spacy

    model_dir = ROOT / "models" / "spacy"
    pipelines = [spacy.blank("en")]
    if (model_dir / "meta.json").exists():
        pipelines.append(spacy.load(model_dir))
    samples = [c for c in DEV_CASES if c["text"].strip()][::7]
    for nlp in pipelines:
        tri = Triage.from_file(str(RULES_PATH), nlp=nlp)
        for case in samples:
            result = tri.assess(case["text"])
            assert (result.tier or "none") == case["expect"], (nlp.pipe_names, case["text"])


def test_import_is_light():
    code = "import sys, assistant.triage.engine; print('spacy' in sys.modules, 'yaml' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out[0] == "False"


def test_typical_messages_are_fast(triage):
    texts = [c["text"] for c in DEV_CASES if c["text"].strip()]
    for t in texts[:30]:
        triage.assess(t)
    # CPU time, not wall time: the bound is about the triage's own work, and a wall clock
    # on a shared two-core machine measures the neighbours too.
    timings = []
    for t in texts:
        start = time.process_time()
        triage.assess(t)
        timings.append((time.process_time() - start) * 1000)
    assert statistics.median(timings) < 5.0, f"median {statistics.median(timings):.2f} ms"


def test_message_text_is_never_logged(triage, caplog):
    secret = "Zanzibar"
    with caplog.at_level(logging.DEBUG, logger="assistant.triage.engine"):
        triage.assess(f"{secret} says I can't wee and my bum is numb")
        triage.assess(f"what if {secret} goes numb?")
    assert caplog.records, "flag ids are logged"
    for record in caplog.records:
        assert secret.lower() not in record.getMessage().lower()
        assert "wee" not in record.getMessage()


# ----------------------------------------------------------------------------- the table
def test_table_covers_red_flags_md_with_tiers_wording_and_sources():
    rules = _load_rules()
    flags = {f["id"]: f for f in rules["flags"]}
    assert set(flags) == SUGGESTED_IDS
    expected_tiers = {
        "bladder_bowel": "emergency",
        "saddle_numbness": "emergency",
        "bilateral_or_severe_weakness": "emergency",
        "fracture": "emergency",
        "limb_ischaemia": "emergency",
        "progressive_weakness": "urgent",
        "fall_older_adult": "urgent",
        "infection": "urgent",
        "cancer_history": "urgent",
        "weight_loss": "urgent",
        "night_rest_pain": "urgent",
        "child_limp": "urgent",
        "dvt": "urgent",
        "avn_risk": "urgent",
        "mass": "urgent",
        "crisis": "emergency",
    }
    for fid, flag in flags.items():
        assert flag["tier"] == expected_tiers[fid]
        assert flag["condition"].strip() and flag["watch_for"].strip()
        assert "red-flags.md" in flag["source"]
        assert any(s in flag["source"] for s in ("NHS", "NICE", "Finucane", "children"))
    for fid in ("infection", "dvt", "child_limp"):
        assert flags[fid]["upgrade"]["to"] == "emergency"
    if RED_FLAGS_MD.exists():
        md = RED_FLAGS_MD.read_text(encoding="utf-8")
        for fid in flags:
            assert f"`{fid}`" in md
    for key in ("negation", "hypothetical_forward", "family_history", "past_time", "hyperbole"):
        assert rules["context"]["cues"][key]["patterns"]


@pytest.mark.parametrize(
    "mutate,message",
    [
        (lambda r: r["flags"][0].update(tier="soon"), "tier"),
        (lambda r: r["flags"][0].update(watch_for=""), "watch_for"),
        (lambda r: r["flags"][0]["triggers"].append({"all": ["no_such_concept"]}), "unknown concept"),
        (lambda r: r["concepts"]["fall"]["next_not_in"].append(True), "quote"),
        (lambda r: r["flags"].append(dict(r["flags"][0])), "duplicated"),
        (lambda r: r["concepts"]["numb_word"].update(patterns=["$NO_SUCH_SET"]), "unknown term set"),
        (
            lambda r: r["flags"][0]["triggers"].append({"all": ["fever"], "unless_self_has": ["nope"]}),
            "unknown concept",
        ),
    ],
)
def test_malformed_tables_are_rejected(mutate, message):
    import spacy

    rules = _load_rules()
    mutate(rules)
    with pytest.raises(RulesError, match=message):
        Triage(rules, nlp=spacy.blank("en"))

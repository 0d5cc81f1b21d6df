"""Someone else's past story and the writer's own dated, resolved episode (red-flags.md:
"Someone else's history is not a flag"; "had a fever last year is not current").

Both context layers (medspacy ConText, the default, and the project's own) must agree.
Each harmless case has a carer twin that must still escalate: the rule may only move
when the writer has turned to themself and nothing says the story goes on.
"""

from typing import Any

import pytest

LAYERS = ("medspacy", "own")

HARMLESS = [
    # someone else's past story, then the writer's own question
    "My uncle lost control of his bladder after a back injury. I'm only asking what sciatica is.",
    "My mate had a blood clot in his calf after a long flight. I just want to know about crab steps.",
    "My brother had a fever and a hot swollen knee once and needed antibiotics. I'm fine, what's the gluteus medius?",
    "My granny had a fall and broke her hip, that's why I'm keen on prevention. How do I keep my glutes strong?",
    # someone else's, in any tense, when the writer says the question is their own
    "My neighbour has numbness down below too, is that related to mine?",
    "My brother can't pee properly after his op, but my question is about glute stretches.",
    "My friend has a swollen calf from varicose veins, anyway what causes hip pain?",
    "My mum had a blood clot in her leg, is that genetic?",
    # a past story, then a question of the writer's own that does not point back
    "My aunt had bladder trouble after childbirth, does physio help glute pain?",
    # the writer's own episode, dated and said to be over
    "My backside went numb after the epidural, it went away within a day, that was 3 years ago.",
    "My hip was red and swollen after a wasp sting last summer, totally fine now. What's the Trendelenburg sign?",
    "Couldn't weight bear after I rolled my ankle at netball last season, but that healed. How do I treat my glute?",
    "I had a stomach bug last month and lost a couple of kilos but I've put them back on. How is it diagnosed?",
    "Had a bad flu with chills a month ago, I'm over it now. What's the hip drop exercise?",
]

STILL_FLAGS = [
    # a carer telling today's story in the past tense
    ("My 82 year old mum fell in the garden and hurt her hip.", "fall_older_adult"),
    ("My husband went numb between his legs after lifting.", "saddle_numbness"),
    ("My dad lost a lot of weight without trying.", "weight_loss"),
    ("My dad had a fever and shivers and his replaced hip went red.", "infection"),
    # ... then turning to themself, but saying it goes on or asking what to do
    ("Mum had a fall. She can't get up off the floor.", "fracture"),
    ("My dad fell over and hurt his hip. I'm worried, what should I do?", "fall_older_adult"),
    ("My mum lost control of her bladder. I'm her carer and I don't know what to do.", "bladder_bowel"),
    ("My husband collapsed and lost feeling in both legs, I'm scared.", "bilateral_or_severe_weakness"),
    ("My wife has lost feeling in both legs and I need to know what to do.", "bilateral_or_severe_weakness"),
    ("My brother lost control of his bladder and now I'm not sure if I should call someone.", "bladder_bowel"),
    # someone else's now, asked about by a carer
    ("My mum can't feel her legs, what are the signs of a stroke?", "bilateral_or_severe_weakness"),
    ("My dad can't wee, could it be linked to his hip?", "bladder_bowel"),
    ("My husband has numbness between his legs, my question is what to do.", "saddle_numbness"),
    ("My wife has lost feeling in both legs, anyway what should we do?", "bilateral_or_severe_weakness"),
    ("My dad fell and can't get up, is that serious?", "fracture"),
    ("My grandad fell this morning, he's 90, how do I help my own hip?", "fall_older_adult"),
    # the writer's own, dated but not said to be over; over but not dated
    ("I couldn't put weight on my leg after a fall last week.", "fracture"),
    ("I lost control of my bladder last week and my back still hurts.", "bladder_bowel"),
    ("Both my legs went numb and weak, it's fine now.", "bilateral_or_severe_weakness"),
]


@pytest.fixture(scope="module", params=LAYERS)
def triage(request: Any) -> Any:
    from assistant.triage import Triage

    return Triage.from_file(context=request.param)


@pytest.mark.parametrize("text", HARMLESS)
def test_history_is_not_a_flag(triage: Any, text: str) -> None:
    result = triage.assess(text)
    assert not result.findings, result
    assert result.ruled_out, "the rules saw the mention and ruled it out, so no check question is asked"


@pytest.mark.parametrize("text,flag", STILL_FLAGS)
def test_current_story_still_escalates(triage: Any, text: str, flag: str) -> None:
    assert flag in triage.assess(text).flags


@pytest.mark.parametrize(
    "text,flag",
    [
        ("cantwee properly since last night", "bladder_bowel"),
        ("bothlegs have gone numb", "bilateral_or_severe_weakness"),
        ("myleg went cold and pale all of a sudden", "limb_ischaemia"),
        ("no feelin down there", "saddle_numbness"),
    ],
)
def test_words_run_together_are_split(triage: Any, text: str, flag: str) -> None:
    """A missing space ("cantwee") is a typo style of its own; a dropped g ("feelin") is
    still read as one word."""
    assert flag in triage.assess(text).flags


def test_run_together_words_that_are_words_stay_whole(triage: Any) -> None:
    normaliser = triage.rules.normaliser
    for word in ("gluteus", "painkillers", "somewhere", "myself", "cannot", "feelin", "canteen"):
        assert normaliser.split_joined(word) == word
    assert normaliser.split_joined("bothlegs") == "both legs"


@pytest.mark.parametrize(
    "text,flag",
    [
        # clinical shorthand
        ("Sudden-onset bilateral lower limb weakness and paraesthesia this afternoon.", "bilateral_or_severe_weakness"),
        ("Hx prostate Ca treated 2016, new-onset buttock pain over the last 3 weeks.", "cancer_history"),
        ("Unilateral calf swelling with erythema and warmth, ?DVT.", "dvt"),
        ("14yo M, 3/52 history of limp and knee pain, no trauma.", "child_limp"),
        # when it began is no past time
        ("Enlarging lump over the left buttock, noticed 2 months ago.", "mass"),
        # non-native and dictated forms
        ("My son have 4 years, he not want to stand on his leg today.", "child_limp"),
        ("I lose 5 kilo without any diet and my hip is painful.", "weight_loss"),
        ("since this morning I can't p properly it just won't come out", "bladder_bowel"),
        ("I can't put any wait on it since I fell", "fracture"),
        # telling, not supposing
        ("I am 77. I should say I fell on the bus step last week and the hip has ached since.", "fall_older_adult"),
        # a pet named as an object is not who has it
        ("I tripped over the dog and now I can't put weight on my leg", "fracture"),
        ("My husband tripped over the dog and he can't get up off the floor.", "fracture"),
    ],
)
def test_clinical_shorthand_onset_and_other_phrasings(triage: Any, text: str, flag: str) -> None:
    assert flag in triage.assess(text).flags


@pytest.mark.parametrize(
    "text",
    [
        "Our cat fell off the fence and can't put weight on his back leg, do you know a vet?",
        "The lump I was worried about turned out to be nothing, the GP checked it.",
        "I nearly wet myself laughing at my physio's jokes.",
    ],
)
def test_a_pet_a_lump_cleared_by_the_gp_and_a_laugh_are_not_flags(triage: Any, text: str) -> None:
    assert not triage.assess(text).findings


def test_an_older_adult_fall_needs_no_age_but_a_young_stated_age_rules_it_out(triage: Any) -> None:
    """red-flags.md: "older person fell": most writers give no age, so any fall counts;
    a stated age under 60 does not, and a fall that cannot bear weight is a fracture at any age."""
    assert "fall_older_adult" in triage.assess("I fell on the ice and my hip hurts").flags
    assert "fall_older_adult" in triage.assess("I'm 81, fell in the garden, hip sore").flags
    assert not triage.assess("I'm 30, tripped on the stairs, just a bruise on my bum").findings
    assert "fracture" in triage.assess("I'm 30, fell off my bike and can't put weight on my leg").flags


@pytest.mark.parametrize(
    "text,flag",
    [
        ("lost controll of my bowls this morning", "bladder_bowel"),
        ("not passed water since yesterday morning", "bladder_bowel"),
        ("I try to go to the toilet and nothing comes out", "bladder_bowel"),
        ("cnat feel wen i wipe", "saddle_numbness"),
        ("prostrate cancer few years back, new hip pain", "cancer_history"),
        ("can't get any relief at night no matter what I take", "night_rest_pain"),
    ],
)
def test_dev_v6_kinds(triage: Any, text: str, flag: str) -> None:
    assert flag in triage.assess(text).flags

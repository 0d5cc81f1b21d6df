"""Follow-up resolution (assistant/followups.py): pure, no Rasa."""

import pytest

from assistant.followups import asks_how_to_do_it, described_option, find_ordinals, ordinal_value, resolve_followup

EXERCISES = ["exercise_hip_drop", "exercise_crab_steps", "exercise_trx_lunge", "exercise_bulgarian_lunge"]


@pytest.mark.parametrize(
    "text,values",
    [
        ("the last one", ["last"]),
        ("number four", ["4"]),
        ("NUMBER FOUR PLEASE", ["4"]),
        ("more about the second", ["2"]),
        ("the 3rd", ["3"]),
        ("option 2", ["2"]),
        ("that one", []),
        ("no one helps", []),
        ("i fell last week", []),
        ("at last", []),
        ("x² and ³", []),
        ("number ٣", []),  # a decimal digit, but not ASCII: not an offered position
    ],
)
def test_find_ordinals(text, values):
    assert [v for _, _, v in find_ordinals(text)] == values


def test_ordinal_value_never_crashes_on_superscripts():
    assert ordinal_value("²") is None
    assert ordinal_value("0") is None
    assert ordinal_value("#2") == "2"


def ordinal(value):
    return [{"entity": "ordinal", "value": value}]


@pytest.mark.parametrize(
    "text,entities,expected",
    [
        ("the last one", ordinal("last"), "exercise_bulgarian_lunge"),
        ("number four", ordinal("4"), "exercise_bulgarian_lunge"),
        ("more about the second", ordinal("2"), "exercise_crab_steps"),
        ("number nine", ordinal("9"), None),
        ("what about crab walks?", [{"entity": "exercise", "value": "crab_steps"}], "exercise_crab_steps"),
        ("what about surgery?", [{"entity": "treatment", "value": "surgery"}], "surgery"),
        ("the last one", [], "exercise_bulgarian_lunge"),  # parsed from the text when no entity came
        ("that one", [], None),  # four offered: which one?
    ],
)
def test_resolve_followup(text, entities, expected):
    assert resolve_followup(text, entities, EXERCISES, last_topic="exercises") == expected


def test_that_one_with_a_single_offer():
    assert resolve_followup("that one", [], ["physiotherapy"], last_topic="self_care") == "physiotherapy"


def test_the_other_one_means_the_other_of_the_pair_just_picked_from():
    assert (
        resolve_followup("the other one", [], ["x", "y", "z"], "surgery", picked_from=["surgery", "injections"])
        == "injections"
    )
    assert resolve_followup("the other one", [], ["a", "b"], last_topic="c") == "b"
    assert resolve_followup("the other one", [], EXERCISES, last_topic="exercises") is None


def test_next_one_is_the_next_of_the_list_the_last_answer_was_picked_from():
    picked = ["exercise_hip_drop", "exercise_crab_steps", "exercise_trx_lunge"]
    offered = ["exercise_crab_steps", "exercises", "physiotherapy"]  # the hip drop's own follow-ups
    assert resolve_followup("next one", [], offered, "exercise_hip_drop", picked_from=picked) == "exercise_crab_steps"
    assert resolve_followup("and the one after that", [], [], "exercise_crab_steps", picked) == "exercise_trx_lunge"
    assert resolve_followup("next one", [], offered, "exercise_trx_lunge", picked_from=picked) is None  # the end
    assert resolve_followup("next one", [], offered, "exercises", picked_from=picked) is None  # not from a list


def test_go_back_is_the_topic_answered_before_the_last_one():
    assert resolve_followup("go back", [], ["a", "b"], "causes", previous_topic="prevention") == "prevention"
    assert resolve_followup("go back to the one before", [], [], "causes", previous_topic="prevention") == "prevention"
    assert resolve_followup("the previous one", [], [], "causes", previous_topic=None) is None
    assert resolve_followup("go back to the list", [], [], "causes", previous_topic="prevention") is None


def test_the_middle_one_of_an_odd_number_offered():
    from assistant.followups import find_ordinals, resolve_followup

    assert [v for _, _, v in find_ordinals("the middle one")] == ["middle"]
    assert find_ordinals("in the middle of the night") == []
    assert resolve_followup("the middle one", [], ["a", "b", "c"]) == "b"
    assert resolve_followup("the middle one", [], ["a", "b", "c", "d"]) is None  # ask which


def test_more_on_that_one_right_after_an_answer_is_that_answer():
    offered = ["exercise_hip_drop", "exercise_crab_steps", "exercises"]
    assert resolve_followup("more on that one please", [], offered, last_topic="trendelenburg") == "trendelenburg"
    assert resolve_followup("that one", [], offered, last_topic="trendelenburg") is None  # which of three?


def test_the_other_lunge_is_the_other_of_the_two_lunges_even_with_one_named():
    trx = [{"entity": "exercise", "value": "trx_lunge", "start": 13, "end": 16}]
    assert (
        resolve_followup(
            "I don't have a TRX, what about the other lunge?", trx, ["exercise_hip_drop"], "exercise_trx_lunge"
        )
        == "exercise_bulgarian_lunge"
    )
    assert resolve_followup("the other lunge", [], [], "exercise_bulgarian_lunge") == "exercise_trx_lunge"
    # no lunge answered yet: which of the two is not clear
    assert resolve_followup("the other lunge", [], [], "exercises") is None


@pytest.mark.parametrize(
    "text,expected",
    [
        ("The standing on one leg one. How do I do it", "exercise_hip_drop"),
        ("the one with the band round your knees", "exercise_crab_steps"),
        ("that one where you put your foot up on a step", "exercise_bulgarian_lunge"),
        ("that one", None),  # four offered: which one is not said
        ("my one leg is sore when I stand", None),  # "one leg" is no "the ... one"
        ("the one with a kettlebell", None),  # nothing offered is like that
    ],
)
def test_the_one_described_by_what_it_is_like(text, expected, catalogue):
    assert described_option(text, EXERCISES, catalogue.description) == expected


def test_the_classifiers_own_topic_is_kept_when_it_fits_the_words_as_well(catalogue):
    offered = ["exercise_hip_drop", "exercises", "physiotherapy"]  # after the Bulgarian lunge
    text = "how do i do the one with the band round your knees"
    assert described_option(text, offered, catalogue.description, "exercise_crab_steps", catalogue.follow_ups) is None


def test_an_offered_option_beats_an_unoffered_topic_that_fits_as_well(catalogue):
    text = "The standing on one leg one. How do I do it"  # right after the exercise list
    assert described_option(text, EXERCISES, catalogue.description, incumbent="trendelenburg") == "exercise_hip_drop"


@pytest.mark.parametrize(
    "text,expected",
    [
        ("and how do I do that?", True),
        ("how should I do it", True),
        ("how do you do them", True),
        ("how do I book", False),
        ("what is that", False),
    ],
)
def test_how_do_i_do_that(text, expected):
    assert asks_how_to_do_it(text) is expected

"""How a question is phrased around it (assistant/phrasing.py): an opening acknowledgement,
something already tried before the question, and the articles' own words."""

import pytest

from assistant.phrasing import ARTICLE_TERM, acknowledged_question, after_tried, tried_question
from assistant.topics import resolve_topic


@pytest.mark.parametrize(
    "text, rest",
    [
        ("thanks. does ice help?", "does ice help?"),
        ("Thank you dear. And what does it do", "what does it do"),
        ("ok and what does it do exactly", "what does it do exactly"),
        ("ta, what about surgery", "what about surgery"),
        ("ok tell me more", "tell me more"),
    ],
)
def test_an_acknowledgement_then_a_question_asks_the_question(text, rest):
    assert acknowledged_question(text) == rest


@pytest.mark.parametrize(
    "text",
    [
        "thank you, I'll ring my GP",
        "THANK YOU I WILL ASK THE DOCTOR",
        "ok",
        "thanks so much",
        "Thank you. Goodbye.",
        "kind of sore on the side",
        "yes please tell me more",
        "no, what about injections?",
    ],
)
def test_thanks_alone_or_yes_no_is_left_as_it_is(text):
    assert acknowledged_question(text) == ""


def test_the_question_after_what_was_tried():
    text = "done rest and ice for 3 weeks and its still sore, what other treatments are there"
    clause, at = tried_question(text)
    assert clause == "what other treatments are there" and text[at:].startswith(clause)
    assert after_tried("done rest and ice for two months and no better - whats next") == "whats next"
    assert after_tried("tried physio, and it helped a bit") == ""
    assert after_tried("what exercises have you tried?") == ""
    assert after_tried("not sure if I'm doing it right, can you describe the steps?") == ""


def test_a_tried_treatment_does_not_narrow_the_topic():
    text = "done rest and ice for 3 weeks and its still sore, what other treatments are there"
    ice = {"entity": "treatment", "value": "ice", "start": text.index("ice")}
    assert resolve_topic("treatment", [ice], text) == "treatment"
    asked = "what about ice?"
    assert resolve_topic("treatment", [{"entity": "treatment", "value": "ice", "start": 11}], asked) == "self_care"


def test_article_terms():
    assert ARTICLE_TERM.search("his hands are bad. What is sciatica exactly?")
    assert not ARTICLE_TERM.search("my shoulder has ached for weeks")

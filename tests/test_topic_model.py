"""The topic head (assistant/topic_model.py) on small, fixed training data."""

import pickle

import pytest

from assistant import topic_model

TRAIN = {
    "causes": ["what causes hip pain", "why does my hip hurt", "what causes glute pain", "reason for bum pain"],
    "exercises": ["what exercises help", "which exercises should i do", "show me exercises", "exercise for glutes"],
    "greet": ["hi", "hello", "hey there", "good morning"],
    "out_of_scope": ["what's the weather", "tell me a joke", "who won the football", "recipe for soup"],
}


@pytest.fixture(scope="module")
def model():
    texts = [t for examples in TRAIN.values() for t in examples]
    labels = [label for label, examples in TRAIN.items() for _ in examples]
    return topic_model.train(texts, labels, content_labels=("causes", "exercises"))


def test_ranks_every_label_confidences_sum_to_one(model):
    (ranking,) = model.rank(["what causes my hip to hurt"])
    assert ranking[0][0] == "causes"
    assert {label for label, _ in ranking} == set(TRAIN)
    assert sum(c for _, c in ranking) == pytest.approx(1.0)
    assert [c for _, c in ranking] == sorted((c for _, c in ranking), reverse=True)


def test_typos_and_case_still_rank_the_topic(model):
    assert [r[0][0] for r in model.rank(["WHAT EXCERSISES HELP", "wat causes hip pian"])] == ["exercises", "causes"]


def test_no_content_word_scales_content_topics_down(model):
    (vague,) = model.rank(["what about it"])
    (clear,) = model.rank(["what about exercises"])
    content = {label: c for label, c in vague if label in ("causes", "exercises")}
    assert max(content.values()) <= topic_model.DEFAULTS["no_content_scale"]
    assert clear[0][0] == "exercises" and clear[0][1] > max(content.values())


def test_conversation_labels_are_not_scaled(model):
    (ranking,) = model.rank(["hi"])
    assert ranking[0][0] == "greet" and ranking[0][1] > 0.5


def test_long_message_question_sentence_is_scored_too():
    story = (
        "I am fifty two and I work in a warehouse lifting boxes all day long. "
        "My weekends are spent walking the dog and gardening for hours in the sun. "
        "Last month I started a new job with even more lifting and carrying. "
        "Which exercises should I do?"
    )
    focus = topic_model.focus_texts(story, 20)
    assert focus == ["Which exercises should I do?"]
    assert topic_model.focus_texts("which exercises should i do?", 20) == []
    assert topic_model.focus_texts("one sentence only but long " * 10, 20) == []


def test_empty_input_and_pickle_round_trip(model):
    assert model.rank([]) == []
    again = pickle.loads(pickle.dumps(model))
    assert again.rank(["hello"])[0][0][0] == "greet"


def test_needs_two_labels():
    with pytest.raises(ValueError):
        topic_model.train(["a", "b"], ["x", "x"])


def test_text_speak_variant_is_learnt():
    assert topic_model.text_speak("What can you do for your hip?") == "wat can u do 4 ur hip?"
    assert topic_model.text_speak("hip pain") == ""
    texts = ["what can you do", "what are you", "tell me about exercises", "which exercises help"]
    labels = ["capabilities", "capabilities", "exercises", "exercises"]
    with_variants = topic_model.train(texts, labels, {"text_speak": True})
    assert with_variants.rank(["wat can u do"])[0][0][0] == "capabilities"


def test_no_letters_at_all_is_unclear(model):
    (ranking,) = model.rank(["???"])
    scaled = {label: c for label, c in ranking if label in ("causes", "exercises")}
    assert max(scaled.values()) <= topic_model.DEFAULTS["no_content_scale"]


def test_a_confident_question_of_function_words_is_kept():
    texts = ["what does it do", "what does the muscle do", "what is its job", "hello", "hi there", "hey"]
    labels = ["function", "function", "function", "greet", "greet", "greet"]
    model = topic_model.train(texts, labels, content_labels=("function",))
    (ranking,) = model.rank(["what does it do?"])
    assert ranking[0][0] == "function" and ranking[0][1] >= topic_model.DEFAULTS["no_content_confidence"]


def test_a_letter_typed_three_times_counts_once():
    """ "hiii", "heyyy", "pleeease" are the words they stretch; doubled letters stay."""
    assert topic_model.normalise("Hiii ther") == "hi ther"
    assert topic_model.normalise("pleeease HELP soooo sore") == "please help so sore"
    assert topic_model.normalise("a committee of three") == "a committee of three"

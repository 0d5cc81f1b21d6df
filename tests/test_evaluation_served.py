"""The held-out v2 figures and the REST turn summary of the evaluation tool (no server needed)."""

import pytest

from evaluation import heldout, report_served, served, served_sets
from evaluation.baselines import build_baseline

CONTENT = ("symptoms", "exercises", "exercise_crab_steps")


def turn(topics, escalation="routine", flags=(), check=None):
    return {"topics": list(topics), "escalation": escalation, "flags": list(flags), "check": check}


def msg(topic, escalation="routine", **extra):
    custom = {"topic": topic, "escalation": escalation, "content_version": "1", **extra}
    if topic in CONTENT:
        custom.setdefault("sources", [{"title": "t", "publisher": "p"}])
    return {"text": "x", "custom": custom}


def test_load_items_accepts_a_list_or_a_mapping_with_one_list(tmp_path):
    (tmp_path / "a.yml").write_text("- {text: a}\n")
    (tmp_path / "b.yml").write_text("version: 1\nexamples:\n  - {text: b}\n")
    (tmp_path / "c.yml").write_text("one: [{text: a}]\ntwo: [{text: b}]\n")
    assert heldout.load_items(tmp_path / "a.yml") == [{"text": "a"}]
    assert heldout.load_items(tmp_path / "b.yml") == [{"text": "b"}]
    with pytest.raises(ValueError):
        heldout.load_items(tmp_path / "c.yml")


def test_unseen_filter_ignores_case_and_spacing_only():
    items = [{"text": "Crab  Steps?"}, {"text": "crab steps"}, {"text": "new one"}]
    unseen, dropped = heldout.split_unseen(items, ["crab steps?", "CRAB STEPS"])
    assert dropped == 2 and unseen == [{"text": "new one"}]


def test_answer_topic_is_the_question_after_a_red_flag_warning():
    assert heldout.answer_topic(turn(["red_flag", "symptoms"], "emergency")) == "symptoms"
    assert heldout.answer_topic(turn(["red_flag"], "urgent")) == "red_flag"
    assert heldout.answer_topic(turn([])) is None
    assert heldout.topic_right(["exercises", "exercise_crab_steps"], turn(["exercise_crab_steps"]))
    assert heldout.topic_right("red_flag", turn(["red_flag", "symptoms"], "emergency"))
    assert not heldout.topic_right("symptoms", turn(["clarify"], "none"))


def test_topic_figures_per_category_against_the_baseline():
    items = [
        {"text": "a", "topic": "symptoms", "category": "caps"},
        {"text": "b", "topic": ["exercises", "exercise_crab_steps"], "category": "caps"},
        {"text": "c", "topic": "symptoms", "category": "negated"},
    ]
    turns = [turn(["symptoms"]), turn(["clarify"], "none"), turn(["red_flag", "symptoms"], "urgent")]
    figures = heldout.topic_figures(items, turns, ["symptoms", "exercises", "sitting"])
    assert figures["served"]["caps"] == {"n": 2, "right": 1, "accuracy": 0.5}
    assert figures["served"]["all"]["accuracy"] == pytest.approx(2 / 3)
    assert figures["tfidf"]["negated"]["accuracy"] == 0.0
    assert figures["tfidf"]["all"]["right"] == 2
    assert figures["escalated"] == 1
    with pytest.raises(ValueError):
        heldout.topic_figures(items, turns, [])


def test_red_flag_figures_tiers_categories_checks_and_false_alarms():
    items = [
        {"text": "a", "expect": "emergency", "flag": "saddle_numbness", "category": "misspelled"},
        {"text": "b", "expect": "emergency", "flag": "bladder_bowel", "category": "plain"},
        {"text": "c", "expect": "urgent", "flag": ["infection"], "category": "misspelled"},
        {"text": "d", "expect": "none", "flag": None, "category": "negated"},
        {"text": "e", "expect": "none", "category": "negated"},
    ]
    turns = [
        turn(["red_flag"], "emergency", ["saddle_numbness"]),
        turn(["symptoms"], "routine", check={"flag": "bladder_bowel"}),
        turn(["red_flag"], "emergency", ["cauda"]),
        turn(["symptoms"], "urgent", ["infection"]),
        turn(["symptoms"]),
    ]
    f = heldout.red_flag_figures(items, turns)
    assert f["tiers"]["emergency"] == {"n": 2, "found": 1, "recall": 0.5, "exact": 1, "checked_only": 1}
    assert f["tiers"]["urgent"]["recall"] == 1.0 and f["tiers"]["urgent"]["exact"] == 0  # over-escalated
    assert f["recall_by_category"]["misspelled"]["accuracy"] == 1.0
    assert f["recall_by_category"]["plain"]["accuracy"] == 0.0
    assert (f["flags_found"], f["flags_expected"]) == (1, 3)
    assert (f["false_alarms"], f["none_cases"], f["false_alarm_rate"]) == (1, 2, 0.5)


def test_conversation_figures():
    conversations = [
        {
            "name": "a",
            "turns": [
                {"user": "hi", "topic": "greet", "escalation": "none"},
                {"user": "x", "topic": "symptoms", "escalation": "routine"},
            ],
        },
        {
            "name": "b",
            "turns": [
                {"user": "y", "topic": "exercises"},
                {"user": "z", "topic": ["red_flag"], "escalation": "emergency"},
            ],
        },
    ]
    served_turns = [
        [turn(["greet"], "none"), turn(["symptoms"], "routine")],
        [turn(["exercises"]), turn(["red_flag", "exercises"], "urgent", ["infection"])],
    ]
    f = heldout.conversation_figures(conversations, served_turns)
    assert (f["turns_right"], f["turns"], f["conversations_right"]) == (3, 4, 1)
    assert (f["red_flag_turns"], f["red_flag_turns_escalated"]) == (1, 0)
    assert (f["quiet_turns"], f["quiet_turn_false_alarms"]) == (2, 0)
    with pytest.raises(ValueError):
        heldout.conversation_figures(conversations, [served_turns[0], served_turns[1][:1]])


def test_turn_summary_takes_the_highest_escalation_and_all_flags():
    messages = [msg("red_flag", "emergency", flags=["saddle_numbness"]), msg("symptoms"), {"text": "more"}]
    t = served.summarise_turn(messages, CONTENT)
    assert t["topics"] == ["red_flag", "symptoms"] and t["escalation"] == "emergency"
    assert t["flags"] == ["saddle_numbness"] and t["violations"] == [] and t["check"] is None
    checked = served.summarise_turn([msg("symptoms", check={"flag": "saddle_numbness"})], CONTENT)
    assert checked["check"] == {"flag": "saddle_numbness"} and not served.escalated(checked)


@pytest.mark.parametrize(
    "messages,violation",
    [
        ([], "empty turn"),
        ([{"text": "hello"}], "no custom payload"),
        ([msg("horoscope")], "unknown or missing topic"),
        ([msg("greet", "calm")], "unknown or missing escalation"),
        (
            [{"custom": {"topic": "symptoms", "escalation": "routine", "content_version": "1"}}],
            "content topic without sources",
        ),
        ([msg("red_flag", "urgent")], "red_flag without flags"),
        ([{"custom": {"topic": "greet", "escalation": "none"}}], "no content_version"),
    ],
)
def test_contract_violations(messages, violation):
    assert violation in served.contract_violations(messages, CONTENT)


def test_intent_topic_maps_conversation_intents_and_leaves_follow_ups_out():
    assert served_sets.intent_topic("symptoms") == "symptoms"
    assert served_sets.intent_topic("other_body_part") == "out_of_scope"
    assert served_sets.intent_topic("tell_me_more") is None


def test_v1_files_become_v2_items(tmp_path):
    path = tmp_path / "rf.yml"
    path.write_text("cases:\n  - {text: a, expect: urgent, flags: [infection]}\n  - {text: b, expect: none}\n")
    items = served_sets.load_set("red_flags_v1", path)
    assert items[0] == {"text": "a", "expect": "urgent", "flag": ["infection"], "category": "v1 (all)"}
    assert items[1]["flag"] is None


def test_report_section_shows_figures_and_no_held_out_text():
    items = [{"text": "SECRET MESSAGE", "topic": "symptoms", "category": "caps"}]
    figures = heldout.topic_figures(items, [turn(["symptoms"])], ["sitting"])
    rf = heldout.red_flag_figures([{"text": "SECRET FLAG", "expect": "urgent", "category": "c"}], [turn(["x"])])
    conv = heldout.conversation_figures([{"turns": [{"user": "SECRET", "topic": "greet"}]}], [[turn(["greet"])]])
    contract = {"turns": 1, "turns_violating": 0, "violations": {}}
    sets = {
        "nlu_v2.yml": {
            "kind": "nlu",
            "file": "evaluation/holdout/nlu_v2.yml",
            "total": 3,
            "dropped_seen": 2,
            "contract": contract,
            "latency": {"p50_ms": 1, "p95_ms": 2},
            **figures,
        },
        "red_flags_v2.yml": {
            "kind": "red_flags",
            "file": "r",
            "total": 1,
            "dropped_seen": 0,
            "contract": contract,
            **rf,
        },
        "conversations_v2.yml": {"kind": "conversations", "file": "c", "contract": contract, **conv},
    }
    summary = {
        "steps": {
            "served": {"status": "ok", "result": {"served_by": "u", "messages": 3, "train_examples": 10, "sets": sets}}
        }
    }
    text = report_served.render_served(summary)
    assert "| caps | 1 | 1.000 | 0.000 | +1.000 |" in text
    assert "3 messages; 2 also occur in the training data" in text
    assert "| urgent | 1 | 0 | 0.000 | 0 | 0 |" in text
    assert "| turns right (topic and escalation as expected) | 1.000 (1/1) |" in text
    assert "SECRET" not in text
    assert len(report_served.served_headline(summary)) == 3
    assert report_served.render_served({"steps": {}}) == ""


def test_baseline_is_fitted_once_and_predicts_intents():
    model = build_baseline().fit(["what are the symptoms", "show me exercises"], ["symptoms", "exercises"])
    assert list(model.predict(["symptoms please"])) == ["symptoms"]

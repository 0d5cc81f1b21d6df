"""Every custom action: events returned and messages dispatched, checked against the reply contract."""

import re

import pytest

from actions import actions as A
from assistant.topics import CONTENT_TOPICS
from tests.conftest import VALID_TIERS, customs

ACTIONS = {
    cls().name(): cls
    for cls in vars(A).values()
    if isinstance(cls, type) and issubclass(cls, A.Action) and cls not in (A.Action, A.ReplyAction, A.SmallTalkAction)
}


def run(action_cls, tracker, dispatcher, domain):
    events = action_cls().run(dispatcher, tracker, domain)
    return events, dispatcher.messages


def slot(events, name):
    values = [e["value"] for e in events if e.get("event") == "slot" and e.get("name") == name]
    return values[-1] if values else None


def test_every_domain_action_is_implemented(domain):
    assert set(domain["actions"]) == set(ACTIONS)


@pytest.mark.parametrize("name", sorted(ACTIONS))
def test_every_action_turn_carries_the_contract(name, make_tracker, dispatcher, domain):
    intent = {"action_answer_topic": "symptoms", "action_red_flag": "red_flag"}.get(name, "greet")
    _, messages = run(ACTIONS[name], make_tracker(intent), dispatcher, domain)
    payloads = customs(messages)
    assert payloads, f"{name} sent no custom payload"
    for payload in payloads:
        assert payload["topic"]
        assert payload["escalation"] in VALID_TIERS
        assert re.fullmatch(r"\d{4}\.\d{1,2}\.\d+", payload["content_version"])


@pytest.mark.parametrize("topic", CONTENT_TOPICS)
def test_answer_topic(topic, make_tracker, dispatcher, domain, catalogue):
    events, messages = run(A.ActionAnswerTopic, make_tracker(topic), dispatcher, domain)
    payload = customs(messages)[0]
    assert payload["topic"] == topic
    assert payload["escalation"] == "routine"
    assert payload["sources"] and all(s["title"] and s["publisher"] for s in payload["sources"])
    assert messages[0]["text"].startswith(catalogue.topic(topic).answer[:40])
    # the routine see-a-clinician line with the clinic's booking details
    assert any("See a GP or physiotherapist" in (m.get("text") or "") and "03 5550 0000" in m["text"] for m in messages)
    # follow-ups are buttons that ask for other topics
    payloads = [b["payload"] for b in messages[0]["buttons"]]
    assert all(p == "/tell_me_more" or p.lstrip("/") in CONTENT_TOPICS for p in payloads)
    assert slot(events, "last_topic") == topic


def test_exercise_entity_sharpens_a_general_question(make_tracker, dispatcher, domain):
    tracker = make_tracker("exercises", entities=[{"entity": "exercise", "value": "crab_steps"}])
    events, messages = run(A.ActionAnswerTopic, tracker, dispatcher, domain)
    assert customs(messages)[0]["topic"] == "exercise_crab_steps"
    assert "1." in messages[0]["text"]  # step by step


def test_treatment_entity_sharpens_the_overview(make_tracker, dispatcher, domain):
    tracker = make_tracker("treatment", entities=[{"entity": "treatment", "value": "prp"}])
    _, messages = run(A.ActionAnswerTopic, tracker, dispatcher, domain)
    assert customs(messages)[0]["topic"] == "regenerative"


def test_exercises_offers_each_exercise(make_tracker, dispatcher, domain):
    events, messages = run(A.ActionAnswerTopic, make_tracker("exercises"), dispatcher, domain)
    payloads = [b["payload"] for b in messages[0]["buttons"]]
    for exercise in ("exercise_hip_drop", "exercise_crab_steps", "exercise_trx_lunge", "exercise_bulgarian_lunge"):
        assert f"/{exercise}" in payloads
    assert slot(events, "offered")[:4] == [
        "exercise_hip_drop",
        "exercise_crab_steps",
        "exercise_trx_lunge",
        "exercise_bulgarian_lunge",
    ]


def test_tell_me_more_gives_the_deeper_text(make_tracker, dispatcher, domain, catalogue):
    tracker = make_tracker("tell_me_more", slots={"last_topic": "gluteus_medius"})
    _, messages = run(A.ActionTellMeMore, tracker, dispatcher, domain)
    assert messages[0]["text"] == catalogue.topic("gluteus_medius").more
    assert customs(messages)[0]["topic"] == "gluteus_medius"
    assert customs(messages)[0]["depth"] == "more"


@pytest.mark.parametrize("text", ["ok", "Okay.", "ok got it", "alright", "oh ok"])
def test_a_bare_ok_after_an_answer_acknowledges_it(text, make_tracker, dispatcher, domain, catalogue):
    tracker = make_tracker(
        "affirm", slots={"last_topic": "gluteus_medius", "last_reply_topic": "gluteus_medius"}, text=text
    )
    _, messages = run(A.ActionAffirm, tracker, dispatcher, domain)
    assert messages[0]["text"] == catalogue.say("acknowledged")
    assert customs(messages)[0]["escalation"] == "none" and "depth" not in customs(messages)[0]
    assert messages[0]["buttons"], "the menu is offered"


@pytest.mark.parametrize("text", ["yes please", "yes", "sure"])
def test_yes_please_after_an_answer_still_gives_more(text, make_tracker, dispatcher, domain):
    tracker = make_tracker(
        "affirm", slots={"last_topic": "gluteus_medius", "last_reply_topic": "gluteus_medius"}, text=text
    )
    _, messages = run(A.ActionAffirm, tracker, dispatcher, domain)
    assert customs(messages)[0]["depth"] == "more"


def test_how_do_i_do_that_right_after_an_exercise_is_its_how_to(make_tracker, dispatcher, domain):
    tracker = make_tracker("nlu_fallback", slots={"last_topic": "exercise_hip_drop"}, text="and how do I do that?")
    _, messages = run(A.ActionClarify, tracker, dispatcher, domain)
    assert customs(messages)[0]["topic"] == "exercise_hip_drop"


def test_yes_to_anything_else_asks_what(make_tracker, dispatcher, domain, catalogue):
    tracker = make_tracker("affirm", slots={"last_topic": "consequences", "last_reply_topic": "thanks"}, text="yes")
    _, messages = run(A.ActionAffirm, tracker, dispatcher, domain)
    assert messages[0]["text"] == catalogue.say("what_next")
    assert customs(messages)[0]["topic"] == "capabilities" and customs(messages)[0]["escalation"] == "none"


def test_no_to_anything_else_says_goodbye(make_tracker, dispatcher, domain, catalogue):
    tracker = make_tracker("deny", slots={"last_topic": "consequences", "last_reply_topic": "thanks"}, text="no")
    _, messages = run(A.ActionAnythingElse, tracker, dispatcher, domain)
    assert customs(messages)[0]["topic"] == "goodbye"
    assert messages[0]["text"] == catalogue.say("goodbye")


def test_tell_me_more_without_a_topic_asks_which(make_tracker, dispatcher, domain):
    _, messages = run(A.ActionTellMeMore, make_tracker("tell_me_more"), dispatcher, domain)
    assert customs(messages)[0]["topic"] == "clarify"
    assert messages[0]["buttons"]


def test_tell_me_more_where_the_article_has_no_more(make_tracker, dispatcher, domain, catalogue):
    topic = next(t for t in CONTENT_TOPICS if not catalogue.topic(t).more)
    tracker = make_tracker("tell_me_more", slots={"last_topic": topic})
    _, messages = run(A.ActionTellMeMore, tracker, dispatcher, domain)
    assert "everything" in messages[0]["text"]
    assert customs(messages)[0]["topic"] == topic


@pytest.mark.parametrize(
    "ordinal,expected", [("1", "exercise_hip_drop"), ("2", "exercise_crab_steps"), ("4", "exercise_bulgarian_lunge")]
)
def test_choose_option_picks_from_the_offered_follow_ups(ordinal, expected, make_tracker, dispatcher, domain):
    offered = ["exercise_hip_drop", "exercise_crab_steps", "exercise_trx_lunge", "exercise_bulgarian_lunge"]
    tracker = make_tracker(
        "choose_option", entities=[{"entity": "ordinal", "value": ordinal}], slots={"offered": offered}
    )
    _, messages = run(A.ActionChooseOption, tracker, dispatcher, domain)
    assert customs(messages)[0]["topic"] == expected


def test_a_new_topic_keeps_the_one_before_for_go_back(make_tracker, dispatcher, domain):
    tracker = make_tracker("causes", slots={"last_topic": "prevention"})
    events, _ = run(A.ActionAnswerTopic, tracker, dispatcher, domain)
    assert slot(events, "last_topic") == "causes" and slot(events, "previous_topic") == "prevention"
    dispatcher.messages.clear()
    tracker = make_tracker(
        "choose_option", text="go back", slots={"last_topic": "causes", "previous_topic": "prevention"}
    )
    _, messages = run(A.ActionChooseOption, tracker, dispatcher, domain)
    assert customs(messages)[0]["topic"] == "prevention"


def test_next_one_after_an_exercise_named_from_the_list(make_tracker, dispatcher, domain):
    listed = ["exercise_hip_drop", "exercise_crab_steps", "exercise_trx_lunge", "exercise_bulgarian_lunge"]
    tracker = make_tracker("exercise_hip_drop", text="hip drops", slots={"last_topic": "exercises", "offered": listed})
    events, _ = run(A.ActionAnswerTopic, tracker, dispatcher, domain)
    assert slot(events, "choices") == listed
    dispatcher.messages.clear()
    tracker = make_tracker(
        "choose_option", text="next one", slots={"last_topic": "exercise_hip_drop", "choices": listed}
    )
    events, messages = run(A.ActionChooseOption, tracker, dispatcher, domain)
    assert customs(messages)[0]["topic"] == "exercise_crab_steps"
    assert slot(events, "choices") is None  # still working through the same list
    dispatcher.messages.clear()
    tracker = make_tracker(
        "choose_option", text="and the one after that", slots={"last_topic": "exercise_crab_steps", "choices": listed}
    )
    _, messages = run(A.ActionChooseOption, tracker, dispatcher, domain)
    assert customs(messages)[0]["topic"] == "exercise_trx_lunge"


def test_next_exercise_after_one_asked_for_by_name_is_the_next_of_the_exercise_list(
    make_tracker, dispatcher, domain, catalogue
):
    listed = list(catalogue.follow_ups("exercises"))
    tracker = make_tracker("choose_option", text="next exercise", slots={"last_topic": listed[0]})
    events, messages = run(A.ActionChooseOption, tracker, dispatcher, domain)
    assert customs(messages)[0]["topic"] == listed[1]
    assert slot(events, "choices") == listed  # "and the one after that" goes on down the list


def test_choose_option_out_of_range_offers_the_choices(make_tracker, dispatcher, domain):
    tracker = make_tracker(
        "choose_option", entities=[{"entity": "ordinal", "value": "4"}], slots={"offered": ["surgery", "injections"]}
    )
    _, messages = run(A.ActionChooseOption, tracker, dispatcher, domain)
    assert customs(messages)[0]["topic"] == "clarify"
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/surgery", "/injections"]


def test_affirm_after_an_answer_gives_more(make_tracker, dispatcher, domain):
    tracker = make_tracker("affirm", slots={"last_topic": "gluteus_medius"})
    _, messages = run(A.ActionAffirm, tracker, dispatcher, domain)
    assert customs(messages)[0]["depth"] == "more"


EMERGENCY = {
    "flag": "saddle_numbness",
    "tier": "emergency",
    "watch_for": "numbness between your legs or around your bottom",
}
URGENT = {"flag": "weight_loss", "tier": "urgent", "watch_for": "weight loss without trying, or night sweats"}


def test_red_flag_emergency_comes_first_with_the_numbers(make_tracker, dispatcher, domain):
    _, messages = run(A.ActionRedFlag, make_tracker("red_flag", red_flags=[EMERGENCY]), dispatcher, domain)
    first = messages[0]
    assert first["custom"]["topic"] == "red_flag"
    assert first["custom"]["escalation"] == "emergency"
    assert first["custom"]["flags"] == ["saddle_numbness"]
    assert first["text"].startswith("Call 000 or go to the emergency department now")
    assert "numbness between your legs" in first["text"]
    assert not first.get("buttons"), "a red flag is never hidden behind a button"


def test_red_flag_urgent_wording(make_tracker, dispatcher, domain):
    _, messages = run(A.ActionRedFlag, make_tracker("red_flag", red_flags=[URGENT]), dispatcher, domain)
    assert messages[0]["custom"]["escalation"] == "urgent"
    assert messages[0]["text"].startswith(
        "Please see a doctor today. If you cannot get an appointment, call healthdirect"
    )


def test_mixed_tiers_escalate_to_the_highest(make_tracker, dispatcher, domain):
    _, messages = run(A.ActionRedFlag, make_tracker("red_flag", red_flags=[URGENT, EMERGENCY]), dispatcher, domain)
    assert messages[0]["custom"]["escalation"] == "emergency"
    assert set(messages[0]["custom"]["flags"]) == {"weight_loss", "saddle_numbness"}


@pytest.mark.parametrize(
    "ranking",
    [
        [{"name": "red_flag", "confidence": 1.0}, {"name": "exercises", "confidence": 0.8}],
        [
            {"name": "red_flag", "confidence": 1.0},
            {"name": "exercises", "confidence": 0.003},
            {"name": "symptoms", "confidence": 0.0005},
        ],
    ],
)
def test_red_flag_then_the_question_that_came_with_it(ranking, make_tracker, dispatcher, domain):
    text = "my bum is numb down there, what exercises help?"
    tracker = make_tracker("red_flag", red_flags=[EMERGENCY], ranking=ranking, text=text)
    _, messages = run(A.ActionRedFlag, tracker, dispatcher, domain)
    topics = [c["topic"] for c in customs(messages)]
    assert topics[:2] == ["red_flag", "exercises"]


@pytest.mark.parametrize(
    "text,ranking",
    [
        (
            "I fell and now I can't stand up",
            [
                {"name": "red_flag", "confidence": 1.0},
                {"name": "exercises", "confidence": 0.05},
                {"name": "symptoms", "confidence": 0.01},
            ],
        ),
        (
            "numb down there, what should I know",
            [
                {"name": "red_flag", "confidence": 1.0},
                {"name": "exercises", "confidence": 0.3},
                {"name": "symptoms", "confidence": 0.3},
                {"name": "causes", "confidence": 0.2},
            ],
        ),
        (
            "hello, I can't feel my legs, can you help",
            [
                {"name": "red_flag", "confidence": 1.0},
                {"name": "greet", "confidence": 0.6},
                {"name": "exercises", "confidence": 0.3},
            ],
        ),
    ],
)
def test_red_flag_unsure_question_is_not_answered(text, ranking, make_tracker, dispatcher, domain):
    tracker = make_tracker("red_flag", red_flags=[EMERGENCY], ranking=ranking, text=text)
    _, messages = run(A.ActionRedFlag, tracker, dispatcher, domain)
    assert [c["topic"] for c in customs(messages)] == ["red_flag"]


def test_unconfigured_clinic_never_invents_a_number(unconfigured_clinic, make_tracker, dispatcher, domain):
    _, messages = run(A.ActionRedFlag, make_tracker("red_flag", red_flags=[EMERGENCY]), dispatcher, domain)
    text = messages[0]["text"]
    assert "your local emergency number" in text
    assert not re.search(r"\d{3}", text)


def test_hypothetical_mention_adds_the_safety_net(make_tracker, dispatcher, domain):
    tracker = make_tracker("symptoms", red_flag_mention="hypothetical")
    _, messages = run(A.ActionAnswerTopic, tracker, dispatcher, domain)
    assert any("call 000" in (m.get("text") or "") for m in messages)
    assert all(c["escalation"] == "routine" for c in customs(messages))


def test_disclaimer_once_per_conversation(make_tracker, domain, dispatcher):
    events, messages = run(A.ActionGreet, make_tracker("greet"), dispatcher, domain)
    assert any("not a doctor" in (m.get("text") or "") for m in messages)
    assert slot(events, "disclaimer_shown") is True
    from rasa_sdk.executor import CollectingDispatcher

    second = CollectingDispatcher()
    A.ActionGreet().run(second, make_tracker("greet", slots={"disclaimer_shown": True}), domain)
    assert not any("not a doctor" in (m.get("text") or "") for m in second.messages)


def test_disclaimer_comes_after_a_red_flag(make_tracker, dispatcher, domain):
    _, messages = run(A.ActionRedFlag, make_tracker("red_flag", red_flags=[EMERGENCY]), dispatcher, domain)
    assert messages[0]["custom"]["topic"] == "red_flag"
    assert "not a doctor" in messages[-1]["text"]


def test_clarify_offers_the_likely_topics(make_tracker, dispatcher, domain):
    ranking = [
        {"name": "nlu_fallback", "confidence": 0.4},
        {"name": "surgery", "confidence": 0.3},
        {"name": "injections", "confidence": 0.25},
        {"name": "greet", "confidence": 0.1},
    ]
    _, messages = run(A.ActionClarify, make_tracker("nlu_fallback", ranking=ranking), dispatcher, domain)
    assert customs(messages)[0]["topic"] == "clarify"
    payloads = [b["payload"] for b in messages[0]["buttons"]]
    assert payloads[:2] == ["/surgery", "/injections"]
    assert "Did you mean" in messages[0]["text"]


@pytest.mark.parametrize("first,second", [("thanks", "goodbye"), ("goodbye", "thanks")])
def test_clarify_unsure_only_between_thanks_and_goodbye_says_the_first(first, second, make_tracker, dispatcher, domain):
    ranking = [
        {"name": "nlu_fallback", "confidence": 0.8},
        {"name": first, "confidence": 0.45},
        {"name": second, "confidence": 0.44},
        {"name": "surgery", "confidence": 0.05},
    ]
    _, messages = run(A.ActionClarify, make_tracker("nlu_fallback", ranking=ranking), dispatcher, domain)
    assert customs(messages)[0]["topic"] == first
    assert customs(messages)[0]["escalation"] == "none"


def test_clarify_between_thanks_and_a_topic_still_asks(make_tracker, dispatcher, domain):
    ranking = [
        {"name": "nlu_fallback", "confidence": 0.8},
        {"name": "thanks", "confidence": 0.45},
        {"name": "exercises", "confidence": 0.44},
    ]
    _, messages = run(A.ActionClarify, make_tracker("nlu_fallback", ranking=ranking), dispatcher, domain)
    assert customs(messages)[0]["topic"] == "clarify"


@pytest.mark.parametrize("intent,escalation", [("other_body_part", "routine"), ("out_of_scope", "none")])
def test_out_of_scope(intent, escalation, make_tracker, dispatcher, domain):
    _, messages = run(A.ActionOutOfScope, make_tracker(intent), dispatcher, domain)
    assert customs(messages)[0] == {**customs(messages)[0], "topic": "out_of_scope", "escalation": escalation}
    if escalation == "routine":
        assert any("See a GP or physiotherapist" in (m.get("text") or "") for m in messages)


def test_appointment_from_the_profile(make_tracker, dispatcher, domain):
    _, messages = run(A.ActionAppointment, make_tracker("appointment"), dispatcher, domain)
    text = messages[0]["text"]
    assert "03 5550 0000" in text and "https://example.org/book" in text and "Mon-Fri" in text
    assert customs(messages)[0]["topic"] == "appointment"
    assert customs(messages)[0]["escalation"] == "none"


def test_appointment_unconfigured_invents_nothing(unconfigured_clinic, make_tracker, dispatcher, domain):
    _, messages = run(A.ActionAppointment, make_tracker("appointment"), dispatcher, domain)
    assert not re.search(r"\d{3}", messages[0]["text"])
    assert "front desk" in messages[0]["text"]


def test_handoff_at_the_kiosk_points_to_the_front_desk(make_tracker, dispatcher, domain):
    tracker = make_tracker("handoff", metadata={"client": "kiosk"})
    _, messages = run(A.ActionHandoff, tracker, dispatcher, domain)
    assert "front desk" in messages[0]["text"]
    assert customs(messages)[0]["topic"] == "handoff"


@pytest.mark.parametrize(
    "cls,topic",
    [
        (A.ActionGreet, "greet"),
        (A.ActionGoodbye, "goodbye"),
        (A.ActionThanks, "thanks"),
        (A.ActionCapabilities, "capabilities"),
        (A.ActionAnythingElse, "capabilities"),
    ],
)
def test_small_talk_topics(cls, topic, make_tracker, dispatcher, domain, catalogue):
    _, messages = run(cls, make_tracker("greet"), dispatcher, domain)
    assert customs(messages)[0] == {"topic": topic, "escalation": "none", "content_version": catalogue.version}


def test_medication_never_gives_a_dose(make_tracker, dispatcher, domain):
    for depth_action, slots in ((A.ActionAnswerTopic, {}), (A.ActionTellMeMore, {"last_topic": "medication"})):
        from rasa_sdk.executor import CollectingDispatcher

        d = CollectingDispatcher()
        depth_action().run(d, make_tracker("medication", slots=slots), domain)
        text = " ".join(m.get("text") or "" for m in d.messages)
        assert not re.search(r"\d+\s?(mg|ml|tablet)", text, re.I)
        if depth_action is A.ActionAnswerTopic:
            assert "pharmacist" in text.lower()


def test_the_action_server_registers_exactly_the_domain_actions(domain):
    """rasa_sdk registers every concrete Action subclass at start-up; base classes must be abstract."""
    from rasa_sdk.executor import ActionExecutor

    executor = ActionExecutor()
    executor.register_package("actions")
    assert set(executor.actions) == set(domain["actions"])


def test_a_question_only_about_another_body_part_is_out_of_scope(make_tracker, dispatcher, domain):
    tracker = make_tracker("when_to_see_clinician", entities=[{"entity": "body_part", "value": "other"}])
    _, messages = run(A.ActionAnswerTopic, tracker, dispatcher, domain)
    assert customs(messages)[0]["topic"] == "out_of_scope"
    assert customs(messages)[0]["escalation"] == "routine"


def test_a_warning_sign_asked_about_elsewhere_in_the_leg_gets_the_warning_signs(make_tracker, dispatcher, domain):
    """ "What if my foot started dragging when I walk?": a red flag asked about hypothetically
    is a warning-signs question, wherever it is felt."""
    tracker = make_tracker(
        "when_to_see_clinician", entities=[{"entity": "body_part", "value": "other"}], red_flag_mention="hypothetical"
    )
    _, messages = run(A.ActionAnswerTopic, tracker, dispatcher, domain)
    assert customs(messages)[0]["topic"] == "when_to_see_clinician"


def test_a_question_about_one_of_the_exercises_naming_a_hand_is_answered(make_tracker, dispatcher, domain):
    """ "Which hand do I hold the dumbbell in for Bulgarian lunges?": the exercise, not a hand."""
    tracker = make_tracker("exercise_bulgarian_lunge", entities=[{"entity": "body_part", "value": "other"}])
    _, messages = run(A.ActionAnswerTopic, tracker, dispatcher, domain)
    assert customs(messages)[0]["topic"] == "exercise_bulgarian_lunge"


@pytest.mark.parametrize(
    "text,expected",
    [
        ("the ache is bad after a day on my feet, would physio help?", "physiotherapy"),
        ("my feet hurt, would physio help?", "out_of_scope"),
        ("is it the muscle that keeps you steady standing on one foot, would physio help?", "physiotherapy"),
        ("my foot hurts, would physio help?", "out_of_scope"),
    ],
)
def test_on_my_feet_names_no_foot(text, expected, make_tracker, dispatcher, domain):
    word = "feet" if "feet" in text else "foot"
    start = text.index(word)
    entities = [{"entity": "body_part", "value": "other", "start": start, "end": start + 4}]
    tracker = make_tracker("physiotherapy", entities=entities, text=text)
    _, messages = run(A.ActionAnswerTopic, tracker, dispatcher, domain)
    assert customs(messages)[0]["topic"] == expected


def test_another_body_part_next_to_the_hip_is_still_answered(make_tracker, dispatcher, domain):
    entities = [{"entity": "body_part", "value": "other"}, {"entity": "body_part", "value": "buttock"}]
    _, messages = run(A.ActionAnswerTopic, make_tracker("causes", entities=entities), dispatcher, domain)
    assert customs(messages)[0]["topic"] == "causes"


@pytest.mark.parametrize(
    "cls,intent",
    [
        (A.ActionClarify, "nlu_fallback"),
        (A.ActionAnswerTopic, "exercises"),
        (A.ActionGreet, "greet"),
        (A.ActionOutOfScope, "out_of_scope"),
    ],
)
def test_any_action_escalates_a_red_flag_first(cls, intent, make_tracker, dispatcher, domain):
    _, messages = run(cls, make_tracker(intent, red_flags=[EMERGENCY]), dispatcher, domain)
    assert customs(messages)[0]["topic"] == "red_flag"
    assert customs(messages)[0]["escalation"] == "emergency"


# --- two heads: check question, crisis, safe reply, follow-ups -----------------------------

SADDLE_CHECK = {
    "flag": "saddle_numbness",
    "tier": "emergency",
    "probability": 0.8,
    "watch_for": "numbness or pins and needles between your legs",
}


def with_latest(tracker, **fields):
    tracker.latest_message.update(fields)
    return tracker


def test_a_suspected_flag_asks_a_check_question_and_still_answers(make_tracker, dispatcher, domain, catalogue):
    tracker = with_latest(
        make_tracker("exercises", text="numbnes in my saddel, what exercises help?"),
        red_flag_check=SADDLE_CHECK,
        red_flag_mention="classifier",
    )
    events, messages = run(A.ActionAnswerTopic, tracker, dispatcher, domain)
    first = messages[0]
    assert first["custom"]["check"] == {"flag": "saddle_numbness"}
    assert first["custom"]["escalation"] == "routine" and first["custom"]["topic"] == "exercises"
    assert catalogue.say("checks.saddle_numbness") in first["text"]
    assert [b["payload"] for b in first["buttons"]] == ["/affirm", "/deny"]
    assert customs(messages)[1]["topic"] == "exercises"  # the question is still answered
    assert {c["escalation"] for c in customs(messages)} == {"routine"}
    assert slot(events, "pending_check")["flag"] == "saddle_numbness"


def test_a_check_with_no_clear_question_is_the_whole_reply(make_tracker, dispatcher, domain):
    tracker = with_latest(make_tracker("nlu_fallback"), red_flag_check=SADDLE_CHECK)
    _, messages = run(A.ActionClarify, tracker, dispatcher, domain)
    assert [c["topic"] for c in customs(messages)] == ["when_to_see_clinician"]
    assert customs(messages)[0]["check"] == {"flag": "saddle_numbness"}
    # a content topic names its sources (reply contract), the check's payload too
    assert customs(messages)[0]["sources"]


def test_yes_to_a_check_gives_the_full_emergency_reply(make_tracker, dispatcher, domain):
    tracker = make_tracker("affirm", slots={"pending_check": SADDLE_CHECK, "last_topic": "exercises"})
    events, messages = run(A.ActionAffirm, tracker, dispatcher, domain)
    payload = customs(messages)[0]
    assert payload["topic"] == "red_flag" and payload["escalation"] == "emergency"
    assert payload["flags"] == ["saddle_numbness"]
    assert messages[0]["text"].startswith("Call 000")
    assert slot(events, "pending_check") is None and slot(events, "last_red_flag") == "emergency"


def test_no_to_a_check_carries_on_politely(make_tracker, dispatcher, domain, catalogue):
    tracker = make_tracker("deny", slots={"pending_check": SADDLE_CHECK})
    events, messages = run(A.ActionAnythingElse, tracker, dispatcher, domain)
    assert messages[0]["text"] == catalogue.say("check.answered_no")
    assert {c["escalation"] for c in customs(messages)} == {"none"}
    assert slot(events, "pending_check") is None


def test_a_pending_check_is_dropped_when_the_patient_moves_on(make_tracker, dispatcher, domain):
    tracker = make_tracker("sitting", slots={"pending_check": SADDLE_CHECK})
    events, messages = run(A.ActionAnswerTopic, tracker, dispatcher, domain)
    assert customs(messages)[0]["topic"] == "sitting"
    assert ("pending_check", None) in [(e.get("name"), e.get("value")) for e in events]


def test_crisis_comes_first_kind_and_short_with_the_crisis_line(make_tracker, dispatcher, domain, profile):
    crisis = {"flag": "crisis", "tier": "emergency", "watch_for": "thoughts of suicide or self-harm"}
    tracker = make_tracker("red_flag", red_flags=[crisis], text="i want to die")
    _, messages = run(A.ActionRedFlag, tracker, dispatcher, domain)
    first = messages[0]
    assert first["text"].startswith("I'm sorry you're going through this.")
    assert f"call {profile.emergency_number} now" in first["text"]
    assert (profile.crisis_line or "your local crisis line") in first["text"]
    assert first["custom"]["topic"] == "red_flag" and first["custom"]["escalation"] == "emergency"
    assert first["custom"]["flags"] == ["crisis"]
    if profile.phone:
        assert profile.phone in first["text"]
    assert "gluteus" not in first["text"].lower()


def test_crisis_line_unset_says_your_local_crisis_line(catalogue):
    from assistant.clinic import ClinicProfile

    [message] = A.replies.crisis_reply(catalogue, ClinicProfile())
    assert "your local crisis line" in message["text"] and "your local emergency number" in message["text"]


def test_an_action_that_raises_sends_the_safe_reply_and_logs_one_line(
    make_tracker, dispatcher, domain, caplog, monkeypatch
):
    def boom(self, tracker, catalogue, profile):
        raise ValueError("patient text must not be logged")

    monkeypatch.setattr(A.ActionAnswerTopic, "reply", boom)
    tracker = make_tracker("symptoms", text="my secret symptom")
    with caplog.at_level("INFO", logger="actions.actions"):
        events = A.ActionAnswerTopic().run(dispatcher, tracker, domain)
    # no half-done slot events; only the topic of the safe reply that was sent
    assert events == [{"event": "slot", "name": "last_reply_topic", "timestamp": None, "value": "handoff"}]
    payload = customs(dispatcher.messages)[0]
    assert payload["unavailable"] is True and payload["escalation"] in VALID_TIERS
    assert "can't answer right now" in dispatcher.messages[0]["text"]
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1
    assert errors[0].getMessage() == "action=action_answer_topic failed: ValueError"
    assert "secret" not in caplog.text and "patient text" not in caplog.text


def test_a_red_flag_still_escalates_when_the_action_raises(make_tracker, dispatcher, domain, monkeypatch):
    monkeypatch.setattr(A.ActionAnswerTopic, "reply", lambda *a: 1 / 0)
    flag = {"flag": "saddle_numbness", "tier": "emergency", "watch_for": "numbness between your legs"}
    tracker = make_tracker("symptoms", red_flags=[flag])
    A.ActionAnswerTopic().run(dispatcher, tracker, domain)
    assert customs(dispatcher.messages)[0]["escalation"] == "emergency"


EXERCISES = ["exercise_hip_drop", "exercise_crab_steps", "exercise_trx_lunge", "exercise_bulgarian_lunge"]


@pytest.mark.parametrize(
    "text,entities,expected",
    [
        ("the last one", [{"entity": "ordinal", "value": "last"}], "exercise_bulgarian_lunge"),
        ("number four", [{"entity": "ordinal", "value": "4"}], "exercise_bulgarian_lunge"),
        ("more about the second", [{"entity": "ordinal", "value": "2"}], "exercise_crab_steps"),
        ("what about crab walks?", [{"entity": "exercise", "value": "crab_steps"}], "exercise_crab_steps"),
        ("the ² one", [{"entity": "ordinal", "value": "²"}], None),
    ],
)
def test_choose_option_follow_ups(text, entities, expected, make_tracker, dispatcher, domain):
    tracker = make_tracker(
        "choose_option", entities=entities, text=text, slots={"offered": EXERCISES, "last_topic": "exercises"}
    )
    events, messages = run(A.ActionChooseOption, tracker, dispatcher, domain)
    assert customs(messages)[0]["topic"] == (expected or "clarify")


def test_the_other_one_after_picking_one_of_two(make_tracker, dispatcher, domain):
    tracker = make_tracker(
        "choose_option",
        text="the other one",
        slots={"offered": ["physiotherapy"], "last_topic": "surgery", "choices": ["surgery", "injections"]},
    )
    _, messages = run(A.ActionChooseOption, tracker, dispatcher, domain)
    assert customs(messages)[0]["topic"] == "injections"


def test_more_about_the_second_via_tell_me_more(make_tracker, dispatcher, domain):
    tracker = make_tracker(
        "tell_me_more",
        entities=[{"entity": "ordinal", "value": "2"}],
        text="more about the second",
        slots={"offered": EXERCISES, "last_topic": "exercises"},
    )
    _, messages = run(A.ActionTellMeMore, tracker, dispatcher, domain)
    assert customs(messages)[0]["topic"] == "exercise_crab_steps"


def test_crisis_with_another_flag_comes_first_then_the_other(catalogue, profile):
    findings = [
        {"flag": "saddle_numbness", "tier": "emergency", "watch_for": "numbness between your legs"},
        {"flag": "crisis", "tier": "emergency", "watch_for": ""},
    ]
    messages = A.replies.red_flag_reply(catalogue, profile, findings)
    assert [m["custom"]["flags"] for m in messages] == [["crisis"], ["saddle_numbness"]]


def test_yes_to_a_crisis_check_gives_the_crisis_reply(make_tracker, dispatcher, domain, catalogue):
    assert catalogue.say("checks.crisis")
    check = {"flag": "crisis", "tier": "emergency", "watch_for": ""}
    _, messages = run(A.ActionAffirm, make_tracker("affirm", slots={"pending_check": check}), dispatcher, domain)
    assert messages[0]["text"].startswith("I'm sorry you're going through this.")
    assert customs(messages)[0]["flags"] == ["crisis"]


CRISIS = {"flag": "crisis", "tier": "emergency", "watch_for": "thoughts of ending your life or of harming yourself"}
SADDLE = {"flag": "saddle_numbness", "tier": "emergency", "watch_for": "numbness between your legs"}


@pytest.mark.parametrize("finding", [CRISIS, SADDLE])
def test_no_right_after_a_red_flag_gets_the_warning_again_once(finding, make_tracker, dispatcher, domain, catalogue):
    slots = {"last_reply_topic": "red_flag", "last_red_flag_findings": [finding]}
    events, messages = run(
        A.ActionAnythingElse, make_tracker("deny", text="i dont know", slots=slots), dispatcher, domain
    )
    payload = customs(messages)[0]
    assert (payload["topic"], payload["escalation"], payload["flags"]) == ("red_flag", "emergency", [finding["flag"]])
    key = "crisis" if finding is CRISIS else "emergency"
    assert messages[0]["text"].split()[:3] == catalogue.say(f"after_red_flag.{key}").split()[:3]
    assert "anything else" not in messages[0]["text"].lower()
    # once: the slot is cleared, so a second "no" is answered as any other
    assert {"event": "slot", "name": "last_red_flag_findings", "value": None} in [
        {k: e.get(k) for k in ("event", "name", "value")} for e in events
    ]


def test_no_after_an_answer_that_followed_a_red_flag_is_a_plain_no(make_tracker, dispatcher, domain):
    slots = {"last_reply_topic": "symptoms", "last_red_flag_findings": [SADDLE]}
    _, messages = run(A.ActionAnythingElse, make_tracker("deny", slots=slots), dispatcher, domain)
    assert customs(messages)[0]["topic"] == "capabilities"


def test_going_now_after_a_red_flag_is_told_not_to_wait(make_tracker, dispatcher, domain, catalogue):
    slots = {"last_reply_topic": "red_flag", "last_red_flag_findings": [SADDLE]}
    _, messages = run(A.ActionGoodbye, make_tracker("goodbye", text="ok going now", slots=slots), dispatcher, domain)
    assert customs(messages)[0]["topic"] == "goodbye"
    assert messages[0]["text"] == catalogue.say("after_red_flag.goodbye")


def test_a_red_flag_reply_remembers_its_findings(make_tracker, dispatcher, domain):
    events, messages = run(A.ActionRedFlag, make_tracker("red_flag", red_flags=[SADDLE]), dispatcher, domain)
    kept = [e["value"] for e in events if e.get("name") == "last_red_flag_findings"]
    assert kept == [[SADDLE]]


def test_how_do_i_do_it_read_as_yes_repeats_the_exercise(make_tracker, dispatcher, domain):
    slots = {"last_topic": "exercise_bulgarian_lunge", "last_reply_topic": "exercise_bulgarian_lunge"}
    _, messages = run(A.ActionAffirm, make_tracker("affirm", text="how do i do it", slots=slots), dispatcher, domain)
    assert customs(messages)[0]["topic"] == "exercise_bulgarian_lunge"


def test_going_now_with_thanks_after_a_red_flag_is_thanked(make_tracker, dispatcher, domain, catalogue):
    slots = {"last_reply_topic": "red_flag", "last_red_flag_findings": [SADDLE]}
    tracker = make_tracker("goodbye", text="ok, we're going to A&E now. Thank you", slots=slots)
    _, messages = run(A.ActionGoodbye, tracker, dispatcher, domain)
    assert customs(messages)[0]["topic"] == "thanks"
    assert messages[0]["text"] == catalogue.say("after_red_flag.thanks_goodbye")


def test_ok_right_after_a_red_flag_repeats_the_warning_once(make_tracker, dispatcher, domain, catalogue):
    slots = {"last_reply_topic": "red_flag", "last_red_flag_findings": [SADDLE]}
    events, messages = run(A.ActionAffirm, make_tracker("affirm", text="ok", slots=slots), dispatcher, domain)
    assert customs(messages)[0]["topic"] == "red_flag" and customs(messages)[0]["escalation"] == "emergency"
    assert slot(events, "last_red_flag_findings") is None


def test_bye_with_thanks_is_thanked(make_tracker, dispatcher, domain, catalogue):
    _, messages = run(A.ActionGoodbye, make_tracker("goodbye", text="thanks, bye"), dispatcher, domain)
    assert customs(messages)[0]["topic"] == "goodbye"
    assert messages[0]["text"] == catalogue.say("thanks_goodbye")


@pytest.mark.parametrize("action", [A.ActionThanks, A.ActionAnythingElse])
def test_thanks_or_no_with_a_goodbye_ends_the_conversation(action, make_tracker, dispatcher, domain, catalogue):
    _, messages = run(action, make_tracker("thanks", text="No thank you. Goodbye."), dispatcher, domain)
    assert customs(messages)[0]["topic"] == "goodbye"
    assert messages[0]["text"] == catalogue.say("thanks_goodbye")

"""The Rasa action classes. Each is thin: it reads the turn from the tracker, asks
``assistant/replies.py`` for the messages, sends them and returns slot events.

Every turn carries the reply contract's ``custom`` payload (``../shared/reply-contract.md``);
the first reply of a conversation is followed by the disclaimer, once.
"""

import abc
import logging
import re
import time
from typing import List, Optional, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from assistant import followups, replies
from assistant.catalogue import Catalogue, load_catalogue
from assistant.clinic import ClinicProfile, load_profile
from assistant.phrasing import ARTICLE_TERM
from assistant.topics import CONTENT_TOPICS, EXERCISE_TOPICS, entity_values, resolve_topic

logger = logging.getLogger(__name__)

Reply = Tuple[List[dict], List[EventType]]
# A question asked together with a red flag is answered after the warning when the message
# asks something and, leaving the red flag aside, the classifier gives that question at
# least this share of its remaining confidence.
CO_QUESTION_SHARE = 0.5
QUESTION_CUE = re.compile(
    r"\?|(?:^|[,.;:!]|\b(?:and|also|but|so|plus|then)\b)\s*"
    r"(?:what|whats|how|which|why|when|where|can|could|should|is|are|do|does|will|would|tell me|any)\b(?!'?t\b)",
    re.IGNORECASE,
)


def latest_entities(tracker: Tracker) -> List[dict]:
    return list((tracker.latest_message or {}).get("entities") or [])


def latest_intent(tracker: Tracker) -> Optional[str]:
    return ((tracker.latest_message or {}).get("intent") or {}).get("name")


def ranked_content_topics(tracker: Tracker, min_confidence: float = 0.0) -> List[str]:
    """Content topics from the classifier's ranking, best first."""
    ranking = (tracker.latest_message or {}).get("intent_ranking") or []
    topics = []
    for entry in ranking:
        name = entry.get("name")
        if name in CONTENT_TOPICS and (entry.get("confidence") or 0.0) >= min_confidence and name not in topics:
            topics.append(name)
    return topics


def co_question(tracker: Tracker) -> Optional[str]:
    """The content question that came with a red flag, if the message asks one clearly.

    The topic classifier has no red_flag class (the learned red-flag head is separate), so
    its ranking is the question's own; the question is the content topic that clearly leads
    it, unless the FallbackClassifier judged the classifier unsure. (A ``red_flag`` entry,
    from a model trained before the two heads, is left out.)
    """
    latest = tracker.latest_message or {}
    if not QUESTION_CUE.search(latest.get("text") or ""):
        return None
    ranking = latest.get("classifier_ranking") or latest.get("intent_ranking") or []
    if ranking and ranking[0].get("name") == "nlu_fallback":
        return None  # the classifier itself was unsure what was asked
    ranking = [r for r in ranking if r.get("name") not in ("red_flag", "nlu_fallback")]
    total = sum(r.get("confidence") or 0.0 for r in ranking)
    if not ranking or total <= 0 or ranking[0].get("name") not in CONTENT_TOPICS:
        return None
    if (ranking[0].get("confidence") or 0.0) / total >= CO_QUESTION_SHARE:
        return ranking[0]["name"]
    return None


LAST_RESORT_TEXT = "Sorry, I can't answer right now. Please contact the clinic."


def last_resort_payload(latest: dict) -> dict:
    """The contract payload when even the content failed to load (no numbers: none known)."""
    flags = [str(f.get("flag")) for f in latest.get("red_flags") or [] if isinstance(f, dict)]
    escalation = "emergency" if flags else "none"
    return {
        "topic": "red_flag" if flags else "handoff",
        "escalation": escalation,
        "flags": flags or None,
        "unavailable": True,
    }


def answered_topic(messages: List[dict]) -> str:
    """The content topic a turn answers (for the check question's payload)."""
    for message in messages:
        topic = (message.get("custom") or {}).get("topic")
        if topic in CONTENT_TOPICS:
            return topic
    return "when_to_see_clinician"


def previous_topic_event(tracker: Tracker, events: List[EventType]) -> List[EventType]:
    """When this turn answers a new topic, the one answered before it (for "go back")."""
    before = tracker.get_slot("last_topic")
    new = [
        e.get("value")
        for e in events
        if isinstance(e, dict) and e.get("event") == "slot" and e.get("name") == "last_topic"
    ]
    if before and new and new[-1] and new[-1] != before:
        return [SlotSet("previous_topic", before)]
    return []


def list_worked_through(tracker: Tracker, catalogue: Catalogue) -> List[str]:
    """The list the last answer was picked from; for an exercise asked for by name ("how do I
    do hip drops", then "next exercise"), the exercise list."""
    choices = list(tracker.get_slot("choices") or [])
    last_topic = tracker.get_slot("last_topic")
    if last_topic and last_topic not in choices and last_topic in catalogue.follow_ups("exercises"):
        return list(catalogue.follow_ups("exercises"))
    return choices


def choices_event(
    tracker: Tracker, topic_id: str, offered: List[str], working: Optional[List[str]] = None
) -> List[EventType]:
    """The list a topic was picked from, for "the other one" and "next one" after it: the
    offered follow-ups it was one of, unless it is the next of the list already being
    worked through (``working``, default the choices slot: "next one", "and the one after
    that")."""
    current = list(tracker.get_slot("choices") or [])
    choices = current if working is None else working
    if topic_id in choices and tracker.get_slot("last_topic") in choices:
        return [] if choices == current else [SlotSet("choices", choices)]
    return [SlotSet("choices", offered)] if topic_id in offered else []


def answered(topic_id: str, messages: List[dict]) -> Reply:
    """A topic answer and the slots that let follow-ups refer back to it."""
    offered = [m for m in (messages[0].get("custom") or {}).get("follow_ups", [])]
    return messages, [SlotSet("last_topic", topic_id), SlotSet("offered", offered)]


class ReplyAction(Action, abc.ABC):
    """Base class: build the reply, add the safety-net and disclaimer, send, log.

    Abstract, so rasa_sdk (which registers every concrete ``Action`` subclass) skips it.
    """

    @abc.abstractmethod
    def reply(self, tracker: Tracker, catalogue: Catalogue, profile: ClinicProfile) -> Reply:
        """The messages of this turn and the events to return."""

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        """Send this turn's messages. Never raises: a failure becomes the safe reply."""
        started = time.perf_counter()
        latest = tracker.latest_message or {}
        try:
            catalogue, profile = load_catalogue(), load_profile()
        except Exception as exc:  # the content itself is broken: still never silence
            logger.error("action=%s failed loading content: %s", self.name(), type(exc).__name__)
            dispatcher.utter_message(text=LAST_RESORT_TEXT, json_message=last_resort_payload(latest))
            return []
        try:
            messages, events = self.turn(tracker, catalogue, profile)
        except Exception as exc:
            # One line, the action and the exception type only: no message text, no tracker.
            logger.error("action=%s failed: %s", self.name(), type(exc).__name__)
            messages = replies.stamp(replies.safe_reply(catalogue, profile, latest.get("red_flags") or []), catalogue)
            events = []
        for message in messages:
            dispatcher.utter_message(
                text=message.get("text"),
                buttons=message.get("buttons") or [],
                json_message=message.get("custom"),
            )
        topics = [m["custom"]["topic"] for m in messages if m.get("custom")]
        if topics:
            # action calls carry only the current turn's events (serving/speedups.py), so
            # the last reply's topic is kept where the next turn can read it
            events = [*events, SlotSet("last_reply_topic", topics[-1])]
        logger.info(
            "action=%s intent=%s topics=%s escalation=%s ms=%.1f",
            self.name(),
            latest_intent(tracker),
            topics,
            replies.highest_escalation(messages),
            (time.perf_counter() - started) * 1000,
        )
        return events

    def turn(self, tracker: Tracker, catalogue: Catalogue, profile: ClinicProfile) -> Reply:
        """The reply with red-flag precedence, check question, safety net and disclaimer.

        Precedence: a red flag the rules found is escalated first (crisis before any
        other); otherwise a flag only the learned head suspects gets the check question
        first; otherwise a hypothetical mention adds the safety net after the answer.
        """
        messages, events = self.reply(tracker, catalogue, profile)
        latest = tracker.latest_message or {}
        escalated = any((m.get("custom") or {}).get("topic") == "red_flag" for m in messages)
        check = latest.get("red_flag_check")
        if latest.get("red_flags") and not escalated:
            # Whatever intent and rule brought us here, a red flag is escalated first.
            messages = replies.escalation_reply(catalogue, profile, latest["red_flags"]) + messages
        elif check and not escalated and self.asks_checks:
            asked = replies.check_reply(catalogue, profile, check, answered_topic(messages))
            if asked:
                # With no clear question (fallback), the check question is the whole reply.
                messages = asked + ([] if self.name() == "action_clarify" else messages)
                events.append(SlotSet("pending_check", check))
            else:
                messages.append(replies.safety_net(catalogue, profile))
        elif latest.get("red_flag_mention") and not escalated:
            messages.append(replies.safety_net(catalogue, profile))
        if tracker.get_slot("pending_check") and not any(
            isinstance(e, dict) and e.get("name") == "pending_check" for e in events
        ):
            events.append(SlotSet("pending_check", None))  # the patient moved on
        if not tracker.get_slot("disclaimer_shown"):
            messages.append(replies.disclaimer(catalogue, profile))
            events.append(SlotSet("disclaimer_shown", True))
        events.extend(previous_topic_event(tracker, events))
        return replies.stamp(messages, catalogue), events

    # Actions that answer a check question themselves (yes/no) do not ask a new one.
    asks_checks = True


# "on my feet all day", "off my feet", "standing on one foot": standing, resting or
# balance, not a foot complaint
_FEET_IDIOM = re.compile(r"\b(?:on|off)\s+(?:my|your|his|her|their|our|me|the|one|a|each|either)\s*$", re.IGNORECASE)


def body_parts_named(entities: List[dict], text: str) -> List[str]:
    """The body_part values of the message, less "on my feet"-style idioms."""
    values = []
    for entity in entities or []:
        if entity.get("entity") != "body_part":
            continue
        start = entity.get("start")
        if isinstance(start, int) and str(text[start : entity.get("end") or start]).lower() in ("feet", "foot"):
            if _FEET_IDIOM.search(text[:start]):
                continue
        values.append(str(entity.get("value")))
    return values


class ActionAnswerTopic(ReplyAction):
    def name(self) -> Text:
        return "action_answer_topic"

    def reply(self, tracker, catalogue, profile) -> Reply:
        entities = latest_entities(tracker)
        intent = latest_intent(tracker)
        # A warning sign asked about ("what if my calf swelled up?", "what if my foot started
        # dragging?") is a question about warning signs wherever it is felt.
        hypothetical = (tracker.latest_message or {}).get("red_flag_mention") == "hypothetical"
        # "which hand do I hold the dumbbell in for Bulgarian lunges?" asks about the exercise
        named_exercise = intent in EXERCISE_TOPICS.values() or bool(entity_values(entities, "exercise"))
        text = (tracker.latest_message or {}).get("text") or ""
        in_scope_term = bool(ARTICLE_TERM.search(text))
        if set(body_parts_named(entities, text)) == {"other"} and not (hypothetical or named_exercise or in_scope_term):
            # Only body parts outside hip and buttock pain ("my shoulder has ached for
            # weeks"): the articles do not cover them, so no article answer.
            return replies.out_of_scope_reply(catalogue, profile, body_part=True), []
        topic_id = resolve_topic(intent, entities, text)
        if topic_id in EXERCISE_TOPICS.values() or intent == "exercises":
            # "I don't have a TRX, what about the other lunge?" right after the TRX lunge
            topic_id = followups.other_of_kind(text, tracker.get_slot("last_topic")) or topic_id
        offered = [t for t in tracker.get_slot("offered") or [] if catalogue.topic(t)]
        if topic_id not in offered:
            # "the standing on one leg one": the offered option it describes
            topic_id = (
                followups.described_option(
                    text, offered, catalogue.description, incumbent=topic_id, follow_ups=catalogue.follow_ups
                )
                or topic_id
            )
        if not topic_id or not catalogue.topic(topic_id):
            return replies.clarify_reply(catalogue, profile, ranked_content_topics(tracker)), []
        messages, events = answered(topic_id, replies.topic_reply(catalogue, profile, topic_id))
        return messages, events + choices_event(tracker, topic_id, offered)


class ActionTellMeMore(ReplyAction):
    def name(self) -> Text:
        return "action_tell_me_more"

    def reply(self, tracker, catalogue, profile) -> Reply:
        entities = latest_entities(tracker)
        if entity_values(entities, "ordinal") or followups.named_topics(entities):
            # "more about the second": the offered topic it names, not the last one.
            return ActionChooseOption().reply(tracker, catalogue, profile)
        topic_id = tracker.get_slot("last_topic")
        if not topic_id or not catalogue.topic(topic_id):
            return replies.simple_reply(
                catalogue, profile, "no_topic_yet", "clarify", buttons=replies.menu_buttons(catalogue)
            ), []
        return answered(topic_id, replies.topic_reply(catalogue, profile, topic_id, depth="more"))


class ActionChooseOption(ReplyAction):
    """ "The last one", "number four", "the other one", "what about crab walks?": picks
    from the last follow-ups (``assistant/followups.py`` resolves which)."""

    def name(self) -> Text:
        return "action_choose_option"

    def reply(self, tracker, catalogue, profile) -> Reply:
        offered = [t for t in tracker.get_slot("offered") or [] if catalogue.topic(t)]
        working = list_worked_through(tracker, catalogue)
        topic_id = followups.resolve_followup(
            (tracker.latest_message or {}).get("text") or "",
            latest_entities(tracker),
            offered,
            last_topic=tracker.get_slot("last_topic"),
            picked_from=working,
            previous_topic=tracker.get_slot("previous_topic"),
        )
        if topic_id is None:
            text = (tracker.latest_message or {}).get("text") or ""
            topic_id = followups.described_option(text, offered, catalogue.description)
        if topic_id is None or not catalogue.topic(topic_id):
            buttons = replies.topic_buttons(catalogue, offered) or replies.menu_buttons(catalogue)
            return replies.simple_reply(catalogue, profile, "choose_unknown", "clarify", buttons=buttons), []
        messages, events = answered(topic_id, replies.topic_reply(catalogue, profile, topic_id))
        return messages, events + choices_event(tracker, topic_id, offered, working)


# Replies that end by asking what else the patient would like to know (their contract
# topics): a "yes" or "no" after them answers that question.
ASKED_ANYTHING_ELSE = ("thanks", "greet", "capabilities")
# A bare acknowledgement of an answer ("ok", "got it"), not a "yes please" to more of it.
ACKNOWLEDGEMENT = re.compile(
    r"^(?:(?:ah|oh|ahh|ohh|right|ok|okay)[ ,]+)?"
    r"(?:ok|okay|okey|oki|okie|k|kk|alright|all right|right|got it|i see|fine|cool|noted|understood)$"
)


def kept_finding(finding: dict) -> dict:
    """What a later turn needs of a red-flag finding: which flag, its tier, what to watch for."""
    return {key: finding.get(key) for key in ("flag", "tier", "watch_for")}


def red_flag_slots(messages: List[dict], findings: List[dict]) -> List[EventType]:
    """The tier and the findings of the escalation just sent (for "no" or "ok" after it)."""
    kept = [kept_finding(finding) for finding in findings]
    return [SlotSet("last_red_flag", messages[0]["custom"]["escalation"]), SlotSet("last_red_flag_findings", kept)]


def after_red_flag(tracker: Tracker) -> List[dict]:
    """The findings of the escalation, when the assistant's last reply was one (else [])."""
    findings = tracker.get_slot("last_red_flag_findings")
    if tracker.get_slot("last_reply_topic") != "red_flag" or not isinstance(findings, list):
        return []
    return [finding for finding in findings if isinstance(finding, dict) and finding.get("flag")]


THANKS_WORDS = re.compile(r"\b(?:thank|thanks|thankyou|thx|ty)\b", re.IGNORECASE)
# A leave-taking inside thanks or a "no" ("No thank you. Goodbye.", "thanks, night night")
GOODBYE_WORDS = re.compile(
    r"\b(?:bye|goodbye|good\s*bye|bye\s*bye|good\s*night|night\s*night|nite|cheerio|ta\s*ra|see\s+(?:you|ya)|farewell)\b",
    re.IGNORECASE,
)


def says_goodbye(tracker: Tracker) -> bool:
    return bool(GOODBYE_WORDS.search((tracker.latest_message or {}).get("text") or ""))


def asked_anything_else(tracker: Tracker) -> bool:
    """The assistant's last reply asked what else the patient would like to know."""
    return tracker.get_slot("last_reply_topic") in ASKED_ANYTHING_ELSE


def is_acknowledgement(text: str) -> bool:
    return bool(ACKNOWLEDGEMENT.match(re.sub(r"[^a-z ,]+", "", (text or "").lower()).strip(" ,")))


class ActionAffirm(ReplyAction):
    """ "Yes" after an answer: the "more" depth if there is one, else what next. A bare "ok"
    acknowledges the answer, and "yes" to "anything else?" is asked what."""

    def name(self) -> Text:
        return "action_affirm"

    asks_checks = False

    def reply(self, tracker, catalogue, profile) -> Reply:
        check = tracker.get_slot("pending_check")
        if isinstance(check, dict) and check.get("flag"):
            # "Yes" to a check question: the full emergency/urgent reply for that flag.
            finding = kept_finding(check)
            messages = replies.escalation_reply(catalogue, profile, [finding])
            return messages, [SlotSet("pending_check", None), *red_flag_slots(messages, [finding])]
        menu = replies.menu_buttons(catalogue)
        again = how_to_again(tracker, catalogue, profile)
        if again:
            return again
        acknowledged = is_acknowledgement((tracker.latest_message or {}).get("text") or "")
        findings = after_red_flag(tracker)
        if findings and acknowledged:
            # "ok" right after a red-flag reply: the warning again, short, once
            return replies.red_flag_reminder(catalogue, profile, findings), [SlotSet("last_red_flag_findings", None)]
        if asked_anything_else(tracker):
            return replies.simple_reply(catalogue, profile, "what_next", "capabilities", buttons=menu), []
        if acknowledged:
            return replies.simple_reply(catalogue, profile, "acknowledged", "capabilities", buttons=menu), []
        topic = catalogue.topic(tracker.get_slot("last_topic") or "")
        if topic and topic.more:
            return answered(topic.id, replies.topic_reply(catalogue, profile, topic.id, depth="more"))
        return replies.simple_reply(catalogue, profile, "anything_else", "capabilities", buttons=menu), []


class ActionRedFlag(ReplyAction):
    """Emergency or urgent escalation first; then the question that came with it, if any."""

    def name(self) -> Text:
        return "action_red_flag"

    def reply(self, tracker, catalogue, profile) -> Reply:
        findings = list((tracker.latest_message or {}).get("red_flags") or [])
        if not findings:
            # Only reachable by typing "/red_flag": show the warning signs in full.
            return answered("when_to_see_clinician", replies.topic_reply(catalogue, profile, "when_to_see_clinician"))
        messages = replies.escalation_reply(catalogue, profile, findings)
        events: List[EventType] = red_flag_slots(messages, findings)
        question = co_question(tracker)
        if question:
            topic_id = resolve_topic(
                question, latest_entities(tracker), (tracker.latest_message or {}).get("text") or ""
            )
            more, slot_events = answered(topic_id, replies.topic_reply(catalogue, profile, topic_id))
            messages += more
            events += slot_events
        return messages, events


class ActionClarify(ReplyAction):
    def name(self) -> Text:
        return "action_clarify"

    def reply(self, tracker, catalogue, profile) -> Reply:
        closing = closing_words(tracker)
        if closing:
            # "thank you, bye": thanks or goodbye, both right; no "did you mean" for them
            return replies.simple_reply(catalogue, profile, closing, closing), []
        again = how_to_again(tracker, catalogue, profile)
        if again:
            return again
        return replies.clarify_reply(catalogue, profile, ranked_content_topics(tracker, 0.05)), []


CLOSING_INTENTS = ("thanks", "goodbye")


def how_to_again(tracker: Tracker, catalogue, profile) -> Optional[Reply]:
    """ "and how do I do that?" / "how do i do it" right after the hip drops: their steps
    again (whichever intent the words were read as: a fallback, "yes", "no")."""
    last_topic = tracker.get_slot("last_topic")
    text = (tracker.latest_message or {}).get("text") or ""
    if last_topic and catalogue.topic(last_topic) and followups.asks_how_to_do_it(text):
        return answered(last_topic, replies.topic_reply(catalogue, profile, last_topic))
    return None


def closing_words(tracker: Tracker) -> Optional[str]:
    """``thanks`` or ``goodbye`` when the classifier was unsure only between those two."""
    ranking = [r for r in (tracker.latest_message or {}).get("intent_ranking") or [] if r.get("name") != "nlu_fallback"]
    if len(ranking) >= 2 and {ranking[0].get("name"), ranking[1].get("name")} == set(CLOSING_INTENTS):
        return str(ranking[0]["name"])
    return None


class ActionOutOfScope(ReplyAction):
    def name(self) -> Text:
        return "action_out_of_scope"

    def reply(self, tracker, catalogue, profile) -> Reply:
        body_part = latest_intent(tracker) == "other_body_part" or "other" in entity_values(
            latest_entities(tracker), "body_part"
        )
        return replies.out_of_scope_reply(catalogue, profile, body_part), []


class ActionAppointment(ReplyAction):
    def name(self) -> Text:
        return "action_appointment"

    def reply(self, tracker, catalogue, profile) -> Reply:
        return replies.appointment_reply(catalogue, profile), []


class ActionHandoff(ReplyAction):
    def name(self) -> Text:
        return "action_handoff"

    def reply(self, tracker, catalogue, profile) -> Reply:
        metadata = (tracker.latest_message or {}).get("metadata") or {}
        return replies.handoff_reply(catalogue, profile, at_kiosk=metadata.get("client") == "kiosk"), []


class SmallTalkAction(ReplyAction):
    """Greeting, goodbye, thanks, capabilities, "no": fixed wording, escalation none."""

    topic = ""
    with_menu = False

    @property
    @abc.abstractmethod
    def wording_key(self) -> str:
        """Key of the wording in content/conversation.yml (subclasses set it)."""

    def name(self) -> Text:
        return f"action_{self.wording_key}"

    def reply(self, tracker, catalogue, profile) -> Reply:
        buttons = replies.menu_buttons(catalogue) if self.with_menu else None
        return replies.simple_reply(catalogue, profile, self.wording_key, self.topic, buttons=buttons), []


class ActionGreet(SmallTalkAction):
    wording_key, topic, with_menu = "greet", "greet", True


class ActionGoodbye(SmallTalkAction):
    """ "Bye"; after a red-flag reply ("ok going now", "ringing them now"): go now."""

    wording_key, topic = "goodbye", "goodbye"

    def reply(self, tracker, catalogue, profile) -> Reply:
        # "ok, we're going now. Thank you": thanked as well as sent on their way
        thanked = bool(THANKS_WORDS.search((tracker.latest_message or {}).get("text") or ""))
        # "No thank you. Goodbye." ends the talk; "ok, we're going to A&E now. Thank you" thanks
        topic = "thanks" if thanked and not says_goodbye(tracker) else "goodbye"
        if after_red_flag(tracker):
            key = "after_red_flag.thanks_goodbye" if thanked else "after_red_flag.goodbye"
            return replies.simple_reply(catalogue, profile, key, topic), []
        if thanked:
            return replies.simple_reply(catalogue, profile, "thanks_goodbye", topic), []
        return super().reply(tracker, catalogue, profile)


class ActionThanks(SmallTalkAction):
    wording_key, topic = "thanks", "thanks"

    def reply(self, tracker, catalogue, profile) -> Reply:
        if says_goodbye(tracker):  # "Thank you. Goodbye.": thanked and sent on their way
            return ActionGoodbye().reply(tracker, catalogue, profile)
        return super().reply(tracker, catalogue, profile)


class ActionCapabilities(SmallTalkAction):
    wording_key, topic, with_menu = "capabilities", "capabilities", True


class ActionAnythingElse(SmallTalkAction):
    """ "No" after an answer; "no" to a check question is thanked and the talk carries on."""

    wording_key, topic, with_menu = "anything_else", "capabilities", True
    asks_checks = False

    def reply(self, tracker, catalogue, profile) -> Reply:
        if tracker.get_slot("pending_check"):
            return replies.check_answered_no(catalogue, profile), [SlotSet("pending_check", None)]
        findings = after_red_flag(tracker)
        if findings:
            # "no" / "I don't know" right after a red-flag reply: the warning again, short,
            # once (a second "no" is answered as any other)
            return replies.red_flag_reminder(catalogue, profile, findings), [SlotSet("last_red_flag_findings", None)]
        if asked_anything_else(tracker) or says_goodbye(tracker):
            # "no" to "is there anything else you'd like to know?", or "no thanks, bye": not
            # the same question again
            return ActionGoodbye().reply(tracker, catalogue, profile)
        return super().reply(tracker, catalogue, profile)

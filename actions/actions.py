"""The Rasa action classes. Each is thin: it reads the turn from the tracker, asks
``assistant/replies.py`` for the messages, sends them and returns slot events.

Every turn carries the reply contract's ``custom`` payload (``../shared/reply-contract.md``);
the first reply of a conversation is followed by the disclaimer, once.
"""
import abc
import logging
import re
import time
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from assistant import replies
from assistant.catalogue import Catalogue, load_catalogue
from assistant.clinic import ClinicProfile, load_profile
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

    The classifier is trained on red-flag descriptions too, so with a red flag in the
    message most of its confidence sits on ``red_flag``; what is left is shared among the
    other intents, and the question is the one that clearly leads that share.
    """
    latest = tracker.latest_message or {}
    if not QUESTION_CUE.search(latest.get("text") or ""):
        return None
    ranking = latest.get("classifier_ranking") or latest.get("intent_ranking") or []
    ranking = [r for r in ranking if r.get("name") != "red_flag"]
    total = sum(r.get("confidence") or 0.0 for r in ranking)
    if not ranking or total <= 0 or ranking[0].get("name") not in CONTENT_TOPICS:
        return None
    if (ranking[0].get("confidence") or 0.0) / total >= CO_QUESTION_SHARE:
        return ranking[0]["name"]
    return None


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

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        started = time.perf_counter()
        catalogue, profile = load_catalogue(), load_profile()
        messages, events = self.reply(tracker, catalogue, profile)
        latest = tracker.latest_message or {}
        escalated = any((m.get("custom") or {}).get("topic") == "red_flag" for m in messages)
        if latest.get("red_flags") and not escalated:
            # Whatever intent and rule brought us here, a red flag is escalated first.
            messages = replies.red_flag_reply(catalogue, profile, latest["red_flags"]) + messages
        elif latest.get("red_flag_mention") and not escalated:
            messages.append(replies.safety_net(catalogue, profile))
        if not tracker.get_slot("disclaimer_shown"):
            messages.append(replies.disclaimer(catalogue, profile))
            events.append(SlotSet("disclaimer_shown", True))
        for message in replies.stamp(messages, catalogue):
            dispatcher.utter_message(
                text=message.get("text"),
                buttons=message.get("buttons") or [],
                json_message=message.get("custom"),
            )
        topics = [m["custom"]["topic"] for m in messages if m.get("custom")]
        logger.info(
            "action=%s intent=%s topics=%s escalation=%s ms=%.1f",
            self.name(), latest_intent(tracker), topics,
            replies.highest_escalation(messages), (time.perf_counter() - started) * 1000,
        )
        return events


class ActionAnswerTopic(ReplyAction):
    def name(self) -> Text:
        return "action_answer_topic"

    def reply(self, tracker, catalogue, profile) -> Reply:
        entities = latest_entities(tracker)
        if set(entity_values(entities, "body_part")) == {"other"}:
            # Only body parts outside hip and buttock pain ("my shoulder has ached for
            # weeks"): the articles do not cover them, so no article answer.
            return replies.out_of_scope_reply(catalogue, profile, body_part=True), []
        topic_id = resolve_topic(latest_intent(tracker), entities)
        if not topic_id or not catalogue.topic(topic_id):
            return replies.clarify_reply(catalogue, profile, ranked_content_topics(tracker)), []
        return answered(topic_id, replies.topic_reply(catalogue, profile, topic_id))


class ActionTellMeMore(ReplyAction):
    def name(self) -> Text:
        return "action_tell_me_more"

    def reply(self, tracker, catalogue, profile) -> Reply:
        topic_id = tracker.get_slot("last_topic")
        if not topic_id or not catalogue.topic(topic_id):
            return replies.simple_reply(
                catalogue, profile, "no_topic_yet", "clarify", buttons=replies.menu_buttons(catalogue)
            ), []
        return answered(topic_id, replies.topic_reply(catalogue, profile, topic_id, depth="more"))


class ActionChooseOption(ReplyAction):
    """"The second one", "how do I do the first one": picks from the last follow-ups."""

    def name(self) -> Text:
        return "action_choose_option"

    def reply(self, tracker, catalogue, profile) -> Reply:
        entities = latest_entities(tracker)
        offered = [t for t in tracker.get_slot("offered") or [] if catalogue.topic(t)]
        named = [EXERCISE_TOPICS[v] for v in entity_values(entities, "exercise") if v in EXERCISE_TOPICS]
        ordinals = [int(v) for v in entity_values(entities, "ordinal") if str(v).isdigit()]
        topic_id = None
        if len(named) == 1:
            topic_id = named[0]
        elif ordinals and 1 <= ordinals[0] <= len(offered):
            topic_id = offered[ordinals[0] - 1]
        if topic_id is None:
            buttons = replies.topic_buttons(catalogue, offered) or replies.menu_buttons(catalogue)
            return replies.simple_reply(catalogue, profile, "choose_unknown", "clarify", buttons=buttons), []
        return answered(topic_id, replies.topic_reply(catalogue, profile, topic_id))


class ActionAffirm(ReplyAction):
    """"Yes" after an answer: the "more" depth if there is one, else what next."""

    def name(self) -> Text:
        return "action_affirm"

    def reply(self, tracker, catalogue, profile) -> Reply:
        topic = catalogue.topic(tracker.get_slot("last_topic") or "")
        if topic and topic.more:
            return answered(topic.id, replies.topic_reply(catalogue, profile, topic.id, depth="more"))
        return replies.simple_reply(
            catalogue, profile, "anything_else", "capabilities", buttons=replies.menu_buttons(catalogue)
        ), []


class ActionRedFlag(ReplyAction):
    """Emergency or urgent escalation first; then the question that came with it, if any."""

    def name(self) -> Text:
        return "action_red_flag"

    def reply(self, tracker, catalogue, profile) -> Reply:
        findings = list((tracker.latest_message or {}).get("red_flags") or [])
        if not findings:
            # Only reachable by typing "/red_flag": show the warning signs in full.
            return answered("when_to_see_clinician", replies.topic_reply(catalogue, profile, "when_to_see_clinician"))
        messages = replies.red_flag_reply(catalogue, profile, findings)
        events: List[EventType] = [SlotSet("last_red_flag", messages[0]["custom"]["escalation"])]
        question = co_question(tracker)
        if question:
            topic_id = resolve_topic(question, latest_entities(tracker))
            more, slot_events = answered(topic_id, replies.topic_reply(catalogue, profile, topic_id))
            messages += more
            events += slot_events
        return messages, events


class ActionClarify(ReplyAction):
    def name(self) -> Text:
        return "action_clarify"

    def reply(self, tracker, catalogue, profile) -> Reply:
        return replies.clarify_reply(catalogue, profile, ranked_content_topics(tracker, 0.05)), []


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
    wording_key, topic = "goodbye", "goodbye"


class ActionThanks(SmallTalkAction):
    wording_key, topic = "thanks", "thanks"


class ActionCapabilities(SmallTalkAction):
    wording_key, topic, with_menu = "capabilities", "capabilities", True


class ActionAnythingElse(SmallTalkAction):
    wording_key, topic, with_menu = "anything_else", "capabilities", True

"""Every message the assistant sends, with the reply contract's ``custom`` payload.

Pure functions: a catalogue, a clinic profile and the facts of the turn in, a list of
messages out. Each message is a dict with any of ``text``, ``buttons`` and ``custom``
(the shape ``dispatcher.utter_message`` and Rasa's output channels take). The action
server and the channel's safety net (``channels/safety.py``) both build replies here, so
a red flag reads the same whether or not the action server is up.

Contract: ``../shared/reply-contract.md``. Escalation wording:
``../shared/clinical/red-flags.md`` ("Wording").
"""

import string
from typing import Iterable, List, Optional, Sequence

from assistant.catalogue import Catalogue, Topic
from assistant.clinic import ClinicProfile
from assistant.topics import MENU

Message = dict
TIER_ORDER = {"emergency": 3, "urgent": 2, "routine": 1, "none": 0}
CRISIS_FLAG = "crisis"  # thoughts of suicide or self-harm: its own wording, first


class _Blank(dict):
    def __missing__(self, key):  # unknown placeholders stay visible to the editor, never crash
        return "{" + key + "}"


def fill(template: str, profile: ClinicProfile, **extra: str) -> str:
    values = _Blank(
        clinic=profile.display_name,
        phone=profile.phone or profile.display_name,
        emergency_number=profile.emergency_call,
        emergency_department=profile.department,
        urgent_line=profile.urgent_advice,
        booking=profile.booking_sentence(),
        **extra,
    )
    return string.Formatter().vformat(template, (), values).strip()


def custom(topic: str, escalation: str, **fields) -> dict:
    payload = {"topic": topic, "escalation": escalation}
    payload.update({k: v for k, v in fields.items() if v is not None})
    return payload


def stamp(messages: Iterable[Message], catalogue: Catalogue) -> List[Message]:
    """Every ``custom`` payload of a turn gets the content release it was built from."""
    stamped = []
    for message in messages:
        if isinstance(message.get("custom"), dict):
            message = {**message, "custom": {**message["custom"], "content_version": catalogue.version}}
        stamped.append(message)
    return stamped


def button(title: str, payload: str) -> dict:
    return {"title": title, "payload": payload}


def topic_buttons(catalogue: Catalogue, topic_ids: Iterable[str]) -> List[dict]:
    return [button(catalogue.title(t), f"/{t}") for t in topic_ids if catalogue.topic(t)]


def highest_escalation(messages: Iterable[Message]) -> str:
    tiers = [m["custom"]["escalation"] for m in messages if isinstance(m.get("custom"), dict)]
    return max(tiers, key=lambda t: TIER_ORDER.get(t, 0), default="none")


# --- content ---------------------------------------------------------------------------


def _topic_text(topic: Topic, depth: str) -> str:
    if depth == "more":
        return topic.more
    text = topic.answer
    if topic.steps:
        text += "\n" + "\n".join(f"{i}. {step}" for i, step in enumerate(topic.steps, 1))
    return text


def routine_line(catalogue: Catalogue, profile: ClinicProfile) -> str:
    return fill(catalogue.say("routine"), profile)


def topic_reply(catalogue: Catalogue, profile: ClinicProfile, topic_id: str, depth: str = "answer") -> List[Message]:
    """The answer (or its "more" depth), follow-up buttons, sources and the clinician line."""
    topic = catalogue.topic(topic_id)
    if topic is None:
        raise KeyError(topic_id)
    more_available = depth == "answer" and bool(topic.more)
    if depth == "more" and not topic.more:
        text = fill(catalogue.say("more_none"), profile, title=topic.title.lower())
    else:
        text = _topic_text(topic, depth)
    buttons = ([button("Tell me more", "/tell_me_more")] if more_available else []) + topic_buttons(
        catalogue, topic.follow_ups
    )
    see_clinician = routine_line(catalogue, profile)
    payload = custom(
        topic.id,
        "routine",
        sources=[s.as_contract() for s in topic.sources],
        title=topic.title,
        depth=depth,
        more_available=more_available,
        follow_ups=list(topic.follow_ups),
        see_clinician=see_clinician,
    )
    return [{"text": text, "buttons": buttons, "custom": payload}, {"text": see_clinician}]


# --- red flags -------------------------------------------------------------------------


def red_flag_reply(catalogue: Catalogue, profile: ClinicProfile, findings: Sequence[dict]) -> List[Message]:
    """Every red flag of a turn: the crisis reply first if there is one, then the others.

    The actions and the channels' safety net both call this, so a crisis reads the same
    whether or not the action server is up.
    """
    crisis = [f for f in findings if f.get("flag") == CRISIS_FLAG]
    others = [f for f in findings if f.get("flag") != CRISIS_FLAG]
    messages = crisis_reply(catalogue, profile) if crisis else []
    if others or not crisis:
        messages += tier_reply(catalogue, profile, others)
    return messages


def tier_reply(catalogue: Catalogue, profile: ClinicProfile, findings: Sequence[dict]) -> List[Message]:
    """The emergency or urgent escalation for (non-crisis) red flags found in the message.

    ``findings``: dicts with ``flag``, ``tier`` ("emergency" | "urgent") and ``watch_for``
    (patient wording). The reply is plain text with no button in front of it.
    """
    tier = "emergency" if any(f.get("tier") == "emergency" for f in findings) else "urgent"
    watch = []
    for finding in findings:
        line = str(finding.get("watch_for") or "").strip()
        if line and line not in watch:
            watch.append(line)
    bullets = "\n".join(f"\u2022 {w}" for w in watch)
    if tier == "emergency":
        parts = [
            fill(catalogue.say("emergency.lead"), profile),
            bullets,
            fill(catalogue.say("emergency.after"), profile),
        ]
    else:
        parts = [
            fill(catalogue.say("urgent.lead"), profile),
            fill(catalogue.say("urgent.watch"), profile) + ("\n" + bullets if bullets else ""),
            fill(catalogue.say("urgent.worse"), profile),
        ]
    payload = custom(
        "red_flag",
        tier,
        flags=[str(f.get("flag")) for f in findings],
        emergency_number=profile.emergency_number,
        emergency_department=profile.department,
        urgent_line=profile.urgent_line,
    )
    return [{"text": "\n".join(p for p in parts if p), "custom": payload}]


def red_flag_reminder(catalogue: Catalogue, profile: ClinicProfile, findings: Sequence[dict]) -> List[Message]:
    """The last escalation again, short: "no" or "I don't know" right after a red-flag reply.

    The same payloads as ``red_flag_reply`` (topic, tier, flags, numbers); only the words
    are the short ``after_red_flag`` ones."""
    reminder = []
    for message in red_flag_reply(catalogue, profile, findings):
        payload = message["custom"]
        key = "crisis" if payload.get("flags") == [CRISIS_FLAG] else str(payload.get("escalation"))
        text = fill(catalogue.say(f"after_red_flag.{key}"), profile, crisis_line=profile.crisis_call)
        reminder.append({**message, "text": text})
    return reminder


def safety_net(catalogue: Catalogue, profile: ClinicProfile) -> Message:
    """Safety-net wording for a red flag mentioned hypothetically ("what if I go numb?")."""
    return {"text": fill(catalogue.say("safety_net"), profile)}


# --- conversation ----------------------------------------------------------------------


def simple_reply(
    catalogue: Catalogue,
    profile: ClinicProfile,
    key: str,
    topic: str,
    buttons: Optional[List[dict]] = None,
    escalation: str = "none",
    **fields,
) -> List[Message]:
    message = {"text": fill(catalogue.say(key), profile), "custom": custom(topic, escalation, **fields)}
    if buttons:
        message["buttons"] = buttons
    return [message]


def menu_buttons(catalogue: Catalogue) -> List[dict]:
    return topic_buttons(catalogue, MENU)


def appointment_reply(catalogue: Catalogue, profile: ClinicProfile) -> List[Message]:
    lines = profile.booking_lines()
    if lines:
        text = fill(catalogue.say("appointment.configured"), profile) + "\n" + "\n".join(lines)
    else:
        text = fill(catalogue.say("appointment.unconfigured"), profile)
    payload = custom(
        "appointment",
        "none",
        clinic=profile.public_dict(),
        hours=profile.hours or None,
        address=profile.address or None,
    )
    return [{"text": text, "custom": payload}]


def handoff_reply(catalogue: Catalogue, profile: ClinicProfile, at_kiosk: bool = False) -> List[Message]:
    lines = [line for line in profile.booking_lines() if not line.startswith("Address")]
    if at_kiosk:
        text = fill(catalogue.say("handoff.kiosk_hint"), profile)
    elif lines:
        text = fill(catalogue.say("handoff.configured"), profile) + "\n" + "\n".join(lines)
    else:
        text = fill(catalogue.say("handoff.unconfigured"), profile)
    return [{"text": text, "custom": custom("handoff", "none", clinic=profile.public_dict())}]


def clarify_reply(catalogue: Catalogue, profile: ClinicProfile, candidates: Sequence[str]) -> List[Message]:
    """ "Did you mean …?" with a button per candidate topic (at most three)."""
    candidates = [c for c in candidates if catalogue.topic(c)][:3]
    if candidates:
        buttons = topic_buttons(catalogue, candidates) + [button(catalogue.say("something_else"), "/capabilities")]
        text = catalogue.say("clarify")
    else:
        buttons = menu_buttons(catalogue)
        text = catalogue.say("clarify_none")
    return [
        {"text": fill(text, profile), "buttons": buttons, "custom": custom("clarify", "none", candidates=candidates)}
    ]


def out_of_scope_reply(catalogue: Catalogue, profile: ClinicProfile, body_part: bool) -> List[Message]:
    if body_part:
        see = routine_line(catalogue, profile)
        return [
            {
                "text": fill(catalogue.say("other_body_part"), profile),
                "buttons": menu_buttons(catalogue),
                "custom": custom("out_of_scope", "routine", see_clinician=see),
            },
            {"text": see},
        ]
    return [
        {
            "text": fill(catalogue.say("out_of_scope"), profile),
            "buttons": menu_buttons(catalogue),
            "custom": custom("out_of_scope", "none"),
        }
    ]


def disclaimer(catalogue: Catalogue, profile: ClinicProfile) -> Message:
    """Shown once per conversation, after the first reply (a red flag always comes first)."""
    return {"text": fill(catalogue.say("disclaimer"), profile)}


def unavailable_reply(catalogue: Catalogue, profile: ClinicProfile) -> List[Message]:
    """When the action server is down or slow: never silence."""
    phone_part = f" on {profile.phone}" if profile.phone else ""
    text = fill(catalogue.say("unavailable"), profile, phone_part=phone_part)
    return [{"text": text, "custom": custom("handoff", "none", unavailable=True, clinic=profile.public_dict())}]


def empty_message_reply(catalogue: Catalogue, profile: ClinicProfile) -> List[Message]:
    return simple_reply(catalogue, profile, "empty_message", "clarify", buttons=menu_buttons(catalogue))


def too_long_reply(catalogue: Catalogue, profile: ClinicProfile, limit: int) -> List[Message]:
    text = fill(catalogue.say("too_long"), profile, limit=str(limit))
    return [{"text": text, "custom": custom("clarify", "none", too_long=True)}]


# --- crisis, check questions, the safe reply --------------------------------------------


def crisis_reply(catalogue: Catalogue, profile: ClinicProfile) -> List[Message]:
    """Thoughts of suicide or self-harm: kind and short, first, with the crisis line.

    Wording: ``../shared/clinical/red-flags.md`` ("Crisis"); the clinic's phone follows it.
    """
    text = fill(catalogue.say("crisis.lead"), profile, crisis_line=profile.crisis_call)
    if profile.phone:
        text += "\n" + fill(catalogue.say("crisis.clinic"), profile)
    payload = custom(
        "red_flag",
        "emergency",
        flags=[CRISIS_FLAG],
        emergency_number=profile.emergency_number,
        crisis_line=profile.crisis_line,
    )
    return [{"text": text, "custom": payload}]


def escalation_reply(catalogue: Catalogue, profile: ClinicProfile, findings: Sequence[dict]) -> List[Message]:
    """Every red flag of a turn (crisis first): the same as ``red_flag_reply``."""
    return red_flag_reply(catalogue, profile, findings)


def check_question(catalogue: Catalogue, flag: str) -> Optional[str]:
    """The yes/no check question for a flag (``checks:`` in conversation.yml), if any."""
    return catalogue.say(f"checks.{flag}") or None


def check_reply(catalogue: Catalogue, profile: ClinicProfile, check: dict, topic: str) -> List[Message]:
    """The learned head suspects a flag the rules did not find: safety net, then ask.

    ``check``: ``flag``, ``tier`` and ``watch_for`` (from the red-flag table). The turn's
    escalation stays ``routine`` until the patient answers yes. ``topic`` is what the turn
    answers (the question asked with it, or ``when_to_see_clinician``).
    """
    flag = str(check.get("flag") or "")
    question = check_question(catalogue, flag)
    if not question:
        return []
    key = "check.emergency" if check.get("tier") == "emergency" else "check.urgent"
    net = fill(catalogue.say(key), profile, watch_for=str(check.get("watch_for") or "").strip())
    buttons = [button(catalogue.say("check.yes", "Yes"), "/affirm"), button(catalogue.say("check.no", "No"), "/deny")]
    answered = catalogue.topic(topic)
    # a content topic's payload names its articles (reply contract), this one included
    sources = [source.as_contract() for source in answered.sources] if answered else None
    payload = custom(topic, "routine", check={"flag": flag}, sources=sources)
    return [{"text": net + "\n" + question, "buttons": buttons, "custom": payload}]


def check_answered_no(catalogue: Catalogue, profile: ClinicProfile) -> List[Message]:
    """ "No" to a check question: thank them and carry on."""
    return simple_reply(catalogue, profile, "check.answered_no", "capabilities", buttons=menu_buttons(catalogue))


def safe_reply(catalogue: Catalogue, profile: ClinicProfile, findings: Sequence[dict] = ()) -> List[Message]:
    """What an action sends when building its reply failed: a red flag still escalates."""
    return (escalation_reply(catalogue, profile, findings) if findings else []) + unavailable_reply(catalogue, profile)

"""Which offered topic a follow-up means: "the last one", "the other one", "number four",
"that one", "more about the second", "what about crab walks?".

Pure functions over the turn's text, its lexicon entities and the conversation's memory
(the follow-ups last offered and the topic last answered), so the resolution can be tested
without Rasa. Ordinals are parsed here too, for the lexicon extractor: words ("fourth",
"number four", "last") and digits, with ``str.isdecimal()`` only (``isdigit`` accepts "²",
which ``int`` cannot read and which once crashed an action).
"""

from __future__ import annotations

import logging
import re
from typing import Callable, Iterable, List, Optional, Sequence, Tuple

from assistant.topics import EXERCISE_TOPICS, TREATMENT_TOPICS, entity_values

logger = logging.getLogger(__name__)

LAST = "last"
MIDDLE = "middle"  # of an odd number offered ("the middle one" of three is the second)
ORDINAL_WORDS = {
    "first": 1,
    "one": 1,
    "1st": 1,
    "second": 2,
    "two": 2,
    "2nd": 2,
    "third": 3,
    "three": 3,
    "3rd": 3,
    "fourth": 4,
    "four": 4,
    "4th": 4,
    "fifth": 5,
    "five": 5,
    "5th": 5,
    "sixth": 6,
    "six": 6,
    "6th": 6,
    "last": LAST,
    "final": LAST,
    "middle": MIDDLE,
}
# "last" is an ordinal in "the last one", "last option", "the last" (end of message), not
# in "last week" or "at last".
_LAST_NEXT = {"", "one", "ones", "option", "exercise", "choice", "thing", "topic", "of", "please", "link", "button"}
_COUNT_WORDS = {"one", "two", "three", "four", "five", "six"}  # only after "number"/"option"
_WORD = re.compile(r"#?\w+")
_LEAD = {"number", "option", "choice", "#"}
_OTHER = re.compile(r"\b(?:the\s+)?other\s+(?:one|option|exercise|topic)?\b|\bthe other\b", re.IGNORECASE)
# "the other lunge": the other topic of that kind (a word of the topic ids)
_OTHER_KIND = re.compile(r"\bother\s+(lunge|lunges)\b", re.IGNORECASE)
_KIND_TOPICS = {"lunge": ("exercise_trx_lunge", "exercise_bulgarian_lunge")}
_THAT = re.compile(r"\b(?:that|this|it)(?:\s+one)?\b", re.IGNORECASE)
# "next one", "and the one after that": the next of the list the last answer was picked
# from; "go back", "the one before": the topic answered before the last one. The whole
# message must be such a request ("when can I go back to running?" is not one).
_POLITE = r"(?:(?:ok|okay|and|so|now|then|can\s+we|could\s+we|can\s+i|let'?s|please|pls|can\s+you)[\s,]+)*"
_END = r"(?:[\s,]+(?:please|pls|then|thanks|thank\s+you))*[\s.!?]*"
_NEXT = re.compile(
    _POLITE
    + r"(?:(?:go\s+to\s+|show\s+me\s+|what'?s\s+|what\s+is\s+)?(?:the\s+)?(?:next|nxt)(?:\s+(?:one|option|exercise|exersise|excercise|exercize|stretch))?"
    + r"|(?:and\s+)?the\s+one\s+after(?:\s+(?:that|it))?)"
    + _END,
    re.IGNORECASE,
)
_BACK = re.compile(
    _POLITE
    + r"(?:go(?:ing)?\s+back(?:\s+(?:to\s+)?(?:the\s+one\s+before(?:\s+that)?|the\s+previous(?:\s+one)?|before))?"
    + r"|(?:back\s+to\s+)?the\s+one\s+before(?:\s+that)?|(?:the\s+)?previous(?:\s+one)?)"
    + _END,
    re.IGNORECASE,
)
_MORE = re.compile(r"\b(?:more|explain|expand|detail|details|further)\b", re.IGNORECASE)
# "and how do I do that?" right after an answer: that answer's own how-to
_HOW_THAT = re.compile(
    r"\bhow\s+(?:do|should|would|can|could|to)\s+(?:i\s+|you\s+|we\s+)?(?:do|perform|try|start|begin)\s+"
    r"(?:that|this|it|them|those|these)\b",
    re.IGNORECASE,
)


def asks_how_to_do_it(text: str) -> bool:
    """ "and how do I do that?": the how-to of the topic just answered."""
    return bool(_HOW_THAT.search(text or ""))


# "the standing on one leg one", "that one where you stand on one leg", "the one with the
# band": an offered option picked by what it is like ("one" as a pronoun, not "one leg")
_ONE_REF = re.compile(
    r"\b(?:the|that|this)(?:\s+[\w'-]+){0,6}?\s+one\b"
    r"(?!\s+(?:leg|legs|foot|feet|side|sides|hip|hips|knee|knees|arm|of|day|days|week|weeks|time|bit|more|at))",
    re.IGNORECASE,
)
_DESCRIBING_WORD = re.compile(r"[a-z]+")
# words that say nothing about which option is meant
_NOT_DESCRIBING = frozenset(
    "a an and the that this these those one ones it its is are was be do does did how what which "
    "where when who you your i me my to of on in at for with by from up down off out or so then "
    "there their them they he she we us our can could would should will just please about like "
    "more tell show explain again thing exercise option".split()
)


def _describing_words(text: str) -> set:
    """Content words, with a plain -ing/-s/-ed ending dropped ("standing" -> "stand")."""
    words = set()
    for word in _DESCRIBING_WORD.findall((text or "").lower()):
        if word in _NOT_DESCRIBING or len(word) < 3:
            continue
        for ending in ("ing", "ed", "es", "s"):
            if word.endswith(ending) and len(word) - len(ending) >= 3:
                word = word[: -len(ending)]
                break
        words.add(word)
    return words


def described_option(
    text: str,
    offered: Sequence[str],
    describe: Callable[[str], str],
    incumbent: Optional[str] = None,
    follow_ups: Callable[[str], Sequence[str]] = lambda topic: (),
) -> Optional[str]:
    """The offered topic a "the ... one" follow-up describes ("the standing on one leg one"):
    the one whose own wording (``describe(topic)``) shares the most words with the message,
    if it alone does best; None when the message does not point at an option that way.
    Nothing is described unless it does, so a plain question costs one regex search.

    ``incumbent`` is the topic the classifier chose. It is kept when it fits the words
    better, or as well when the best option is a list that names it (``follow_ups``: after
    the Bulgarian lunge, "the one with the band" is crab steps, not the exercise list that
    mentions it).
    """
    if not offered or not _ONE_REF.search(text or ""):
        return None
    said = _describing_words(text)

    def overlap(topic: str) -> int:
        return len(said & _describing_words(describe(topic)))

    scores = sorted(((overlap(topic), topic) for topic in offered), reverse=True)
    best, topic = scores[0]
    if best == 0 or (len(scores) > 1 and scores[1][0] == best):
        return None
    if incumbent is not None and incumbent not in offered:
        fits = overlap(incumbent)
        if fits > best or (fits == best and incumbent in follow_ups(topic)):
            return None
    return topic


def ordinal_value(token: str) -> Optional[str]:
    """ "4", "fourth", "4th", "#4", "last" -> "4" / "last"; anything else -> None."""
    token = token.lower().lstrip("#")
    if token.isdecimal() and token.isascii():
        number = int(token)
        return str(number) if 1 <= number <= 99 else None
    value = ORDINAL_WORDS.get(token)
    return None if value is None else str(value)


def find_ordinals(text: str) -> List[Tuple[int, int, str]]:
    """Ordinal mentions as (start, end, value): "number four" -> "4", "the last one" -> "last".

    Count words ("one", "four") count only after "number"/"option"/"choice", so "that one"
    or "one of my hips" is not an ordinal; a bare digit counts ("3").
    """
    found: List[Tuple[int, int, str]] = []
    words = list(_WORD.finditer(text or ""))
    for i, match in enumerate(words):
        token = match.group(0).lower()
        previous = words[i - 1].group(0).lower() if i else ""
        following = words[i + 1].group(0).lower() if i + 1 < len(words) else ""
        if token in _COUNT_WORDS and previous not in _LEAD:
            continue
        if ORDINAL_WORDS.get(token) == LAST and (following not in _LAST_NEXT or previous == "at"):
            continue
        if ORDINAL_WORDS.get(token) == MIDDLE and (following not in _LAST_NEXT - {"of"} or previous != "the"):
            continue
        value = ordinal_value(token)
        if value is None:
            continue
        start = words[i - 1].start() if previous in _LEAD else match.start()
        found.append((start, match.end(), value))
    return found


def _pick(offered: Sequence[str], value: str) -> Optional[str]:
    if not offered:
        return None
    if value == LAST:
        return offered[-1]
    if value == MIDDLE:
        return offered[len(offered) // 2] if len(offered) % 2 == 1 else None
    if value.isdecimal() and 1 <= int(value) <= len(offered):
        return offered[int(value) - 1]
    return None


def other_of_kind(text: str, last_topic: Optional[str]) -> Optional[str]:
    """ "the other lunge" right after one lunge: the other topic of that kind, else None."""
    kind = _OTHER_KIND.search(text or "")
    if not kind or not last_topic:
        return None
    kinds = _KIND_TOPICS[kind.group(1).lower().rstrip("s")]
    others = [t for t in kinds if t != last_topic]
    return others[0] if last_topic in kinds and len(others) == 1 else None


def named_topics(entities: Iterable[dict]) -> List[str]:
    """Topics named by exercise or treatment entities, in message order, de-duplicated."""
    entities = list(entities or ())
    topics = [EXERCISE_TOPICS[v] for v in entity_values(entities, "exercise") if v in EXERCISE_TOPICS]
    topics += [TREATMENT_TOPICS[v] for v in entity_values(entities, "treatment") if v in TREATMENT_TOPICS]
    return list(dict.fromkeys(topics))


def resolve_followup(
    text: str,
    entities: Iterable[dict],
    offered: Sequence[str],
    last_topic: Optional[str] = None,
    picked_from: Sequence[str] = (),
    previous_topic: Optional[str] = None,
) -> Optional[str]:
    """The topic a follow-up refers to, or None when it is not clear (then ask which).

    Precedence: a named exercise/treatment ("what about crab walks?"); an ordinal of the
    offered list ("number four", "the last one", "more about the second"); "the other one"
    (the one offered topic that is not the one just answered, or the second of two); "that
    one" when exactly one topic was offered. ``picked_from`` is the list the topic just
    answered was picked from, so "the other one" after choosing one of two means the
    second of those two, not something from the new answer's follow-ups; "next one" is the
    one after it in that list. "go back" / "the one before" is ``previous_topic``, the
    topic answered before the last one.
    """
    other = other_of_kind(text, last_topic)
    if other:
        return other  # before any named one: "I don't have a TRX, what about the other lunge?"
    named = named_topics(entities)
    if len(named) == 1:
        return named[0]
    offered = [t for t in offered or [] if t]
    ordinals = entity_values(entities, "ordinal") or [v for _, _, v in find_ordinals(text)]
    for value in ordinals:
        picked = _pick(offered, str(value))
        if picked:
            return picked
    if ordinals:
        return None  # "number nine" of three: ask rather than guess
    text = (text or "").strip()
    if _NEXT.fullmatch(text):
        chosen = [t for t in picked_from or [] if t]
        if last_topic in chosen and chosen.index(last_topic) + 1 < len(chosen):
            return chosen[chosen.index(last_topic) + 1]
        return None
    if _BACK.fullmatch(text):
        return previous_topic if previous_topic and previous_topic != last_topic else None
    if _OTHER.search(text):
        previous = [t for t in picked_from or [] if t and t != last_topic]
        if last_topic in (picked_from or ()) and len(previous) == 1:
            return previous[0]
        others = [t for t in offered if t != last_topic]
        if len(others) == 1:
            return others[0]
        if len(offered) == 2 and last_topic not in offered:
            return offered[1]
        return None
    if _THAT.search(text) and len(offered) == 1:
        return offered[0]
    if _THAT.search(text) and _MORE.search(text) and last_topic:
        return last_topic  # "more on that one please" right after an answer: that answer
    return None

"""How patients phrase a question around it: an opening acknowledgement ("thanks. does ice
help?") and something already tried before the question ("done rest and ice for 3 weeks,
what other treatments are there"). Pure text functions, used by the topic head
(``assistant/topic_model.py``) and by ``assistant.topics.resolve_topic``; no Rasa, no numpy.
"""

import re
from typing import Tuple

_WORD = re.compile(r"[a-z']+")

# Words a question starts with; the topic head's long-message focus adds its own
# (``assistant.topic_model._QUESTION_START``), this module's clause test its own (below).
QUESTION_WORDS = (
    "what|whats|what's|why|how|when|where|which|who|can|could|should|would|will|is|are|do|does|did|any|tell|explain"
)

# A message that opens with an acknowledgement and goes on to ask ("thanks. does ice help?",
# "Thank you dear. And what does it do", "ok and what does it do exactly") asks the rest:
# the acknowledgement's words must not outvote the question. "yes" and "no" are left out on
# purpose: they answer the assistant's own yes/no questions.
_ACKNOWLEDGEMENT = re.compile(
    r"^(?:(?:ok(?:ay)?|kk|k|thank\s+you|thankyou|thanks|thank|thx|ty|ta|cheers|great|lovely|brilliant|perfect|"
    r"cool|nice|good|right|alright|all\s+right|i\s+see|got\s+it|understood|fair\s+enough|interesting|"
    r"that(?:'s|s|\s+is|\s+was)\s+(?:very\s+|really\s+|so\s+)?(?:helpful|useful|great|interesting|good|clear|kind)|"
    r"(?:so|very)\s+much|dear|love|pet|hun|mate)(?:[\s,.!;:-]+|$))+"
    r"(?:(?:and|so|but|also|then|now)\b[\s,]*)?",
    re.IGNORECASE,
)

# Something already tried, then a question ("done rest and ice for 3 weeks and it's still
# sore, what other treatments are there"): what was tried is not what is asked.
_TRIED = re.compile(
    r"\b(?:tried|trying|done|been\s+doing|been\s+using|been\s+taking|taken|been\s+on)\b",
    re.IGNORECASE,
)
# not "and"/"so"/"but": "tried physio, and it helped a bit" asks nothing
_ASK_START = re.compile(rf"^(?:{QUESTION_WORDS}|anything|more|show)\b", re.IGNORECASE)

_CLAUSE_SEPARATOR = re.compile(r"[.,;!?\n]+|\s+-+\s+")


def acknowledged_question(text: str) -> str:
    """What follows an opening acknowledgement, when it is a question of two words or more
    ("thanks. does ice help?" -> "does ice help?"); else ""."""
    match = _ACKNOWLEDGEMENT.match(text.strip())
    if not match or not match.group(0).strip():
        return ""
    rest = text.strip()[match.end() :].strip()
    if len(_WORD.findall(rest.lower())) < 2:
        return ""
    # a question or a request goes on; "thank you, I'll ring my GP" is still thanks
    return rest if rest.endswith("?") or _ASK_START.match(rest) else ""


def tried_question(text: str) -> Tuple[str, int]:
    """For "tried X (and it's no better), <question>": the question clause and where it
    starts in ``text``; else ("", -1)."""
    if not _TRIED.search(text):
        return "", -1
    spans, at = [], 0
    for separator in _CLAUSE_SEPARATOR.finditer(text):
        spans.append((at, separator.start()))
        at = separator.end()
    spans.append((at, len(text)))
    clauses = [(text[a:b].strip(), a + len(text[a:b]) - len(text[a:b].lstrip())) for a, b in spans]
    clauses = [(c, a) for c, a in clauses if c]
    if len(clauses) < 2:
        return "", -1
    for index in range(len(clauses) - 1, 0, -1):
        clause, at = clauses[index]
        if _ASK_START.match(clause) or (text.rstrip().endswith("?") and index == len(clauses) - 1):
            if _TRIED.search(" ".join(c for c, _ in clauses[:index])) and not _TRIED.search(clause):
                return clause, at
            return "", -1
    return "", -1


def after_tried(text: str) -> str:
    """The question clause of "tried X (and it's no better), <question>", else ""."""
    return tried_question(text)[0]


# Words of the articles' own subject: a message that names one is in scope even when it
# also names another body part ("his hands are bad. What is sciatica exactly?", "my dad's
# sciatica makes his foot numb, what is sciatica?").
ARTICLE_TERM = re.compile(
    r"\b(?:sciatica|sciatic|glute|glutes|gluteal|gluteus|medius|minimus|trendelenburg|piriformis|"
    r"tendinopathy|tendinitis|tendonitis|bursitis|trochanteric)\b",
    re.IGNORECASE,
)

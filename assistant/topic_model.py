"""The question's topic: a linear classifier over word and character n-grams.

One of the two independent heads of every message (docs/architecture.md, "Two heads"); the
other is the red-flag assessment. This module knows nothing of Rasa: it builds, trains and
scores the model; ``components/topic_classifier.py`` is the adapter that puts its ranking
into the parse data.

Why a linear model and not DIET: on the development set (unseen messages of
``evaluation/holdout/nlu_v1.yml``, now used as dev) a TF-IDF + linear SVM over the same
training examples picked the right intent 0.967 of the time, DIET 0.937; it trains in about
a second instead of minutes and needs no TensorFlow model in memory. Figures and the
comparison are in docs/architecture.md ("The topic head").

Confidences: the SVM's decision values, turned into a distribution with a softmax at a fixed
temperature, so that Rasa's FallbackClassifier (threshold, ambiguity) keeps working on them.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from assistant.phrasing import QUESTION_WORDS, acknowledged_question, after_tried
from assistant.text import clean_text

logger = logging.getLogger(__name__)

DEFAULTS: Dict[str, Any] = {
    "C": 1.0,
    "temperature": 0.2,
    "word_ngrams": (1, 2),
    "char_ngrams": (2, 4),
    "random_seed": 42,
    # long messages: the question sentences are scored too (see ``focus_texts``)
    "long_message_words": 25,
    "focus_weight": 1.0,
    # a message without one content word ("what about it") is a weak guess: when the top
    # content topic is under no_content_confidence, content confidences are scaled by
    # no_content_scale, so the fallback asks instead
    "no_content_scale": 0.2,
    "no_content_confidence": 0.6,
    "text_speak": True,
}

# Function words: a message made only of these names no topic. Deliberately small (sklearn's
# English stop list holds "bottom", "side", "back", "down": words our patients mean).
FUNCTION_WORDS = frozenset(
    """a about an and any anything are as at be but by can could did do does for from had has
    have he her him his how i if in is it it's its just me my of ok okay on or our she so that
    that's the their them then there these they this those to us was we were what what's whats
    when where which who why will with would you your hmm um uh er well really please uhh umm
    erm eh huh idk dunno""".split()
)

# Text-speak: every training example is also learnt as patients type it on a phone
# ("wat can u do", "wheres ur clinic"). Word for word, so the variant keeps its label.
TEXT_SPEAK = {
    "you": "u",
    "your": "ur",
    "you're": "ur",
    "are": "r",
    "what": "wat",
    "what's": "wats",
    "whats": "wats",
    "please": "pls",
    "thanks": "thx",
    "okay": "ok",
    "because": "coz",
    "people": "ppl",
    "tomorrow": "tmrw",
    "don't": "dont",
    "can't": "cant",
    "i'm": "im",
    "where's": "wheres",
    "it's": "its",
    "doctor": "dr",
    "for": "4",
}
_WORD = re.compile(r"[a-z']+")

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_QUESTION_START = re.compile(rf"^(?:{QUESTION_WORDS}|am|have|has|please|help|so|but|and)\b", re.IGNORECASE)


_STRETCHED = re.compile(r"([a-z])\1{2,}")


def normalise(text: str) -> str:
    """What the vectorisers see: cleaned, lower case, whitespace collapsed, a letter typed
    three or more times once ("hiii" -> "hi", "pleeease" -> "please": no English word has
    a letter three times in a row)."""
    return _STRETCHED.sub(r"\1", " ".join(clean_text(text).lower().split()))


def text_speak(text: str) -> str:
    """The text-speak spelling of a (normalised) message, or "" when nothing changes."""
    words = normalise(text).split()
    changed = [TEXT_SPEAK.get(w, w) for w in words]
    return " ".join(changed) if changed != words else ""


def focus_texts(text: str, min_words: int) -> List[str]:
    """For a long message, its question sentences (else its last sentence); else nothing.

    A patient's story ("I'm 52, I work in a warehouse, my GP said ...") dilutes the question
    that ends it; scoring the question sentences as well keeps the story from outvoting it.
    """
    if len(text.split()) < min_words:
        return []
    sentences = [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]
    if len(sentences) < 2:
        return []
    questions = [s for s in sentences if s.endswith("?") or _QUESTION_START.match(s)]
    chosen = questions[-2:] if questions else sentences[-1:]
    return [" ".join(chosen)]


@dataclass
class TopicModel:
    """A fitted vectoriser + linear SVM, and how its scores become confidences."""

    vectoriser: Any
    classifier: Any
    temperature: float
    long_message_words: int
    focus_weight: float
    content_labels: frozenset = frozenset()
    no_content_scale: float = 1.0
    no_content_confidence: float = 1.0
    tried_weight: float = 2.0

    @property
    def labels(self) -> List[str]:
        return [str(c) for c in self.classifier.classes_]

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """Decision values per text and label (rows: texts)."""
        features = self.vectoriser.transform([normalise(t) for t in texts])
        values = self.classifier.decision_function(features)
        if values.ndim == 1:  # two labels only: sklearn gives one column
            values = np.stack([-values, values], axis=1)
        return values

    def rank(self, texts: Sequence[str]) -> List[List[Tuple[str, float]]]:
        """Per text, (label, confidence) pairs, most confident first; confidences sum to 1."""
        if not texts:
            return []
        values = self.scores(texts)
        for row, text in enumerate(texts):
            asked = acknowledged_question(text)
            if asked:
                values[row] = self.scores([asked])[0]
                text = asked
            focus = focus_texts(text, self.long_message_words)
            if focus:  # a long story: its question sentences (what was tried is story too)
                values[row] = (values[row] + self.focus_weight * self.scores(focus).mean(axis=0)) / (
                    1.0 + self.focus_weight
                )
                continue
            question = after_tried(text)
            if question:  # a short "tried X, <question>": the question clause counts double
                values[row] = (values[row] + self.tried_weight * self.scores([question])[0]) / (1.0 + self.tried_weight)
        labels = self.labels
        out = []
        for row in values:
            shifted = (row - row.max()) / self.temperature
            weights = np.exp(shifted)
            confidences = weights / weights.sum()
            order = np.argsort(-confidences)
            out.append([(labels[i], float(confidences[i])) for i in order])
        return [self._without_content(text, ranking) for text, ranking in zip(texts, out)]

    def _without_content(self, text: str, ranking: List[Tuple[str, float]]) -> List[Tuple[str, float]]:
        """Content topics scaled down when the message has no content word at all."""
        words = _WORD.findall(normalise(text))
        if not self.content_labels or any(w not in FUNCTION_WORDS for w in words):
            return ranking
        # "what does it do?" after an answer is a clear question (function, 0.73); "what
        # about it" is not (0.45): only a weak guess from function words alone is doubted.
        # No letters at all ("???") is never a question.
        if words and ranking and ranking[0][1] >= self.no_content_confidence:
            return ranking
        scaled = [(label, c * self.no_content_scale if label in self.content_labels else c) for label, c in ranking]
        return sorted(scaled, key=lambda item: -item[1])


def build(config: Dict[str, Any]) -> Tuple[Any, Any]:
    """The untrained vectoriser (word + char_wb TF-IDF) and linear SVM."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion
    from sklearn.svm import LinearSVC

    word_lo, word_hi = config["word_ngrams"]
    char_lo, char_hi = config["char_ngrams"]
    vectoriser = FeatureUnion(
        [
            ("word", TfidfVectorizer(analyzer="word", ngram_range=(word_lo, word_hi), sublinear_tf=True)),
            ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(char_lo, char_hi), sublinear_tf=True)),
        ]
    )
    classifier = LinearSVC(C=float(config["C"]), random_state=int(config["random_seed"]))
    return vectoriser, classifier


def train(
    texts: Sequence[str],
    labels: Sequence[str],
    config: Optional[Dict[str, Any]] = None,
    content_labels: Iterable[str] = (),
) -> TopicModel:
    """Fit on the training examples (text, intent). ``content_labels``: the intents that
    answer from the articles (``assistant.topics.CONTENT_TOPICS``)."""
    settings = {**DEFAULTS, **(config or {})}
    if len(set(labels)) < 2:
        raise ValueError("the topic model needs examples of at least two intents")
    vectoriser, classifier = build(settings)
    texts, labels = list(texts), list(labels)
    if settings["text_speak"]:
        variants = [(v, label) for v, label in ((text_speak(t), label) for t, label in zip(texts, labels)) if v]
        texts += [v for v, _ in variants]
        labels += [label for _, label in variants]
    features = vectoriser.fit_transform([normalise(t) for t in texts])
    classifier.fit(features, labels)
    logger.info("topic model trained on %d examples, %d intents", len(texts), len(set(labels)))
    return TopicModel(
        vectoriser=vectoriser,
        classifier=classifier,
        temperature=float(settings["temperature"]),
        long_message_words=int(settings["long_message_words"]),
        focus_weight=float(settings["focus_weight"]),
        content_labels=frozenset(content_labels),
        no_content_scale=float(settings["no_content_scale"]),
        no_content_confidence=float(settings["no_content_confidence"]),
    )

"""The triage's two long-text paths give what the plain algorithms give, match for match:
the pattern prefilter (assistant/triage/prefilter.py: a Matcher of only the patterns a
long text can match) against the full Matcher, and the linear ConText graph
(assistant/triage/context_graph.py) against medspacy's own pair loops. Long texts are
built from the project's test messages (tests/triage/*.yml, tests/redflags/dev_cases.yml)
run together, so every flag's wording appears in them."""

from __future__ import annotations

from typing import List

import pytest
import yaml

from assistant.paths import ROOT

LONG_BENCH_TEXT = ("my hip hurts on the side when I walk and at night when I lie on it, " * 40)[:1999]


def _texts(node, out: List[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                out.append(value)
            else:
                _texts(value, out)
    elif isinstance(node, list):
        for value in node:
            _texts(value, out)
    elif isinstance(node, str):
        out.append(node)


def _long_texts(size: int = 1900) -> List[str]:
    messages: List[str] = []
    for path in sorted((ROOT / "tests" / "triage").glob("*.yml")) + [ROOT / "tests" / "redflags" / "dev_cases.yml"]:
        _texts(yaml.safe_load(path.read_text(encoding="utf-8")), messages)
    texts, blob = [], ""
    for index, message in enumerate(messages):
        blob += message.strip() + ("\n" if index % 4 == 0 else " ")
        if len(blob) >= size:
            texts.append(blob[:size])
            blob = ""
    return texts + [LONG_BENCH_TEXT]


LONG_TEXTS = _long_texts()


@pytest.fixture(scope="module")
def triage():
    pytest.importorskip("medspacy")
    from assistant.triage import Triage

    return Triage.from_file(context="medspacy")


def test_there_are_enough_long_texts():
    assert len(LONG_TEXTS) >= 20 and all(len(text) > 1000 for text in LONG_TEXTS)


def test_prefilter_matches_are_the_full_matchers(triage):
    from assistant.triage.lexicon import chunks, clean

    prefilter = triage._prefilter
    assert prefilter.usable
    narrowed = 0
    for text in LONG_TEXTS:
        for piece in chunks(clean(text)):
            doc = triage._make_doc(piece)
            chosen = prefilter.possible(doc)
            narrowed += len(chosen) < len(prefilter.patterns) // 2
            assert prefilter.matches(doc) == triage.rules.matcher(doc)
    assert narrowed >= len(LONG_TEXTS) // 2  # the subset path is really taken


def test_prefilter_keeps_every_pattern_that_matches(triage):
    """A pattern left out for a text never matches it (the premise of the subset)."""
    from spacy.matcher import Matcher

    prefilter = triage._prefilter
    doc = triage._make_doc(LONG_TEXTS[0])
    kept = set(prefilter.possible(doc))
    for index, (name, pattern) in enumerate(prefilter.patterns):
        if index in kept:
            continue
        single = Matcher(triage._nlp.vocab)
        single.add(name, [pattern])
        assert single(doc) == [], (name, pattern)


def _graph(context, doc):
    graph = doc._.context_graph
    return (
        [
            (m.category, m.modifier_span, m.scope_span, [(t.start, t.end, t.label_) for t in m._targets])
            for m in graph.modifiers
        ],
        [((t.start, t.end, t.label_), m.category, m.modifier_span) for t, m in graph.edges],
    )


def test_linear_context_graph_is_medspacys(triage, monkeypatch):
    from medspacy.context import ConText

    from assistant.triage import context_medspacy

    layer = triage._context_layer
    captured: List[tuple] = []
    real_edges = context_medspacy.MedspacyContext.edges

    def both(self, message, questions):
        result = real_edges(self, message, questions)
        doc = message.doc
        for context in self.contexts:
            doc.user_data[context_medspacy.MESSAGE_KEY] = message
            try:
                linear = _graph(context, context(doc))
                plain = _graph(context, ConText.__call__(context, doc))
            finally:
                doc.user_data.pop(context_medspacy.MESSAGE_KEY, None)
            captured.append((linear, plain))
        return result

    monkeypatch.setattr(context_medspacy.MedspacyContext, "edges", both)
    for text in LONG_TEXTS:
        triage.assess(text)
    assert len(captured) >= len(LONG_TEXTS) * len(layer.contexts)
    assert sum(len(linear[0]) for linear, _ in captured) > 1000  # many modifiers compared
    for linear, plain in captured:
        assert linear == plain


def test_same_results_with_both_paths_off(triage, monkeypatch):
    from medspacy.context import ConText

    from assistant.triage.context_graph import LinearConText

    fast = [triage.assess(text) for text in LONG_TEXTS]
    monkeypatch.setattr(triage._prefilter, "usable", False)
    monkeypatch.setattr(LinearConText, "__call__", ConText.__call__)
    plain = [triage.assess(text) for text in LONG_TEXTS]
    assert [(r.findings, r.hypothetical, r.ruled_out) for r in fast] == [
        (r.findings, r.hypothetical, r.ruled_out) for r in plain
    ]
    assert any(result.findings for result in fast)

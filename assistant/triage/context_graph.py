"""medspacy 1.3.1's ConText with the same results and without its quadratic Python work.

Why: ``ConTextGraph.update_scopes`` calls ``limit_scope`` on every pair of modifiers and
``apply_modifiers`` calls ``modifies`` on every (target, modifier) pair, each call a dozen
Python property reads (about 15 µs). A 2,000-character message has hundreds of cue
matches and concept mentions in one sentence, so these two loops took half of its triage
time (about 70 ms of 140 ms here) and grow with the square of the length.

What is kept exactly: the same calls, in the same order, with the same arguments, for
every pair where a call can have an effect. A pair is skipped only when the call is a
no-op in the state reached at that point, judged by a cheap test on plain integers:

* ``a.limit_scope(b)`` only ever narrows ``a``'s scope: its end to ``b``'s start (``a``
  reads forward or both ways, ``b`` starts after ``a`` and before ``a``'s current scope
  end) or its start to ``b``'s end (``a`` reads backward or both ways, ``b`` ends before
  ``a`` and after ``a``'s current scope start), and only when ``b`` can limit ``a`` at all
  (``a`` is not TERMINATE; ``b`` is TERMINATE, or its category terminates ``a``'s, or it
  is ``a``'s category with the same allowed and excluded types). When neither change is
  possible, the call returns without changing anything, so it is not made.
* ``modifier.modifies(target)`` is False, before its ``on_modifies`` callback runs, when
  the modifier's span overlaps the target, when it is TERMINATE or PSEUDO, or when its
  scope does not overlap the target (medspacy's own ``tuple_overlaps``); those pairs are
  not asked; a target inside one sentence is only tested against the modifiers whose scope
  lies in that sentence or crosses one (a scope inside another sentence shares no token
  with it). All other pairs go through medspacy's ``modifies`` and ``modify`` as before,
  so the callbacks see the same calls in the same order.

tests/triage/test_long_text_paths.py compares both graphs on long texts made of the test messages.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Dict, List, Tuple

from medspacy.context import ConText
from medspacy.context.context_graph import ConTextGraph
from medspacy.context.context_modifier import ConTextModifier
from medspacy.util import tuple_overlaps

logger = logging.getLogger(__name__)


def _limits(a: ConTextModifier, b: ConTextModifier) -> bool:
    """Whether ``b`` is a modifier that may limit ``a``'s scope (``limit_scope``'s
    category and type conditions, which do not change while the graph is built)."""
    if a.direction.upper() == "TERMINATE":
        return False
    if (
        b.direction.upper() != "TERMINATE"
        and b.category.upper() not in a.rule.terminated_by
        and b.category.upper() != a.category.upper()
    ):
        return False
    if a.category == b.category and (a.allowed_types != b.allowed_types or a.excluded_types != b.excluded_types):
        return False
    return True


def _may_narrow(a: ConTextModifier, b: ConTextModifier, forward: bool, backward: bool) -> bool:
    """Whether ``a.limit_scope(b)`` could change ``a``'s scope now (positions only)."""
    if forward and a._start < b._start < a._scope_end:
        return True
    return backward and a._scope_start < b._end < a._end


class LinearContextGraph(ConTextGraph):
    """``ConTextGraph`` whose two pair loops skip the pairs that cannot change anything."""

    def update_scopes(self) -> None:
        modifiers = self.modifiers
        directions: List[Tuple[bool, bool]] = []
        for modifier in modifiers:
            direction = modifier.direction.lower()
            directions.append((direction in ("forward", "bidirectional"), direction in ("backward", "bidirectional")))
        for i in range(len(modifiers) - 1):
            modifier1 = modifiers[i]
            forward1, backward1 = directions[i]
            for j in range(i + 1, len(modifiers)):
                modifier2 = modifiers[j]
                if _may_narrow(modifier1, modifier2, forward1, backward1) and _limits(modifier1, modifier2):
                    modifier1.limit_scope(modifier2)
                forward2, backward2 = directions[j]
                if _may_narrow(modifier2, modifier1, forward2, backward2) and _limits(modifier2, modifier1):
                    modifier2.limit_scope(modifier1)

    def apply_modifiers(self) -> None:
        if self.prune_on_modifier_overlap:  # not used by the triage: medspacy's own loop
            super().apply_modifiers()
            return
        active = [
            (modifier, modifier.modifier_span, modifier.scope_span)
            for modifier in self.modifiers
            if modifier.direction not in ("TERMINATE", "PSEUDO")
        ]
        candidates = _candidates_by_block(self.targets, active)
        for number, target in enumerate(self.targets):
            span = (target.start, target.end)
            for modifier, modifier_span, scope_span in candidates(number):
                if tuple_overlaps(modifier_span, span) or not tuple_overlaps(scope_span, span):
                    continue
                if modifier.modifies(target):
                    modifier.modify(target)
        edges = []
        for modifier in self.modifiers:
            modifier.reduce_targets()
            for target in modifier._targets:
                edges.append((target, modifier))
        self.edges = edges


Active = Tuple[ConTextModifier, Tuple[int, int], Tuple[int, int]]


def _candidates_by_block(targets: List[Any], active: List[Active]) -> Callable[[int], List[Active]]:
    """For target number n, the active modifiers (in their order) whose scope can overlap it.

    ``tuple_overlaps(scope, target)`` needs a non-empty scope sharing a token with the
    target. The doc's sentences cut the tokens into blocks: a scope inside one block and a
    target inside another share no token. So a target inside one block is only asked of
    the modifiers whose scope is inside that block, or crosses blocks; a target that
    crosses blocks is asked of all (modifiers with an empty scope never modify)."""
    if not targets or not active:
        return lambda number: active
    doc = targets[0].doc
    if not doc.has_annotation("SENT_START"):
        return lambda number: active
    block = [0] * len(doc)
    for current, sentence in enumerate(doc.sents):
        block[sentence.start : sentence.end] = [current] * (sentence.end - sentence.start)
    inside: Dict[int, List[int]] = {}
    crossing: List[int] = []
    for position, (_, _, (start, end)) in enumerate(active):
        if start >= end:
            continue
        if block[start] == block[end - 1]:
            inside.setdefault(block[start], []).append(position)
        else:
            crossing.append(position)

    def candidates(number: int) -> List[Active]:
        target = targets[number]
        if target.end <= target.start or block[target.start] != block[target.end - 1]:
            return active
        positions = inside.get(block[target.start], [])
        if crossing:
            positions = sorted(positions + crossing)
        return [active[position] for position in positions]

    return candidates


class LinearConText(ConText):
    """medspacy's ``ConText`` building a ``LinearContextGraph`` (``__call__`` as in
    medspacy 1.3.1, the graph class aside)."""

    def __call__(self, doc: Any, targets: Any = None) -> Any:
        if not targets and self.input_span_type == "ents":
            targets = doc.ents
        elif not targets and self.input_span_type == "group":
            targets = doc.spans[self.span_group_name]
        elif targets:
            targets = getattr(doc._, targets)
        graph = LinearContextGraph(prune_on_modifier_overlap=self.prune_on_target_overlap)
        graph.targets = targets
        graph.modifiers = []
        matcher = self._ConText__matcher  # medspacy keeps its matcher private
        for match_id, start, end in matcher(doc):
            rule = matcher.rule_map[self.nlp.vocab[match_id].text]
            graph.modifiers.append(ConTextModifier(rule, start, end, doc, max_scope=self.max_scope))
        graph.update_scopes()
        graph.apply_modifiers()
        for target, modifier in graph.edges:
            target._.modifiers += (modifier,)
        if self.context_attributes_mapping:
            self.set_context_attributes(graph.edges)
        doc._.context_graph = graph
        return doc

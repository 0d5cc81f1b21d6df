"""Held-out sets v2 (written by someone who never saw the training data) and their figures.

Files in ``evaluation/holdout/``: ``nlu_v2.yml`` (items ``{text, topic, category}``),
``red_flags_v2.yml`` (``{text, expect, flag, category}``) and ``conversations_v2.yml``
(``{name, turns: [{user, topic, escalation}]}``). ``topic`` may be one id or a list of
acceptable ids. The figures are pure functions of the items and the served turns
(``evaluation.served.Turn``-like dicts: ``topics``, ``escalation``, ``flags``, ``check``), so
they are unit-tested without a server. Reports carry aggregates only, never a held-out
text: nobody tunes to a case they cannot see.
"""

from collections import defaultdict
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Set

import yaml

from evaluation.metrics import TIER_RANK, TIERS

# Contract topics that are not the question's answer: a red-flag warning comes first and
# the question's answer after it, so the turn's answer is its last other topic.
NOT_AN_ANSWER = ("red_flag",)


def load_items(path: Path) -> List[Dict[str, Any]]:
    """The list of items of a held-out file: a top-level list, or a mapping holding one list."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if isinstance(data, list):
        items = data
    elif isinstance(data, dict):
        lists = [v for v in data.values() if isinstance(v, list)]
        if len(lists) != 1:
            raise ValueError(f"{path}: expected one list of items, found {len(lists)}")
        items = lists[0]
    else:
        raise ValueError(f"{path}: not a list of items")
    if not all(isinstance(i, dict) for i in items):
        raise ValueError(f"{path}: every item must be a mapping")
    return items


def acceptable(topic: Any) -> Set[str]:
    """The topic ids an item accepts (one id or a list of ids)."""
    if topic is None:
        return set()
    if isinstance(topic, (list, tuple, set)):
        return {str(t) for t in topic}
    return {str(topic)}


def norm_case_space(text: str) -> str:
    """Lower case, whitespace collapsed: "the same message" for the unseen-only filter."""
    return " ".join(str(text).lower().split())


def split_unseen(items: Sequence[Dict[str, Any]], train_texts: Iterable[str], key: str = "text"):
    """(unseen items, number dropped): items whose text is not also a training example."""
    train = {norm_case_space(t) for t in train_texts}
    unseen = [i for i in items if norm_case_space(i.get(key, "")) not in train]
    return unseen, len(items) - len(unseen)


def answer_topic(turn: Dict[str, Any]) -> Optional[str]:
    """What the turn answered: its last topic that is not a red-flag warning, else its first."""
    topics = list(turn.get("topics") or [])
    answers = [t for t in topics if t not in NOT_AN_ANSWER]
    if answers:
        return answers[-1]
    return topics[0] if topics else None


def topic_right(expected: Any, turn: Dict[str, Any]) -> bool:
    """The turn answered an acceptable topic (``red_flag`` expected: a warning was given)."""
    ok = acceptable(expected)
    if "red_flag" in ok and "red_flag" in (turn.get("topics") or []):
        return True
    return answer_topic(turn) in ok


def _rate(hits: int, n: int) -> Optional[float]:
    return hits / n if n else None


def by_category(rows: Iterable[tuple]) -> Dict[str, Dict[str, Any]]:
    """``{category: {n, right, accuracy}}`` from (category, right) pairs, plus ``all``."""
    counts: Dict[str, List[int]] = defaultdict(lambda: [0, 0])
    for category, right in rows:
        for key in (str(category or "uncategorised"), "all"):
            counts[key][0] += 1
            counts[key][1] += bool(right)
    return {k: {"n": n, "right": r, "accuracy": _rate(r, n)} for k, (n, r) in sorted(counts.items())}


def topic_figures(
    items: Sequence[Dict[str, Any]], turns: Sequence[Dict[str, Any]], baseline: Sequence[str]
) -> Dict[str, Any]:
    """Served accuracy and TF-IDF 1-NN accuracy per category on the same (unseen) items."""
    if not len(items) == len(turns) == len(baseline):
        raise ValueError("items, turns and baseline predictions differ in length")
    served = by_category((i.get("category"), topic_right(i.get("topic"), t)) for i, t in zip(items, turns))
    tfidf = by_category((i.get("category"), p in acceptable(i.get("topic"))) for i, p in zip(items, baseline))
    escalated = sum(TIER_RANK.get(t.get("escalation"), 0) > 0 for t in turns)
    return {"served": served, "tfidf": tfidf, "escalated": escalated, "n": len(items)}


def red_flag_figures(items: Sequence[Dict[str, Any]], turns: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
    """Recall per tier and per category (tier reached ≥ expected), flag ids, false alarms.

    A check question ("do you have ... right now?") is not an escalation: it is counted
    apart (``checked``) and the case counts as found only once escalated.
    """
    if len(items) != len(turns):
        raise ValueError("items and turns differ in length")
    tiers: Dict[str, Dict[str, Any]] = {}
    for tier in TIERS:
        rows = [(i, t) for i, t in zip(items, turns) if i.get("expect") == tier]
        found = sum(TIER_RANK.get(t.get("escalation"), 0) >= TIER_RANK[tier] for _, t in rows)
        exact = sum(t.get("escalation") == tier for _, t in rows)
        checked = sum(bool(t.get("check")) and TIER_RANK.get(t.get("escalation"), 0) == 0 for _, t in rows)
        tiers[tier] = {
            "n": len(rows),
            "found": found,
            "recall": _rate(found, len(rows)),
            "exact": exact,
            "checked_only": checked,
        }
    flagged = [(i, t) for i, t in zip(items, turns) if i.get("expect") in TIERS]
    categories = by_category(
        (i.get("category"), TIER_RANK.get(t.get("escalation"), 0) >= TIER_RANK[i["expect"]]) for i, t in flagged
    )
    with_flag = [(i, t) for i, t in flagged if i.get("flag")]
    flag_hits = sum(bool(acceptable(i["flag"]) & set(t.get("flags") or [])) for i, t in with_flag)
    quiet = [(i, t) for i, t in zip(items, turns) if i.get("expect") not in TIERS]
    alarms = sum(TIER_RANK.get(t.get("escalation"), 0) > 0 for _, t in quiet)
    quiet_categories = by_category((i.get("category"), TIER_RANK.get(t.get("escalation"), 0) == 0) for i, t in quiet)
    return {
        "cases": len(items),
        "tiers": tiers,
        "recall_by_category": categories,
        "flag_id_recall": _rate(flag_hits, len(with_flag)),
        "flags_expected": len(with_flag),
        "flags_found": flag_hits,
        "none_cases": len(quiet),
        "false_alarms": alarms,
        "false_alarm_rate": _rate(alarms, len(quiet)),
        "quiet_by_category": quiet_categories,
        "checks_on_quiet": sum(bool(t.get("check")) for _, t in quiet),
    }


def turn_right(expected: Dict[str, Any], turn: Dict[str, Any]) -> bool:
    """A conversation turn is right when its topic (if given) and escalation (if given) are."""
    if expected.get("topic") is not None and not topic_right(expected["topic"], turn):
        return False
    if expected.get("escalation") is not None and turn.get("escalation") != expected["escalation"]:
        return False
    return True


def conversation_figures(
    conversations: Sequence[Dict[str, Any]], served: Sequence[Sequence[Dict[str, Any]]]
) -> Dict[str, Any]:
    """Turn accuracy, whole conversations right, red-flag turns escalated, false alarms."""
    if len(conversations) != len(served):
        raise ValueError("conversations and served turns differ in length")
    turns = right = whole = flag_turns = flag_escalated = quiet_turns = quiet_alarms = 0
    for conversation, replies in zip(conversations, served):
        expected_turns = conversation.get("turns") or []
        if len(expected_turns) != len(replies):
            raise ValueError("a conversation's served turns differ in number from its turns")
        results = [turn_right(e, r) for e, r in zip(expected_turns, replies)]
        turns += len(results)
        right += sum(results)
        whole += all(results)
        for e, r in zip(expected_turns, replies):
            rank = TIER_RANK.get(r.get("escalation"), 0)
            if e.get("escalation") in TIERS:
                flag_turns += 1
                flag_escalated += rank >= TIER_RANK[e["escalation"]]
            elif e.get("escalation") is not None:
                quiet_turns += 1
                quiet_alarms += rank > 0
    return {
        "conversations": len(conversations),
        "conversations_right": whole,
        "turns": turns,
        "turns_right": right,
        "turn_accuracy": _rate(right, turns),
        "red_flag_turns": flag_turns,
        "red_flag_turns_escalated": flag_escalated,
        "red_flag_turn_recall": _rate(flag_escalated, flag_turns),
        "quiet_turns": quiet_turns,
        "quiet_turn_false_alarms": quiet_alarms,
    }

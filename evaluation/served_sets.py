"""The held-out sets through the REST channel, beside the TF-IDF 1-NN baseline.

For each set in ``evaluation/holdout/`` that exists: single messages get a fresh
conversation each; a conversation keeps one sender for all its turns. Messages whose text
also occurs in the training data (case- and space-insensitive) are dropped from the
single-message sets and counted. The TF-IDF baseline is fitted once on the project's own
training examples and scored on exactly the messages the served assistant got.
"""

import logging
import math
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from evaluation.baselines import build_baseline
from evaluation.common import load_examples, load_redflag_cases, model_description, rel
from evaluation.heldout import (
    conversation_figures,
    load_items,
    red_flag_figures,
    split_unseen,
    topic_figures,
)
from evaluation.served import Stack

logger = logging.getLogger(__name__)

SETS = {  # file name -> kind
    "nlu_v1.yml": "nlu_rasa",
    "nlu_v2.yml": "nlu",
    "red_flags_v1.yml": "red_flags_v1",
    "red_flags_v2.yml": "red_flags",
    "conversations_v2.yml": "conversations",
}


def intent_topic(intent: str) -> Optional[str]:
    """The contract topic an intent's reply carries (None: depends on the conversation)."""
    from assistant.topics import CONTENT_TOPICS, CONVERSATION_TOPICS

    if intent in CONTENT_TOPICS:
        return intent
    return CONVERSATION_TOPICS.get(intent)


def _ask_all(stack: Stack, texts: Sequence[str]) -> Tuple[List[Dict[str, Any]], List[float]]:
    turns, latencies = [], []
    for text in texts:
        started = time.perf_counter()
        turns.append(stack.ask(text))
        latencies.append((time.perf_counter() - started) * 1000)
    return turns, latencies


def _contract(turns: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
    kinds = Counter(v for t in turns for v in t.get("violations") or [])
    return {
        "turns": len(turns),
        "turns_violating": sum(bool(t.get("violations")) for t in turns),
        "violations": dict(kinds.most_common()),
    }


def _latency(latencies: Sequence[float]) -> Dict[str, Any]:
    """Median and 95th percentile (nearest rank) of the per-message times."""
    if not latencies:
        return {"p50_ms": None, "p95_ms": None}
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]
    return {"p50_ms": round(statistics.median(ordered), 1), "p95_ms": round(p95, 1)}


def topic_set(stack: Stack, items: List[Dict[str, Any]], train_texts: Sequence[str], baseline) -> Dict[str, Any]:
    unseen, dropped = split_unseen(items, train_texts)
    turns, latencies = _ask_all(stack, [i["text"] for i in unseen])
    predictions = [intent_topic(str(p)) or str(p) for p in baseline.predict([i["text"] for i in unseen])]
    return {
        "total": len(items),
        "dropped_seen": dropped,
        **topic_figures(unseen, turns, predictions),
        "contract": _contract(turns),
        "latency": _latency(latencies),
    }


def red_flag_set(stack: Stack, items: List[Dict[str, Any]], train_texts: Sequence[str]) -> Dict[str, Any]:
    unseen, dropped = split_unseen(items, train_texts)
    turns, latencies = _ask_all(stack, [i["text"] for i in unseen])
    return {
        "total": len(items),
        "dropped_seen": dropped,
        **red_flag_figures(unseen, turns),
        "contract": _contract(turns),
        "latency": _latency(latencies),
    }


def conversation_set(stack: Stack, conversations: List[Dict[str, Any]]) -> Dict[str, Any]:
    served, all_turns = [], []
    for conversation in conversations:
        sender = stack.new_sender()
        replies = [stack.ask(str(turn.get("user", "")), sender=sender) for turn in conversation.get("turns") or []]
        served.append(replies)
        all_turns += replies
    return {**conversation_figures(conversations, served), "contract": _contract(all_turns)}


def load_set(kind: str, path: Path) -> List[Dict[str, Any]]:
    """A held-out file as items of its kind (v1 files are converted to the v2 item shape)."""
    if kind == "nlu_rasa":
        texts, intents = load_examples(path)
        return [{"text": t, "topic": intent_topic(i), "category": "v1 (all)"} for t, i in zip(texts, intents)]
    if kind == "red_flags_v1":
        return [
            {"text": c["text"], "expect": c["expect"], "flag": c.get("flags") or None, "category": "v1 (all)"}
            for c in load_redflag_cases(path)
        ]
    return load_items(path)


def run_served(
    model: Path,
    holdout_dir: Path,
    nlu_path: Path,
    url: Optional[str] = None,
    rasa_port: int = 5805,
    actions_port: int = 5855,
) -> Dict[str, Any]:
    """Every held-out set that exists, through one served stack."""
    from assistant.topics import CONTENT_TOPICS

    train_texts, train_labels = load_examples(nlu_path)
    baseline = build_baseline().fit(list(train_texts), list(train_labels))
    present = {name: holdout_dir / name for name in SETS if (holdout_dir / name).exists()}
    if not present:
        raise FileNotFoundError(f"no held-out sets in {rel(holdout_dir)}")
    results: Dict[str, Any] = {}
    served_model = "the running server's" if url else model_description(model)  # as loaded at start
    with Stack(model, url=url, rasa_port=rasa_port, actions_port=actions_port, content_topics=CONTENT_TOPICS) as stack:
        for name, path in present.items():
            kind, started = SETS[name], time.monotonic()
            items = load_set(kind, path)
            if kind in ("nlu", "nlu_rasa"):
                skipped = [i for i in items if not i.get("topic")]  # follow-ups need a conversation
                result = topic_set(stack, [i for i in items if i.get("topic")], train_texts, baseline)
                result["skipped_follow_up_intents"] = len(skipped)
            elif kind in ("red_flags", "red_flags_v1"):
                result = red_flag_set(stack, items, train_texts)
            else:
                result = conversation_set(stack, items)
            results[name] = {"kind": kind, "file": rel(path), "seconds": round(time.monotonic() - started, 1), **result}
            print(f"  {name}: done in {results[name]['seconds']:.0f} s", flush=True)
        served_by = stack.url if stack.reused else f"started here (Rasa :{rasa_port}, actions :{actions_port})"
    return {
        "served_by": served_by,
        "model": served_model,
        "messages": stack.messages,
        "train_examples": len(train_texts),
        "sets": results,
    }

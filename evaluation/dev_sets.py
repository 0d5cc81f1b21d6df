"""`make evaluate-dev`: the development sets through the served assistant, with their misses.

The files in ``evaluation/dev/`` are written like the held-out sets (by helpers who never saw
the training data) but are *for tuning*: this runner prints every miss with its text so a
developer can see what went wrong. The held-out sets are never printed (evaluation.served_sets).

Kinds by file name: ``nlu_dev_*`` (``examples: {text, topic, category}``), ``red_flags_dev_*``
(``cases: {text, expect, flags, category}``), ``conversations_dev_*`` (``conversations``). Each
single message gets a fresh conversation; a conversation keeps one sender.

Usage, from the project root (the Makefile sets PYTHONPATH):
    python -m evaluation.dev_sets [FILES...] [--json OUT] [--port 5905] [--rasa-url URL]
Without FILES: every file in evaluation/dev/.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evaluation.common import ROOT, rel  # noqa: E402
from evaluation.heldout import (  # noqa: E402
    acceptable,
    answer_topic,
    by_category,
    load_items,
    topic_right,
    turn_right,
)
from evaluation.metrics import TIER_RANK, TIERS  # noqa: E402
from evaluation.served import Stack  # noqa: E402

DEV = ROOT / "evaluation" / "dev"
MODEL = ROOT / "models" / "gluteus-assistant.tar.gz"


def kind_of(path: Path) -> str:
    for prefix in ("nlu_dev", "red_flags_dev", "conversations_dev"):
        if path.name.startswith(prefix):
            return prefix
    raise ValueError(f"{path.name}: not a development set (nlu_dev_*, red_flags_dev_*, conversations_dev_*)")


def _short(turn: Dict[str, Any]) -> Dict[str, Any]:
    return {k: turn.get(k) for k in ("topics", "escalation", "flags", "check")}


def rank(turn: Dict[str, Any]) -> int:
    return TIER_RANK.get(turn.get("escalation"), 0)


def run_topics(stack: Stack, items: List[Dict[str, Any]]) -> Dict[str, Any]:
    rows, misses = [], []
    for item in items:
        turn = stack.ask(str(item["text"]))
        right = topic_right(item.get("topic"), turn)
        rows.append((item.get("category"), right))
        if not right:
            misses.append({"text": item["text"], "want": item.get("topic"), "got": answer_topic(turn), **_short(turn)})
    escalated = sum(1 for m in misses if TIER_RANK.get(m.get("escalation"), 0) > 0)
    return {"by_category": by_category(rows), "misses": misses, "escalated_misses": escalated}


def run_red_flags(stack: Stack, items: List[Dict[str, Any]]) -> Dict[str, Any]:
    rows, misses = [], []
    for item in items:
        turn = stack.ask(str(item["text"]))
        expect = item.get("expect")
        right = rank(turn) >= TIER_RANK[expect] if expect in TIERS else rank(turn) == 0
        tier = expect if expect in TIERS else "none"
        rows.append((f"{tier} / {item.get('category')}", right))
        rows.append((f"tier {tier}", right))
        if not right:
            misses.append({"text": item["text"], "want": expect, "want_flags": item.get("flags"), **_short(turn)})
        elif expect in TIERS and item.get("flags") and not acceptable(item["flags"]) & set(turn.get("flags") or []):
            misses.append({"text": item["text"], "note": "tier right, flag id not", **_short(turn)})
    return {"by_category": by_category(rows), "misses": misses}


def run_conversations(stack: Stack, conversations: List[Dict[str, Any]]) -> Dict[str, Any]:
    rows, misses = [], []
    for conversation in conversations:
        sender = stack.new_sender()
        for index, expected in enumerate(conversation.get("turns") or []):
            turn = stack.ask(str(expected.get("user", "")), sender=sender)
            right = turn_right(expected, turn)
            rows.append((conversation.get("category"), right))
            if not right:
                misses.append(
                    {
                        "conversation": conversation.get("id"),
                        "turn": index + 1,
                        "text": expected.get("user"),
                        "want": [expected.get("topic"), expected.get("escalation")],
                        **_short(turn),
                    }
                )
    return {"by_category": by_category(rows), "misses": misses}


RUNNERS = {"nlu_dev": run_topics, "red_flags_dev": run_red_flags, "conversations_dev": run_conversations}


def print_result(path: Path, result: Dict[str, Any], seconds: float) -> None:
    print(f"\n== {rel(path)} ({seconds:.0f} s)")
    for category, figures in result["by_category"].items():
        print(f"  {category:<40} {figures['right']:>4}/{figures['n']:<4} {figures['accuracy']:.3f}")
    for miss in result["misses"]:
        print("  MISS", json.dumps(miss, ensure_ascii=False))


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--json", type=Path, help="write every figure and miss here")
    parser.add_argument("--port", type=int, default=5905, help="Rasa port (actions: port + 50)")
    parser.add_argument("--rasa-url", default=os.environ.get("RASA_URL"))
    args = parser.parse_args(argv)
    from assistant.topics import CONTENT_TOPICS

    files = args.files or sorted(DEV.glob("*.yml"))
    results: Dict[str, Any] = {}
    with Stack(
        MODEL, url=args.rasa_url, rasa_port=args.port, actions_port=args.port + 50, content_topics=CONTENT_TOPICS
    ) as stack:
        for path in files:
            started = time.monotonic()
            result = RUNNERS[kind_of(path)](stack, load_items(path))
            print_result(path, result, time.monotonic() - started)
            results[rel(path)] = result
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

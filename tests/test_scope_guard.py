"""ScopeGuard: out of scope yields to the best content topic when the hip or buttock is named."""

from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from components.scope_guard import ScopeGuard, reorder


def ranked(*pairs):
    return [{"name": n, "confidence": c} for n, c in pairs]


def message(ranking, body_parts):
    msg = Message(data={TEXT: "a story"})
    msg.set(INTENT, ranking[0])
    msg.set(INTENT_RANKING_KEY, ranking)
    msg.set(ENTITIES, [{"entity": "body_part", "value": v, "start": 0, "end": 1} for v in body_parts])
    return msg


def test_hip_named_content_topic_wins_and_swaps_confidence():
    guard = ScopeGuard({})
    msg = message(ranked(("other_body_part", 0.7), ("greet", 0.1), ("weakness", 0.15)), ["knee", "buttock"])
    guard.process([msg])
    assert msg.get(INTENT) == {"name": "weakness", "confidence": 0.7}
    assert [r["name"] for r in msg.get(INTENT_RANKING_KEY)] == ["weakness", "other_body_part", "greet"]
    assert msg.get(INTENT_RANKING_KEY)[1]["confidence"] == 0.15


def test_no_hip_word_or_no_real_candidate_leaves_it_out_of_scope():
    guard = ScopeGuard({})
    knee_only = message(ranked(("other_body_part", 0.8), ("weakness", 0.15)), ["knee"])
    floor = message(ranked(("out_of_scope", 0.9), ("causes", 0.01)), ["hip"])
    guard.process([knee_only, floor])
    assert knee_only.get(INTENT)["name"] == "other_body_part"
    assert floor.get(INTENT)["name"] == "out_of_scope"


def test_a_content_topic_on_top_is_never_touched():
    ranking = ranked(("causes", 0.6), ("out_of_scope", 0.3))
    assert reorder(ranking, 0.05) is ranking
    assert reorder([], 0.05) == []

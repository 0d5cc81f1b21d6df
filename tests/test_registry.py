"""One topic registry: content/catalogue.yml holds the topic ids, titles and start menu.

Everything else that names a topic (the domain's intents, the content rule, the reply
contract, topics.py's refinements, the front ends' label tables) is checked against it here,
so a topic added, renamed or dropped in one place and not the others fails a test.
"""

import re
import subprocess
import sys

import pytest
import yaml

from assistant import validate
from assistant.catalogue import load_catalogue
from assistant.paths import ROOT
from assistant.topics import (
    CONTENT_TOPICS,
    CONVERSATION_TOPIC_IDS,
    CONVERSATION_TOPICS,
    EXERCISE_TOPICS,
    FOLLOW_UP_INTENTS,
    MENU,
    TREATMENT_TOPICS,
)

CATALOGUE_RAW = yaml.safe_load((ROOT / "content" / "catalogue.yml").read_text(encoding="utf-8"))
DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
INTENTS = [i if isinstance(i, str) else next(iter(i)) for i in DOMAIN["intents"]]
JS_FILES = sorted((ROOT / "web" / "static").glob("*.js"))


def _js_table(name: str):
    """The text of ``var NAME = {...};`` / ``[...]`` in the front-end scripts, or None if gone."""
    for path in JS_FILES:
        match = re.search(rf"var {name} = ([\[{{].*?[\]}}]);", path.read_text(encoding="utf-8"), flags=re.S)
        if match:
            return match.group(1)
    return None


def _js_keys(table: str):
    return re.findall(r"^\s*([a-z_]+):", table, flags=re.M)


def _content_rule_intents():
    rules = yaml.safe_load((ROOT / "data" / "rules" / "content.yml").read_text(encoding="utf-8"))["rules"]
    rule = next(r for r in rules if any(s.get("action") == "action_answer_topic" for s in r["steps"]))
    return [step["intent"] for step in rule["steps"][0]["or"]]


def test_content_topics_are_the_catalogue_topics_in_order():
    assert CONTENT_TOPICS == tuple(CATALOGUE_RAW["topics"])
    assert MENU == tuple(CATALOGUE_RAW["menu"])
    assert len(set(CONTENT_TOPICS)) == len(CONTENT_TOPICS) == 26


def test_catalogue_topics_are_the_contract_topics():
    if not validate.CONTRACT.exists():
        pytest.skip("../shared/reply-contract.md is not beside the project")
    assert validate.contract_topics() == set(CONTENT_TOPICS)


def test_conversation_topic_ids_are_the_contract_ones():
    if not validate.CONTRACT.exists():
        pytest.skip("../shared/reply-contract.md is not beside the project")
    section = validate.CONTRACT.read_text(encoding="utf-8").split("Conversation topics", 1)[1]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    assert {t for row in rows for t in re.findall(r"`([a-z_]+)`", row.split("|")[1])} == set(CONVERSATION_TOPIC_IDS)


def test_every_topic_is_a_domain_intent_and_every_intent_maps_to_a_topic():
    assert set(CONTENT_TOPICS) <= set(INTENTS)
    mapped = set(CONTENT_TOPICS) | set(CONVERSATION_TOPICS) | set(FOLLOW_UP_INTENTS)
    assert [i for i in INTENTS if i not in mapped] == []
    assert set(CONVERSATION_TOPICS.values()) <= set(CONVERSATION_TOPIC_IDS)


def test_the_content_rule_answers_exactly_the_catalogue_topics():
    assert sorted(_content_rule_intents()) == sorted(CONTENT_TOPICS)


def test_menu_and_refinements_name_catalogue_topics():
    catalogue = load_catalogue()
    assert MENU and all(catalogue.topic(t) for t in MENU)
    assert set(EXERCISE_TOPICS.values()) <= set(CONTENT_TOPICS)
    assert set(TREATMENT_TOPICS.values()) <= set(CONTENT_TOPICS)
    for topic in catalogue.topics.values():
        assert set(topic.follow_ups) <= set(CONTENT_TOPICS), topic.id


def test_front_end_topic_labels_name_registry_topics():
    table = _js_table("TOPIC_LABELS")
    if table is None:  # labels come from the reply payload: no table may list topic ids again
        for path in JS_FILES:
            text = path.read_text(encoding="utf-8")
            listed = [t for t in CONTENT_TOPICS if re.search(rf"^\s*{t}\s*:", text, flags=re.M)]
            assert len(listed) < 3, f"{path.name} lists topic ids {listed}: read them from the catalogue"
        return
    keys = _js_keys(table)
    assert set(keys) <= set(CONTENT_TOPICS) | set(CONVERSATION_TOPIC_IDS), set(keys) - set(CONTENT_TOPICS)
    assert [t for t in CONTENT_TOPICS if t not in keys] == [], "every content topic needs a label"


def test_front_end_starters_offer_the_menu():
    table = _js_table("STARTER_TOPICS")
    if table is None:
        assert not any("STARTER_TOPICS = [" in p.read_text(encoding="utf-8") for p in JS_FILES)
        return
    payloads = re.findall(r'payload:\s*"/([a-z_]+)"', table)
    assert payloads and set(payloads) <= set(INTENTS), set(payloads) - set(INTENTS)
    assert [t for t in MENU if t not in payloads] == [], "the start screen offers the catalogue's menu"


def test_front_end_flag_labels_are_the_red_flag_ids():
    table = _js_table("FLAG_LABELS")
    rules = yaml.safe_load((ROOT / "content" / "red_flags.yml").read_text(encoding="utf-8"))
    flag_ids = {f["id"] for f in rules["flags"]}
    if table is None:
        for path in JS_FILES:
            text = path.read_text(encoding="utf-8")
            listed = [f for f in flag_ids if re.search(rf"^\s*{f}\s*:", text, flags=re.M)]
            assert len(listed) < 3, f"{path.name} lists red-flag ids {listed}: read them from the payload"
        return
    assert set(_js_keys(table)) == flag_ids


def test_importing_the_action_server_stays_light():
    """topics.py reads the catalogue at import; that must not pull in spaCy or the triage."""
    code = (
        "import sys, actions, assistant.topics; "
        "print('spacy' in sys.modules, any(m.startswith('assistant.triage') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"], out.stderr


def test_served_labels_come_from_the_registry():
    """The front ends' /assistant.json: catalogue titles, red-flag ids, contract topic ids only."""
    public_settings = pytest.importorskip("web.public_settings")
    labels = public_settings.topic_labels()
    catalogue = load_catalogue()
    assert all(labels[t] == catalogue.title(t) for t in CONTENT_TOPICS)
    assert set(labels) <= set(CONTENT_TOPICS) | set(CONVERSATION_TOPIC_IDS)
    rules = yaml.safe_load((ROOT / "content" / "red_flags.yml").read_text(encoding="utf-8"))
    assert set(public_settings.flag_labels()) == {f["id"] for f in rules["flags"]}

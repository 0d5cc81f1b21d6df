"""Check the knowledge files against each other and against the reply contract.

Run ``python -m assistant.validate`` (``make validate-content``; the tests run it too).
It checks that

* every content file has the shape its schema allows (``assistant/schema``; the red-flag
  table's is ``assistant/triage/schema.py``): no unknown key, no wrong type, each problem
  reported with the file and line;
* the yes/no check questions of ``conversation.yml`` name red-flag ids that exist;
* every content topic id of ``../shared/reply-contract.md`` has content: a title, an
  answer, sources that exist, follow-ups that exist, and no phone number or medicine dose;
* every intent in ``domain.yml`` maps to a topic and has a rule, every action in the
  domain is implemented, and there are no orphan domain responses;
* the conversation wording has every key the code uses, with known placeholders;
* the clinic profile has only known keys;
* the lexicon's entity types are the domain's, and the exercise and treatment values the
  topic registry refines by exist in the lexicon.
"""

import re
import string
import sys
from pathlib import Path
from typing import Iterable, List, Optional, Set, Tuple, Type

import yaml
from pydantic import BaseModel

from assistant import schema
from assistant.catalogue import Catalogue, load_catalogue
from assistant.paths import ROOT, SHARED
from assistant.schema.models import CatalogueFile, ClinicProfileFile, ConversationFile, LexiconFile
from assistant.topics import (
    CONTENT_TOPICS,
    CONVERSATION_TOPICS,
    EXERCISE_TOPICS,
    FOLLOW_UP_INTENTS,
    TREATMENT_TOPICS,
)

CONTRACT = SHARED / "reply-contract.md"
PLACEHOLDERS = {
    "clinic",
    "phone",
    "emergency_number",
    "emergency_department",
    "urgent_line",
    "booking",
    "title",
    "limit",
    "phone_part",
}
WORDING_KEYS = (
    "disclaimer",
    "routine",
    "emergency.lead",
    "emergency.after",
    "urgent.lead",
    "urgent.watch",
    "urgent.worse",
    "safety_net",
    "greet",
    "goodbye",
    "thanks_goodbye",
    "thanks",
    "capabilities",
    "anything_else",
    "acknowledged",
    "what_next",
    "appointment.configured",
    "appointment.unconfigured",
    "handoff.configured",
    "handoff.unconfigured",
    "handoff.kiosk_hint",
    "out_of_scope",
    "other_body_part",
    "clarify",
    "clarify_none",
    "something_else",
    "more_none",
    "no_topic_yet",
    "choose_unknown",
    "empty_message",
    "too_long",
    "unavailable",
    "crisis.lead",
    "crisis.clinic",
    "after_red_flag.crisis",
    "after_red_flag.emergency",
    "after_red_flag.urgent",
    "after_red_flag.goodbye",
    "after_red_flag.thanks_goodbye",
    "check.emergency",
    "check.urgent",
    "check.yes",
    "check.no",
    "check.answered_no",
)
# Placeholders only some wording gets (the reply builder passes them for these keys only).
KEY_PLACEHOLDERS = {
    "crisis.lead": {"crisis_line"},
    "after_red_flag.crisis": {"crisis_line"},
    "check.emergency": {"watch_for"},
    "check.urgent": {"watch_for"},
}
PHONE_LIKE = re.compile(r"(?<![\w.])(?:\+?\d[\d ()-]{5,}\d)(?![\w.])")
DOSE_LIKE = re.compile(r"\b\d+(?:\.\d+)?\s?(?:mg|milligrams?|ml|mcg|g|tablets?|pills?|capsules?)\b", re.I)


def contract_topics(path: Path = CONTRACT) -> Set[str]:
    """Content topic ids from the contract's "Content topics" table (empty if it is absent)."""
    if not path.exists():
        return set()
    text = path.read_text(encoding="utf-8")
    section = text.split("Content topics", 1)[-1].split("Conversation topics", 1)[0]
    return set(re.findall(r"^\|\s*`([a-z_]+)`\s*\|", section, flags=re.M))


def _placeholders(template: str) -> Set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def check_catalogue(catalogue: Catalogue) -> List[str]:
    problems = []
    expected = set(CONTENT_TOPICS)
    from_contract = contract_topics()
    if from_contract and from_contract != expected:
        problems.append(f"topic ids differ from the reply contract: {sorted(from_contract ^ expected)}")
    for missing in sorted(expected - set(catalogue.topics)):
        problems.append(f"topic {missing}: no content in the catalogue")
    for extra in sorted(set(catalogue.topics) - expected):
        problems.append(f"topic {extra}: in the catalogue but not a contract topic id")
    for topic in catalogue.topics.values():
        where = f"topic {topic.id}"
        if not topic.title:
            problems.append(f"{where}: no title")
        if not topic.answer:
            problems.append(f"{where}: no answer")
        if not topic.sources:
            problems.append(f"{where}: no (known) sources")
        for follow_up in topic.follow_ups:
            if follow_up not in catalogue.topics:
                problems.append(f"{where}: follow-up {follow_up} is not a topic")
        for text in (topic.answer, topic.more, *topic.steps):
            if PHONE_LIKE.search(text):
                problems.append(f"{where}: contains a phone number (numbers belong in clinic/profile.yml)")
            if DOSE_LIKE.search(text):
                problems.append(f"{where}: contains a medicine dose")
    for key, source in catalogue.sources.items():
        if not source.title or not source.publisher:
            problems.append(f"source {key}: needs a title and a publisher")
    return problems


def check_wording(catalogue: Catalogue) -> List[str]:
    problems = []
    for key in WORDING_KEYS:
        text = catalogue.say(key)
        if not text:
            problems.append(f"conversation wording {key}: missing")
        unknown = _placeholders(text) - PLACEHOLDERS - KEY_PLACEHOLDERS.get(key, set())
        if unknown:
            problems.append(f"conversation wording {key}: unknown placeholders {sorted(unknown)}")
    checks = catalogue.wording.get("checks") or {}
    for flag, question in checks.items():
        text = question.get("question", "") if isinstance(question, dict) else str(question)
        if _placeholders(text):
            problems.append(f"conversation wording checks.{flag}: a check question takes no placeholders")
    return problems


def _rule_intents(paths: Iterable[Path]) -> Set[str]:
    intents: Set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            if "intent" in node and isinstance(node["intent"], str):
                intents.add(node["intent"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for path in paths:
        walk(yaml.safe_load(path.read_text(encoding="utf-8")))
    return intents


def check_domain(root: Path = ROOT, implemented: Optional[Set[str]] = None) -> List[str]:
    """Domain intents against the topic registry and the rules; with ``implemented`` (the
    action server's action names, which the tests pass in), the domain's actions too.
    The core never imports the action server's code itself."""
    problems = []
    domain = yaml.safe_load((root / "domain.yml").read_text(encoding="utf-8"))
    intents = [i if isinstance(i, str) else next(iter(i)) for i in domain.get("intents", [])]
    mapped = set(CONTENT_TOPICS) | set(CONVERSATION_TOPICS) | set(FOLLOW_UP_INTENTS)
    for intent in intents:
        if intent not in mapped:
            problems.append(f"intent {intent}: maps to no topic")
    ruled = _rule_intents(sorted((root / "data").glob("rules/*.yml")) + sorted((root / "data").glob("stories/*.yml")))
    for intent in intents:
        if intent not in ruled:
            problems.append(f"intent {intent}: no rule or story answers it")
    if implemented is not None:
        for action in domain.get("actions", []):
            if action not in implemented:
                problems.append(f"action {action}: listed in the domain but not implemented")
        for action in sorted(implemented - set(domain.get("actions", []))):
            problems.append(f"action {action}: implemented but not listed in the domain")
    for response in domain.get("responses") or {}:
        problems.append(f"response {response}: domain responses are not used (orphan); put wording in content/")
    return problems


def check_profile(path: Path) -> List[str]:
    """One clinic profile against its schema, named by file name (``validate`` gives lines)."""
    problems = []
    for problem in schema.check_file(path, ClinicProfileFile):
        if problem.message.startswith("unknown key") and "." not in problem.loc:
            problems.append(f"clinic profile {path.name}: unknown key {problem.loc}")
        else:
            problems.append(f"clinic profile {path.name}: line {problem.line}: {problem.loc}: {problem.message}")
    return problems


def schema_files(root: Path = ROOT) -> List[Tuple[Path, Type[BaseModel]]]:
    """Every content file with a schema here, and that schema (red flags: assistant/triage)."""
    files: List[Tuple[Path, Type[BaseModel]]] = [
        (root / "content" / "catalogue.yml", CatalogueFile),
        (root / "content" / "conversation.yml", ConversationFile),
        (root / "content" / "lexicon.yml", LexiconFile),
        (root / "clinic" / "profile.yml", ClinicProfileFile),
    ]
    files += [(p, ClinicProfileFile) for p in sorted((root / "clinic" / "examples").glob("*.yml"))]
    return [(path, model) for path, model in files if path.exists()]


def check_red_flag_schema(root: Path = ROOT) -> List[str]:
    """content/red_flags.yml against the triage's own schema (``assistant.triage.schema``)."""
    from assistant.triage.schema import problems as red_flag_problems  # pydantic only, no spaCy

    path = root / "content" / "red_flags.yml"
    text = path.read_text(encoding="utf-8")
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return [f"{schema.display_path(path)}: not valid YAML ({exc})"]
    return red_flag_problems(raw, schema.display_path(path), text)


def check_schemas(root: Path = ROOT) -> List[str]:
    """Schema problems of every content file, as ``file:line: key.path: message``."""
    found = [str(p) for path, model in schema_files(root) for p in schema.check_file(path, model)]
    return found + check_red_flag_schema(root)


def check_checks(root: Path = ROOT) -> List[str]:
    """The yes/no check questions in conversation.yml are for red-flag ids that exist."""
    wording = yaml.safe_load((root / "content" / "conversation.yml").read_text(encoding="utf-8")) or {}
    rules = yaml.safe_load((root / "content" / "red_flags.yml").read_text(encoding="utf-8")) or {}
    flag_ids = {f.get("id") for f in rules.get("flags") or [] if isinstance(f, dict)}
    return [
        f"conversation checks.{flag}: not a red-flag id in content/red_flags.yml"
        for flag in wording.get("checks") or {}
        if flag not in flag_ids
    ]


def check_lexicon(root: Path = ROOT) -> List[str]:
    """The lexicon's entity types against the domain; the values the topics refine by."""
    lexicon = yaml.safe_load((root / "content" / "lexicon.yml").read_text(encoding="utf-8")) or {}
    domain = yaml.safe_load((root / "domain.yml").read_text(encoding="utf-8")) or {}
    entities = lexicon.get("entities") or {}
    declared = set(domain.get("entities") or [])
    problems = [f"lexicon entity {name}: not an entity in domain.yml" for name in entities if name not in declared]
    for entity, values in (("exercise", EXERCISE_TOPICS), ("treatment", TREATMENT_TOPICS)):
        known = set(entities.get(entity) or {})
        problems += [
            f"lexicon {entity} {value}: topics.py refines by it but the lexicon has no such value"
            for value in values
            if value not in known
        ]
    return problems


def validate(root: Path = ROOT) -> List[str]:
    problems = check_schemas(root)
    if problems:  # the cross-file checks below assume well-formed files
        return problems
    catalogue = load_catalogue()
    cross_file = check_domain(root) + check_lexicon(root) + check_checks(root)
    return check_catalogue(catalogue) + check_wording(catalogue) + cross_file


def main() -> int:
    problems = validate()
    for problem in problems:
        print(f"ERROR {problem}")
    print(f"content validation: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

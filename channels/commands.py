"""Which messages are button payloads (slash commands) and which are text.

Rasa treats any message starting with "/" as a command: ``/greet@1.0 I have lost control
of my bladder`` became intent ``greet`` (the rest dropped, triage's red flag overridden)
and Rasa logged the whole line at WARNING ("Failed to parse arguments in line ...").
Here only an exact button payload is a command: ``/<known intent>`` optionally followed
by a JSON object whose keys are known entities and whose values are short plain words.
Intents and entities come from domain.yml (read once), plus Rasa's built-in
``/restart`` and ``/session_start``. Any other text that starts with "/" loses its leading
slashes before it reaches Rasa, so the NLU pipeline (and its red-flag detector) sees it
as text and Rasa never tries, and fails, to parse it.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from dataclasses import dataclass
from typing import Dict, FrozenSet, Optional, Tuple

import yaml

from assistant.paths import ROOT

logger = logging.getLogger(__name__)

BUILT_IN_INTENTS = frozenset({"restart", "session_start"})
MAX_COMMAND_CHARS = 200
_COMMAND = re.compile(r"/(?P<intent>[A-Za-z_][A-Za-z0-9_]{0,63})(?P<entities>\{[^\n]*\})?")
_VALUE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_ .'-]{0,39}")
_LEADING = re.compile(r"^[\s/]+")


@dataclass(frozen=True)
class Command:
    """An exact button payload."""

    intent: str
    entities: Tuple[Tuple[str, str], ...] = ()

    @property
    def built_in(self) -> bool:
        return self.intent in BUILT_IN_INTENTS


@functools.lru_cache(maxsize=1)
def vocabulary() -> Tuple[FrozenSet[str], FrozenSet[str]]:
    """The domain's intents (with Rasa's built-ins) and entities."""
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8")) or {}

    def names(items: object) -> FrozenSet[str]:
        found = set()
        for item in items or []:
            if isinstance(item, str):
                found.add(item)
            elif isinstance(item, dict):
                found.update(str(key) for key in item)
        return frozenset(found)

    return names(domain.get("intents")) | BUILT_IN_INTENTS, names(domain.get("entities"))


def _entities(raw: Optional[str], known: FrozenSet[str]) -> Optional[Dict[str, str]]:
    if raw is None:
        return {}
    try:
        parsed = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if not isinstance(parsed, dict) or not parsed:
        return None
    clean: Dict[str, str] = {}
    for key, value in parsed.items():
        if key not in known or isinstance(value, bool):
            return None
        value = str(value) if isinstance(value, int) else value
        if not isinstance(value, str) or not _VALUE.fullmatch(value):
            return None
        clean[key] = value
    return clean


def parse_command(text: str) -> Optional[Command]:
    """The command ``text`` is, or None when it is text (also when it merely starts with "/")."""
    text = text.strip()
    if not text.startswith("/") or len(text) > MAX_COMMAND_CHARS:
        return None
    match = _COMMAND.fullmatch(text)
    if not match:
        return None
    intents, entities = vocabulary()
    if match.group("intent") not in intents:
        return None
    if match.group("intent") in BUILT_IN_INTENTS and match.group("entities"):
        return None
    found = _entities(match.group("entities"), entities)
    if found is None:
        return None
    return Command(match.group("intent"), tuple(sorted(found.items())))


def as_text(text: str) -> str:
    """``text`` without its leading slashes (and the spaces among them), so Rasa reads it as
    words: "/greet@1.0 I have lost control ..." -> "greet@1.0 I have lost control ..."."""
    return _LEADING.sub("", text)


def rasa_text(command: Command) -> str:
    """The command in the exact form Rasa parses without a warning."""
    if not command.entities:
        return f"/{command.intent}"
    return f"/{command.intent}" + json.dumps(dict(command.entities), separators=(",", ":"))

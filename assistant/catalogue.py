"""The content catalogue: article-based answers per topic, and the conversation wording.

Knowledge is data: ``content/catalogue.yml`` (the topic registry: ids, titles and the start
menu; answers, sources, follow-ups) and
``content/conversation.yml`` (everything else the assistant says) are YAML files a
clinic can edit; ``assistant/validate.py`` checks them against their schemas
(``assistant/schema``) and each other. Nothing here touches the network.
"""

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Tuple

import yaml

from assistant.paths import data_path

CATALOGUE_ENV = "CONTENT_CATALOGUE"
CONVERSATION_ENV = "CONTENT_CONVERSATION"


@dataclass(frozen=True)
class Source:
    key: str
    title: str
    publisher: str
    author: str = ""
    date: str = ""
    file: str = ""

    def as_contract(self) -> dict:
        """The source as the reply contract's ``sources`` entry."""
        entry = {"title": self.title, "publisher": self.publisher}
        if self.author:
            entry["author"] = self.author
        if self.date:
            entry["date"] = self.date
        return entry

    def citation(self) -> str:
        extra = ", ".join(x for x in (self.author, self.date) if x)
        return f"{self.publisher}: \u201c{self.title}\u201d" + (f" ({extra})" if extra else "")


@dataclass(frozen=True)
class Topic:
    id: str
    title: str
    answer: str
    sources: Tuple[Source, ...]
    follow_ups: Tuple[str, ...] = ()
    more: str = ""
    steps: Tuple[str, ...] = ()


@dataclass(frozen=True)
class Catalogue:
    topics: Dict[str, Topic]
    sources: Dict[str, Source]
    wording: dict
    # The content release (catalogue.yml's ``version``), carried in every reply's
    # ``custom`` payload as ``content_version`` so a clinic can tell which wording a patient saw.
    version: str = ""
    # The start menu's topic ids (catalogue.yml's ``menu``), in the order shown.
    menu: Tuple[str, ...] = ()

    def topic(self, topic_id: str) -> Optional[Topic]:
        return self.topics.get(topic_id)

    def description(self, topic_id: str) -> str:
        """A topic's own wording (title, answer, steps): what "the ... one" is matched against."""
        topic = self.topics.get(topic_id)
        return " ".join([topic.title, topic.answer, *topic.steps]) if topic else ""

    def follow_ups(self, topic_id: str) -> Tuple[str, ...]:
        topic = self.topics.get(topic_id)
        return topic.follow_ups if topic else ()

    def title(self, topic_id: str) -> str:
        topic = self.topics.get(topic_id)
        return topic.title if topic else topic_id.replace("_", " ").capitalize()

    def say(self, key: str, default: str = "") -> str:
        """Conversation wording by dotted key, e.g. ``say("emergency.lead")``."""
        node = self.wording
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return str(node).strip() if node is not None else default


def _read_yaml(path: Path) -> dict:
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    if not isinstance(data, dict):
        raise ValueError(f"{path} does not hold a YAML mapping")
    return data


def parse_catalogue(raw: dict, wording: dict) -> Catalogue:
    sources = {
        key: Source(
            key=key,
            title=str(value.get("title", "")).strip(),
            publisher=str(value.get("publisher", "")).strip(),
            author=str(value.get("author") or "").strip(),
            date=str(value.get("date") or "").strip(),
            file=str(value.get("file") or "").strip(),
        )
        for key, value in (raw.get("sources") or {}).items()
    }
    topics = {}
    for topic_id, value in (raw.get("topics") or {}).items():
        value = value or {}
        topics[topic_id] = Topic(
            id=topic_id,
            title=str(value.get("title") or "").strip(),
            answer=" ".join(str(value.get("answer") or "").split()),
            more=" ".join(str(value.get("more") or "").split()),
            steps=tuple(" ".join(str(s).split()) for s in value.get("steps") or ()),
            sources=tuple(sources[k] for k in value.get("sources") or () if k in sources),
            follow_ups=tuple(value.get("follow_ups") or ()),
        )
    return Catalogue(
        topics=topics,
        sources=sources,
        wording=wording,
        version=str(raw.get("version") or ""),
        menu=tuple(str(m) for m in raw.get("menu") or ()),
    )


def load_catalogue(catalogue_path: Optional[Path] = None, conversation_path: Optional[Path] = None) -> Catalogue:
    catalogue_path = catalogue_path or data_path(CATALOGUE_ENV, "content/catalogue.yml")
    conversation_path = conversation_path or data_path(CONVERSATION_ENV, "content/conversation.yml")
    return _load(str(catalogue_path), str(conversation_path))


@functools.lru_cache(maxsize=4)
def _load(catalogue_path: str, conversation_path: str) -> Catalogue:
    return parse_catalogue(_read_yaml(Path(catalogue_path)), _read_yaml(Path(conversation_path)))

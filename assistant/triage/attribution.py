"""Symptom-site attribution: which body site a symptom is said of.

A symptom belongs to the site(s) named right after it in the same region ("numbness in my
legs, bum and groin"), else to the nearest site before it ("my bum and groin are numb"),
plus the site it is said of as a subject ("my bum is tingling down to my knee"). A site
inside a longer site of another concept is not a site of its own ("legs" in "between my
legs"). Trigger ``pairs: [[symptom, site]]`` use this.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Dict, List, Optional, Set, Tuple

from assistant.triage.modifiers import Status
from assistant.triage.rules import AttributionWords, Concept

if TYPE_CHECKING:
    from assistant.triage.message import Mention, Message

logger = logging.getLogger(__name__)

Span = Tuple[int, int]


def drop_contained_sites(mentions: Dict[str, List["Mention"]], concepts: Dict[str, Concept]) -> None:
    """A site inside a longer site of another concept is not a site of its own:
    "legs" in "between my legs", "leg" in "one of my legs"."""
    sites = [
        (mention.start, mention.end, name)
        for name, found in mentions.items()
        if concepts[name].kind == "site"
        for mention in found
    ]
    if len(sites) < 2:
        return
    spans_by_concept: Dict[str, Set[Span]] = {}
    for start, end, name in sites:
        spans_by_concept.setdefault(name, set()).add((start, end))
    covering: Dict[int, List[Tuple[int, int, str]]] = {}
    for start, end, name in sites:
        if end - start > 1:
            for index in range(start, end):
                covering.setdefault(index, []).append((start, end, name))
    if not covering:
        return

    def contained(name: str, mention: "Mention") -> bool:
        for start, end, other in covering.get(mention.start, ()):
            if (
                other != name
                and start <= mention.start
                and mention.end <= end
                and (end - start) > (mention.end - mention.start)
                and (start, end) not in spans_by_concept[name]
            ):
                return True
        return False

    for name, found in mentions.items():
        if concepts[name].kind == "site":
            found[:] = [mention for mention in found if not contained(name, mention)]


class Attribution:
    """The sites of one chunk, merged, by region."""

    def __init__(self, message: "Message", words: AttributionWords, connectors: Set[str]) -> None:
        self.message = message
        self.words = words
        self.connectors = connectors
        spans: List[Span] = []
        for name, found in message.mentions.items():
            if message.concepts[name].kind == "site":
                # a word the site's own neighbour rules read in another sense is no site
                # ("flew back from spain")
                spans.extend((mention.start, mention.end) for mention in found if mention.status is not Status.EXCLUDED)
        # merge overlapping spans so that "one of my legs" is one site
        merged: List[List[int]] = []
        for start, end in sorted(spans):
            if merged and start < merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        self.by_region: Dict[int, List[Span]] = {}
        for start, end in merged:
            self.by_region.setdefault(message.segments.region_of[start], []).append((start, end))

    def sites_of(self, mention: "Mention") -> List[Span]:
        """The site spans a symptom mention is attributed to."""
        sites = self.by_region.get(mention.region, [])
        inside = [site for site in sites if mention.start <= site[0] and site[1] <= mention.end]
        if inside:
            return inside
        after = [site for site in sites if site[0] >= mention.end and site[0] - mention.end <= self.words.window]
        if after:
            subject = self._subject_site(mention, sites)
            return self._chain(after, forward=True) + ([subject] if subject else [])
        before = [site for site in sites if site[1] <= mention.start]
        return self._chain(before[::-1], forward=False) if before else []

    def _chain(self, ordered: List[Span], forward: bool) -> List[Span]:
        """The first site and those joined to it by connectors only ("legs, bum and groin")."""
        norms = self.message.norms
        chain = [ordered[0]]
        for site in ordered[1:]:
            gap = range(chain[-1][1], site[0]) if forward else range(site[1], chain[-1][0])
            if not all(norms[index] in self.connectors for index in gap):
                break
            chain.append(site)
        return chain

    def _subject_site(self, mention: "Mention", sites: List[Span]) -> Optional[Span]:
        """The site a symptom is said of, as in "my bum is tingling (down to my knee)"."""
        norms = self.message.norms
        for start, end in reversed(sites):
            if end > mention.start:
                continue
            gap = range(end, mention.start)
            if len(gap) <= 4 and all(norms[index] in self.words.link_words for index in gap):
                return (start, end)
            return None
        return None

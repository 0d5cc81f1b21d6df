"""Firing: the table's triggers, upgrades and suppressions over the statused mentions.

A trigger holds when each concept in ``all`` has an accepted mention and each ``[symptom,
site]`` pair has the symptom attributed to that site, all within one ``scope`` unit
(clause, region, sentence or the whole message), with the experiencer conditions met.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Callable, Dict, FrozenSet, List, Optional, Tuple

from assistant.triage.attribution import Attribution
from assistant.triage.modifiers import Status
from assistant.triage.rules import Flag, Trigger

if TYPE_CHECKING:
    from assistant.triage.message import Mention, Message

logger = logging.getLogger(__name__)

AFFIRMED_ONLY: FrozenSet[Status] = frozenset({Status.AFFIRMED})
AS_IF_REAL: FrozenSet[Status] = frozenset({Status.AFFIRMED, Status.HYPOTHETICAL})
# the statuses by which context rules a mention out: accepted, they show which flags the
# message mentions without having them (TriageResult.ruled_out)
# (EXCLUDED too: the concept's own neighbour rules read the word in another sense, "fell in
# love", "lost weight on purpose", "hay fever")
RULED_OUT: FrozenSet[Status] = frozenset(
    {Status.NEGATED, Status.PAST, Status.OTHER_PERSON, Status.HYPOTHETICAL, Status.HYPERBOLE, Status.EXCLUDED}
)
AS_IF_CURRENT: FrozenSet[Status] = AFFIRMED_ONLY | RULED_OUT

SCOPE_KEYS: Dict[str, Callable[["Mention"], int]] = {
    "clause": lambda mention: mention.clause,
    "region": lambda mention: mention.region,
    "sentence": lambda mention: mention.sent,
    "message": lambda mention: 0,
}


class Firing:
    """Which flags fire in one chunk, accepting mentions of the given statuses."""

    def __init__(self, message: "Message", attribution: Attribution, accept: FrozenSet[Status] = AFFIRMED_ONLY):
        self.message = message
        self.attribution = attribution
        self.accept = accept
        self._accepted: Dict[str, List["Mention"]] = {}

    def accepted(self, concept: str) -> List["Mention"]:
        """Mentions of ``concept`` (or of its union's members) with an accepted status."""
        if concept not in self._accepted:
            spec = self.message.concepts[concept]
            names = spec.union if spec.kind == "union" else (concept,)
            self._accepted[concept] = [
                mention
                for name in names
                for mention in self.message.mentions.get(name, [])
                if mention.status in self.accept
            ]
        return self._accepted[concept]

    def at_site(self, symptom: str, site: str) -> List["Mention"]:
        """Symptom mentions attributed to the given site."""
        sites = self.accepted(site)
        if not sites:
            return []
        return [
            mention
            for mention in self.accepted(symptom)
            if any(
                any(other.start < end and start < other.end for other in sites)
                for start, end in self.attribution.sites_of(mention)
            )
        ]

    def experiencer(self, trigger: Trigger) -> Optional[str]:
        """None if the trigger does not fire; else the experiencer of its first mention."""
        groups = [self.accepted(name) for name in trigger.all]
        groups += [self.at_site(symptom, site) for symptom, site in trigger.pairs]
        if any(not group for group in groups):
            return None
        if trigger.unless_self_has and any(
            mention.experiencer == "self" for name in trigger.unless_self_has for mention in self.accepted(name)
        ):
            return None
        key = SCOPE_KEYS[trigger.scope]
        common = {key(mention) for mention in groups[0]}
        for group in groups[1:]:
            common &= {key(mention) for mention in group}
        for primary in groups[0]:
            if key(primary) in common and _experiencer_fits(trigger, primary, groups[1:], key):
                return primary.experiencer
        return None

    def fire(self, flags: List[Flag]) -> Dict[str, str]:
        """flag id -> tier for every flag that fires (after suppression and upgrades)."""
        fired: Dict[str, Tuple[Flag, str]] = {}
        # pass 1: triggers without unless_flags; pass 2: the rest
        for first_pass in (True, False):
            for flag in flags:
                if flag.id in fired:
                    continue
                for trigger in flag.triggers:
                    if first_pass == bool(trigger.unless_flags):
                        continue
                    if trigger.unless_flags and any(other in fired for other in trigger.unless_flags):
                        continue
                    experiencer = self.experiencer(trigger)
                    if experiencer is not None:
                        fired[flag.id] = (flag, experiencer)
                        break
        return {
            flag_id: self._tier(flag, experiencer)
            for flag_id, (flag, experiencer) in fired.items()
            if not any(other in fired for other in flag.suppressed_by)
        }

    def _tier(self, flag: Flag, experiencer: str) -> str:
        tier = flag.tier
        if flag.upgrade_to:
            for condition in flag.upgrade_if:
                if "concept" in condition and self.accepted(condition["concept"]):
                    tier = flag.upgrade_to
                elif condition.get("experiencer") and experiencer == condition["experiencer"]:
                    tier = flag.upgrade_to
        return tier


def _experiencer_fits(
    trigger: Trigger, primary: "Mention", others: List[List["Mention"]], key: Callable[["Mention"], int]
) -> bool:
    experiencer = primary.experiencer
    if (
        trigger.min_age is not None
        and primary.experiencer_age is not None
        and primary.experiencer_age < trigger.min_age
    ):
        return False  # an age is stated and it is under the flag's ("I'm 30, tripped")
    if trigger.experiencer and experiencer != trigger.experiencer:
        return False
    if trigger.experiencer_not and experiencer == trigger.experiencer_not:
        return False
    return not trigger.same_experiencer or all(
        any(key(mention) == key(primary) and mention.experiencer == experiencer for mention in group)
        for group in others
    )

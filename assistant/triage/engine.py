"""Rule-based red-flag triage for hip and buttock pain messages.

The clinical table (flags, tiers, upgrades, patterns, patient-facing wording and the
context cue lists) lives in ``content/red_flags.yml``; this module only knows how to read
it and apply it to a spaCy ``Doc``. Clinical basis: ``shared/clinical/red-flags.md``.

How a message is assessed
1. The text is cleaned (control characters, lone surrogates) and run through a spaCy
   pipeline (blank English + sentencizer by default, or the ``nlp`` passed in).
2. Every token gets a canonical ``NORM``: contractions ("can't", "cant" -> "can not"),
   the YAML lexicon of slang/typos ("numbbess" -> "numbness", "bare" -> "bear") and a
   small edit-distance correction for long clinical words. Token patterns match on it.
3. One ``Matcher`` finds *concepts* (symptoms, sites, history, context cues). The text is
   cut into clauses (sentence ends, ";", and conjunctions or commas that start a new
   subject + verb), which bound negation, hypotheticals and symptom/site attribution.
4. Each concept match gets a status: affirmed, negated, hypothetical, past (for
   ``resolvable`` concepts also "last week" or "but it's gone now"), someone else's
   history, hyperbole or excluded. Only affirmed matches can fire a flag's triggers;
   hypothetical mentions of a red-flag subject set ``hypothetical``. Each match also has an
   experiencer (self, other, child): the last person named before it, passing over a
   person named only as the one carried or lifted ("carrying my toddler, hip pain") and a
   description of the writer ("I'm a cancer patient"); a writer under 18 is a child.
5. Triggers, upgrades and suppressions from the YAML decide the findings.

Only flag ids are ever logged: the message is health data.
"""
from __future__ import annotations

import logging
import os
import re
import threading
import time
import unicodedata
from dataclasses import dataclass
from bisect import bisect_left, insort
from functools import lru_cache
from itertools import product
from typing import Any, Dict, Iterable, List, Optional, Sequence, Set, Tuple

logger = logging.getLogger(__name__)

from assistant.paths import ROOT

PROJECT_ROOT = str(ROOT)
DEFAULT_RULES_PATH = os.path.join(PROJECT_ROOT, "content", "red_flags.yml")
RULES_ENV_VAR = "RED_FLAGS_PATH"

TIERS = ("emergency", "urgent")
_TIER_RANK = {"emergency": 2, "urgent": 1}
# Texts are processed in chunks of at most this many characters (spaCy has a hard limit).
_CHUNK_CHARS = 20_000

# Contractions and their spelling variants, mapped to full words so that patterns can be
# written once ("can not" covers can't, cant, cannot, can’t).
_CONTRACTIONS = {
    "n't": "not", "nt": "not", "ca": "can", "wo": "will", "sha": "shall",
    "'m": "am", "m": "am", "'re": "are", "'ve": "have", "ve": "have",
    "'ll": "will", "ll": "will", "'d": "'d", "cannot": "can not",
}
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})
_SPACES_RE = re.compile(r"[^\S\n]{2,}|[^\S\n ]")
from assistant.text import CONTROL_CHARACTERS as _CONTROL_RE  # noqa: E402

_POSSESSIVES = {"my", "our", "his", "her", "their", "your"}

# Statuses of a concept match.
AFFIRMED, NEGATED, HYPOTHETICAL, PAST, OTHER, HYPERBOLE, EXCLUDED, MENTION = (
    "affirmed", "negated", "hypothetical", "past", "other_person", "hyperbole",
    "excluded", "mention")


# ----------------------------------------------------------------------------- public API
@dataclass(frozen=True)
class Finding:
    flag: str           # e.g. "saddle_numbness"
    tier: str           # "emergency" | "urgent"
    watch_for: str      # patient-facing wording from the YAML

    def as_dict(self) -> Dict[str, str]:
        """The finding as the NLU parse data and the reply builder carry it."""
        return {"flag": self.flag, "tier": self.tier, "watch_for": self.watch_for}


@dataclass(frozen=True)
class TriageResult:
    findings: Tuple[Finding, ...]   # de-duplicated, most severe first
    hypothetical: bool              # a red-flag subject was mentioned hypothetically / as a question

    @property
    def tier(self) -> Optional[str]:
        """The highest tier found: "emergency", "urgent" or None."""
        if not self.findings:
            return None
        return max((f.tier for f in self.findings), key=lambda t: _TIER_RANK.get(t, 0))

    @property
    def flags(self) -> List[str]:
        return [f.flag for f in self.findings]


EMPTY_RESULT = TriageResult(findings=(), hypothetical=False)


class RulesError(ValueError):
    """The red-flag table is malformed."""


# ----------------------------------------------------------------------------- rule model
@dataclass
class _Concept:
    name: str
    kind: str = "symptom"          # symptom | history | site | context | topic
    negatable: bool = True
    negation_is_flag: bool = False
    past_counts: bool = False
    subject: bool = True           # a hypothetical mention sets TriageResult.hypothetical
    exertion_sensitive: bool = False
    speculative_in_question: bool = False
    speculation_cues: bool = False
    always_hypothetical: bool = False
    resolvable: bool = False       # "had a fever last week", "my temperature has gone now"
    next_in: Optional[List[Tuple[str, ...]]] = None
    next_not_in: Optional[List[Tuple[str, ...]]] = None
    prev_not_in: Optional[List[Tuple[str, ...]]] = None
    unless_sentence_has: Optional[List[Tuple[str, ...]]] = None
    union: Tuple[str, ...] = ()


@dataclass
class _Trigger:
    all: Tuple[str, ...]
    pairs: Tuple[Tuple[str, str], ...]
    scope: str = "sentence"          # clause | region | sentence | message
    experiencer: Optional[str] = None        # "child"
    experiencer_not: Optional[str] = None    # "child"
    same_experiencer: bool = False           # every concept said of the same person
    unless_self_has: Tuple[str, ...] = ()    # not when the writer speaks of these for themself
    unless_flags: Tuple[str, ...] = ()


@dataclass
class _Flag:
    id: str
    tier: str
    condition: str
    watch_for: str
    source: str
    triggers: List[_Trigger]
    upgrade_to: Optional[str]
    upgrade_if: List[Dict[str, str]]
    suppressed_by: Tuple[str, ...]
    order: int


@dataclass
class _Match:
    concept: str
    start: int
    end: int
    sent: int = 0
    clause: int = 0
    region: int = 0
    experiencer: str = "self"
    status: str = AFFIRMED


class _Person:
    __slots__ = ("start", "end", "cls", "age", "obj")

    def __init__(self, start: int, end: int, cls: str, age: Optional[int] = None):
        self.start, self.end, self.cls, self.age = start, end, cls, age
        self.obj = False    # named as the object of carrying, lifting, giving birth ...


# ----------------------------------------------------------------------------- text helpers
def _clean(text: Any) -> str:
    if not isinstance(text, str):
        return ""
    # lone surrogates and other unencodable code points cannot go into spaCy's StringStore
    text = text.encode("utf-8", "replace").decode("utf-8", "replace")
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = unicodedata.normalize("NFKC", text)
    text = _CONTROL_RE.sub(" ", text)
    # runs of spaces would become whitespace tokens inside a phrase ("can't  wee")
    return _SPACES_RE.sub(" ", text)


def _chunks(text: str, size: int = _CHUNK_CHARS) -> Iterable[str]:
    """Split long text at sentence-ish boundaries into pieces of at most ``size`` chars."""
    if len(text) <= size:
        yield text
        return
    pos = 0
    n = len(text)
    while pos < n:
        end = min(pos + size, n)
        if end < n:
            cut = max(text.rfind(c, pos + size // 2, end) for c in ".!?\n")
            if cut <= pos:
                cut = text.rfind(" ", pos + size // 2, end)
            if cut > pos:
                end = cut + 1
        yield text[pos:end]
        pos = end


def _osa_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (edits incl. adjacent transpositions), capped."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: List[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        row_min = cur[0]
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
            row_min = min(row_min, cur[j])
        if row_min > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


# ----------------------------------------------------------------------------- the engine
class Triage:
    """Red-flag detector. Build once (``from_file`` / ``default_triage``), call ``assess``."""

    def __init__(self, rules: dict, nlp=None):
        if not isinstance(rules, dict):
            raise RulesError("red-flag rules must be a mapping")
        self._raw = rules
        self._nlp = nlp if nlp is not None else _blank_pipeline()
        self._lock = threading.Lock()
        self._load_lexicon(rules)
        self._load_context(rules)
        self._concepts: Dict[str, _Concept] = {}
        self._matcher = None
        self._compile(rules)
        self._load_flags(rules)

    @classmethod
    def from_file(cls, path: Optional[str] = None, nlp=None) -> "Triage":
        """Build from the red-flag table: ``path``, else ``rules_path()`` (env RED_FLAGS_PATH)."""
        import yaml  # local import: nothing heavy at module import time

        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        with open(path or rules_path(), encoding="utf-8") as fh:
            rules = yaml.load(fh, Loader=loader)
        return cls(rules, nlp=nlp)

    # ------------------------------------------------------------------ public
    @property
    def flag_ids(self) -> List[str]:
        return [f.id for f in self._flags]

    def flag_info(self, flag_id: str) -> Dict[str, str]:
        f = self._flag_by_id[flag_id]
        return {"id": f.id, "tier": f.tier, "condition": f.condition,
                "watch_for": f.watch_for, "source": f.source}

    def assess(self, text: str) -> TriageResult:
        """Assess one message. Never raises; on an internal error returns no finding."""
        try:
            cleaned = _clean(text)
            if not cleaned.strip():
                return EMPTY_RESULT
            t0 = time.perf_counter()
            fired: Dict[str, str] = {}
            hypothetical = False
            for chunk in _chunks(cleaned):
                chunk_flags, chunk_hyp = self._assess_chunk(chunk)
                hypothetical = hypothetical or chunk_hyp
                for fid, tier in chunk_flags.items():
                    if _TIER_RANK[tier] > _TIER_RANK.get(fired.get(fid, ""), 0):
                        fired[fid] = tier
            result = self._result(fired, hypothetical)
            if result.findings or result.hypothetical:
                logger.info("triage: flags=%s tier=%s hypothetical=%s (%.1f ms)",
                            result.flags, result.tier, result.hypothetical,
                            (time.perf_counter() - t0) * 1000)
            return result
        except Exception as exc:  # pragma: no cover - defensive: triage must never crash a turn
            logger.error("triage failed (%s); no flag assessed", type(exc).__name__,
                         exc_info=logger.isEnabledFor(logging.DEBUG))
            return EMPTY_RESULT

    # ------------------------------------------------------------------ loading
    def _load_lexicon(self, rules: dict) -> None:
        lex = rules.get("lexicon") or {}
        self._lexicon: Dict[str, str] = {}
        for canonical, variants in (lex.get("variants") or {}).items():
            canonical = str(canonical).lower()
            for v in variants or []:
                self._lexicon[str(v).lower().translate(_APOSTROPHES)] = canonical
        self._rewrites = []
        for word, replacement in (lex.get("rewrite") or {}).items():
            self._rewrites.append((re.compile(r"(?<![\w'])" + re.escape(str(word)) + r"(?![\w'])",
                                              re.IGNORECASE), str(replacement)))
        fuzzy = lex.get("fuzzy") or {}
        self._fuzzy_targets = sorted({str(w).lower() for w in fuzzy.get("targets") or []})
        self._fuzzy_min_len = int(fuzzy.get("min_length", 6))
        self._fuzzy_protect = {str(w).lower() for w in fuzzy.get("protect") or []}
        self._canon = lru_cache(maxsize=20000)(self._canonical_uncached)

    def _canonical_uncached(self, lower: str) -> str:
        lower = lower.translate(_APOSTROPHES)
        if lower in self._lexicon:
            return self._lexicon[lower]
        if lower in _CONTRACTIONS:
            return _CONTRACTIONS[lower]
        if (len(lower) >= self._fuzzy_min_len and lower.isalpha()
                and lower not in self._fuzzy_protect and lower not in self._vocab_words):
            best, best_d = None, 99
            for target in self._fuzzy_targets:
                if target[0] != lower[0]:
                    continue
                limit = 2 if len(target) >= 9 else 1
                d = _osa_distance(lower, target, limit)
                if d <= limit and d < best_d:
                    best, best_d = target, d
            if best is not None:
                return self._lexicon.get(best, best)
        return lower

    @staticmethod
    def _words(items) -> Set[str]:
        out = set()
        for x in items or []:
            if isinstance(x, bool) or not isinstance(x, (str, int)):
                raise RulesError(f"word lists hold strings; got {x!r} (quote it)")
            out.add(str(x).lower())
        return out

    def _load_context(self, rules: dict) -> None:
        ctx = rules.get("context") or {}
        self._ctx = ctx
        breaks = ctx.get("clauses") or {}
        self._hard_breaks = self._words(breaks.get("hard_breaks"))
        self._soft_breaks = self._words(breaks.get("soft_breaks"))
        self._skip_after_break = self._words(breaks.get("skip_after_break"))
        self._subject_words = self._words(breaks.get("subject_words"))
        self._anaphora = self._words(breaks.get("anaphora"))
        self._clause_verbs = self._words(breaks.get("verbs"))
        self._question_starters = self._words(breaks.get("question_starters"))
        neg = ctx.get("negation") or {}
        self._neg_window = int(neg.get("window", 5))
        self._neg_connectors = self._words(neg.get("connectors"))
        self._neg_enders = self._words(neg.get("scope_enders"))
        hyp = ctx.get("hypothetical") or {}
        self._modal_skip = self._words(hyp.get("modal_skip"))
        self._question_skip = self._words(hyp.get("question_skip"))
        persons = ctx.get("persons") or {}
        self._carer_evidence = self._words(persons.get("carer_evidence"))
        self._self_description_window = int(persons.get("self_description_window", 3))
        self._self_description_stop = self._words(persons.get("self_description_stop"))
        self._object_skip = self._words(persons.get("object_skip"))
        self._time_clause_starters = self._words((ctx.get("time") or {}).get("time_clause_starters"))
        self._attribution_window = int(ctx.get("attribution_window", 8))
        self._attribution_connectors = self._words(ctx.get("attribution_connectors"))
        self._link_words = self._words(ctx.get("attribution_link_words"))
        self._ctx_phrase_cache: Dict[str, List[Tuple[str, ...]]] = {}

    def _load_flags(self, rules: dict) -> None:
        flags = rules.get("flags")
        if not isinstance(flags, list) or not flags:
            raise RulesError("rules need a non-empty 'flags' list")
        self._flags: List[_Flag] = []
        seen: Set[str] = set()
        for order, raw in enumerate(flags):
            fid = str(raw.get("id", ""))
            if not fid or fid in seen:
                raise RulesError(f"flag id missing or duplicated: {fid!r}")
            seen.add(fid)
            tier = raw.get("tier")
            if tier not in TIERS:
                raise RulesError(f"flag {fid}: tier must be one of {TIERS}")
            for key in ("watch_for", "condition", "source"):
                if not str(raw.get(key) or "").strip():
                    raise RulesError(f"flag {fid}: '{key}' is required")
            triggers = []
            for t in raw.get("triggers") or []:
                trig = _Trigger(
                    all=tuple(t.get("all") or ()),
                    pairs=tuple(tuple(p) for p in (t.get("pairs") or ())),
                    scope=t.get("scope", "sentence"),
                    experiencer=t.get("experiencer"),
                    experiencer_not=t.get("experiencer_not"),
                    same_experiencer=bool(t.get("same_experiencer", False)),
                    unless_self_has=tuple(t.get("unless_self_has") or ()),
                    unless_flags=tuple(t.get("unless_flags") or ()),
                )
                if trig.scope not in ("clause", "region", "sentence", "message"):
                    raise RulesError(f"flag {fid}: bad trigger scope {trig.scope!r}")
                if not trig.all and not trig.pairs:
                    raise RulesError(f"flag {fid}: a trigger needs 'all' or 'pairs'")
                for name in list(trig.all) + [n for p in trig.pairs for n in p] + list(
                        trig.unless_self_has):
                    if name not in self._concepts:
                        raise RulesError(f"flag {fid}: unknown concept {name!r}")
                for p in trig.pairs:
                    if len(p) != 2:
                        raise RulesError(f"flag {fid}: a pair is [symptom, site]")
                triggers.append(trig)
            if not triggers:
                raise RulesError(f"flag {fid}: no triggers")
            up = raw.get("upgrade") or {}
            upgrade_if = list(up.get("if_any") or [])
            for cond in upgrade_if:
                if "concept" in cond and cond["concept"] not in self._concepts:
                    raise RulesError(f"flag {fid}: unknown upgrade concept {cond['concept']!r}")
            if up and up.get("to") not in TIERS:
                raise RulesError(f"flag {fid}: upgrade.to must be one of {TIERS}")
            self._flags.append(_Flag(
                id=fid, tier=tier, condition=str(raw["condition"]),
                watch_for=str(raw["watch_for"]).strip(), source=str(raw["source"]).strip(),
                triggers=triggers, upgrade_to=up.get("to") if up else None,
                upgrade_if=upgrade_if, suppressed_by=tuple(raw.get("suppressed_by") or ()),
                order=order))
        self._flag_by_id = {f.id: f for f in self._flags}
        for f in self._flags:
            for other in f.suppressed_by:
                if other not in self._flag_by_id:
                    raise RulesError(f"flag {f.id}: suppressed_by unknown flag {other!r}")
            for t in f.triggers:
                for other in t.unless_flags:
                    if other not in self._flag_by_id:
                        raise RulesError(f"flag {f.id}: unless_flags unknown flag {other!r}")

    def _ctx_phrases(self, key: str) -> List[Tuple[str, ...]]:
        if key not in self._ctx_phrase_cache:
            persons = self._ctx.get("persons") or {}
            self._ctx_phrase_cache[key] = self._phrase_list(persons.get(key) or [])
        return self._ctx_phrase_cache[key]

    # ------------------------------------------------------------------ pattern compiler
    def _tokenize_phrase(self, phrase: str) -> List[str]:
        doc = self._nlp.make_doc(str(phrase))
        out = []
        for tok in doc:
            if tok.is_space:
                continue
            for part in self._canon(tok.lower_).split():
                out.append(part)
        return out

    def _compile(self, rules: dict) -> None:
        from spacy.matcher import Matcher

        terms_raw = rules.get("terms") or {}
        self._vocab_words: Set[str] = set()
        # canonical words mentioned anywhere in the rules are never "typo-corrected"
        for name, items in terms_raw.items():
            for item in items or []:
                for w in str(item).lower().split():
                    self._vocab_words.add(w)
        for spec in list((rules.get("concepts") or {}).values()) + list(
                ((rules.get("context") or {}).get("cues") or {}).values()):
            for pat in (spec or {}).get("patterns") or []:
                if isinstance(pat, str):
                    for w in re.split(r"[\s|+]+", pat.lower()):
                        w = w.strip("?!")
                        if w.isalpha():
                            self._vocab_words.add(w)
        self._canon.cache_clear()
        self._terms: Dict[str, List[List[str]]] = {}
        for name, items in terms_raw.items():
            if not isinstance(items, list):
                raise RulesError(f"terms.{name} must be a list")
            self._terms[name] = [self._tokenize_phrase(str(i)) for i in items]
        self._matcher = Matcher(self._nlp.vocab, validate=True)
        self._pattern_count = 0

        concept_specs = dict(rules.get("concepts") or {})
        cues = (rules.get("context") or {}).get("cues") or {}
        for name, spec in cues.items():
            if name in concept_specs:
                raise RulesError(f"cue {name!r} clashes with a concept name")
            spec = dict(spec or {})
            spec.setdefault("kind", "cue")
            concept_specs[name] = spec
        unions = {}
        for name, spec in concept_specs.items():
            if isinstance(spec, dict) and spec.get("union"):
                unions[name] = tuple(spec["union"])
                continue
            if not isinstance(spec, dict) or not spec.get("patterns"):
                raise RulesError(f"concept {name!r} needs 'patterns' or 'union'")
            c = _Concept(name=name)
            c.kind = spec.get("kind", "symptom")
            c.negatable = bool(spec.get("negatable", c.kind in ("symptom", "history", "topic")))
            c.negation_is_flag = bool(spec.get("negation_is_flag", False))
            c.past_counts = bool(spec.get("past_counts", c.kind in ("site", "context", "cue")))
            c.subject = bool(spec.get("subject", c.kind in ("symptom", "history", "topic")))
            c.exertion_sensitive = bool(spec.get("exertion_sensitive", False))
            c.speculative_in_question = bool(spec.get("speculative_in_question", False))
            c.speculation_cues = bool(spec.get("speculation_cues", False))
            c.always_hypothetical = bool(spec.get("always_hypothetical", False))
            c.resolvable = bool(spec.get("resolvable", False))
            for key in ("next_in", "next_not_in", "prev_not_in"):
                if spec.get(key) is not None:
                    setattr(c, key, self._phrase_list(spec[key]))
            if spec.get("unless_sentence_has") is not None:
                c.unless_sentence_has = self._phrase_list(spec["unless_sentence_has"])
            self._concepts[name] = c
            patterns = []
            for pat in spec["patterns"]:
                patterns.extend(self._compile_pattern(pat, name))
            self._matcher.add(name, patterns)
            self._pattern_count += len(patterns)
        for name, members in unions.items():
            for member in members:
                if member not in self._concepts or member in unions:
                    raise RulesError(f"union {name!r}: unknown or nested member {member!r}")
            self._concepts[name] = _Concept(name=name, kind="union", union=members)

    def _phrase_list(self, items) -> List[Tuple[str, ...]]:
        out: List[Tuple[str, ...]] = []
        for item in items:
            if not isinstance(item, (str, int)) or isinstance(item, bool):
                # YAML reads bare on/off/yes/no as booleans: quote them
                raise RulesError(f"word lists hold strings; got {item!r} (quote it)")
            item = str(item)
            if item.startswith("$"):
                out.extend(tuple(p) for p in self._terms[self._term_name(item)])
            elif item in ("<end>", "<punct>"):
                out.append((item,))
            else:
                out.append(tuple(self._tokenize_phrase(item)))
        return out

    def _term_name(self, ref: str) -> str:
        name = ref[1:]
        if name not in self._terms:
            raise RulesError(f"unknown term set {ref!r}")
        return name

    def _compile_pattern(self, pat, concept: str) -> List[List[dict]]:
        if isinstance(pat, list):      # a raw spaCy token pattern
            return [pat]
        if not isinstance(pat, str) or not pat.strip():
            raise RulesError(f"concept {concept}: bad pattern {pat!r}")
        slots: List[List[List[dict]]] = []
        for tok in pat.split():
            slots.extend(self._compile_slot(tok, concept))
        out = []
        for combo in product(*slots):
            seq = [d for part in combo for d in part]
            if seq and any(d.get("OP") not in ("?", "*") for d in seq):
                out.append(seq)
            if len(out) > 5000:
                raise RulesError(f"concept {concept}: pattern {pat!r} expands too much")
        if not out:
            raise RulesError(f"concept {concept}: pattern {pat!r} matches nothing")
        return out

    def _compile_slot(self, tok: str, concept: str) -> List[List[List[dict]]]:
        """One DSL token -> one or more slots; each slot is a list of alternatives."""
        m = re.fullmatch(r"~(\d)", tok)
        if m:
            return [[[{"IS_SENT_START": False, "OP": "?"}]] for _ in range(int(m.group(1)))]
        if tok == "_":
            return [[[{"IS_SENT_START": False}]]]
        optional = False
        if tok.endswith("?") and len(tok) > 1:
            optional, tok = True, tok[:-1]
        if tok.startswith("/") and tok.endswith("/") and len(tok) > 2:
            alts = [[{"LOWER": {"REGEX": tok[1:-1]}}]]
        elif tok.startswith("!"):
            words = []
            for a in tok[1:].split("|"):
                if a.startswith("$"):
                    words.extend(" ".join(p) for p in self._terms[self._term_name(a)] if len(p) == 1)
                else:
                    words.extend(self._tokenize_phrase(a))
            alts = [[{"NORM": {"NOT_IN": sorted(set(words))}}]]
        else:
            singles: Set[str] = set()
            multis: List[List[str]] = []
            for a in tok.split("|"):
                if a.startswith("$"):
                    seqs = self._terms[self._term_name(a)]
                else:
                    seqs = [self._tokenize_phrase(a.replace("+", " "))]
                for seq in seqs:
                    if len(seq) == 1:
                        singles.add(seq[0])
                    elif seq:
                        multis.append(seq)
            alts = []
            if singles:
                alts.append([{"NORM": {"IN": sorted(singles)}} if len(singles) > 1
                             else {"NORM": next(iter(singles))}])
            for seq in multis:
                alts.append([{"NORM": w} for w in seq])
            if not alts:
                raise RulesError(f"concept {concept}: empty token {tok!r}")
        if optional:
            if len(alts) == 1 and len(alts[0]) == 1:
                d = dict(alts[0][0])
                d["OP"] = "?"
                alts = [[d]]
            else:
                alts = alts + [[]]
        return [alts]

    # ------------------------------------------------------------------ per message
    def _make_doc(self, text: str):
        with self._lock:  # spaCy pipelines are not guaranteed thread-safe
            # lower case: tokenizer exceptions then split "CANT", "DONT" like "cant", "dont"
            text = text.lower()
            for rx, replacement in self._rewrites:
                text = rx.sub(replacement, text)
            doc = self._nlp(text)
        for tok in doc:
            norm = self._canon(tok.lower_)
            if norm != tok.norm_:
                tok.norm_ = norm
        return doc

    def _assess_chunk(self, text: str) -> Tuple[Dict[str, str], bool]:
        doc = self._make_doc(text)
        n = len(doc)
        if n == 0:
            return {}, False
        norms = [t.norm_ for t in doc]
        sent_of, clause_of, region_of, clause_spans = self._segment(doc, norms)
        with self._lock:
            raw = self._matcher(doc)
        by_concept: Dict[str, List[_Match]] = {}
        seen = set()
        for match_id, start, end in raw:
            name = self._nlp.vocab.strings[match_id]
            if sent_of[start] != sent_of[end - 1]:
                continue
            key = (name, start, end)
            if key in seen:
                continue
            seen.add(key)
            m = _Match(name, start, end, sent_of[start], clause_of[start], region_of[start])
            by_concept.setdefault(name, []).append(m)
        self._drop_contained_sites(by_concept)
        ctx = _Context(self, doc, norms, sent_of, clause_of, region_of, clause_spans, by_concept)
        hypothetical = ctx.evaluate()
        fired = self._fire(ctx)
        if not hypothetical:
            # would a flag fire if the hypothetical mentions were real? ("what if my legs go weak")
            ctx.accept = (AFFIRMED, HYPOTHETICAL)
            hypothetical = bool(set(self._fire(ctx)) - set(fired))
            ctx.accept = (AFFIRMED,)
        return fired, hypothetical

    def _drop_contained_sites(self, by_concept: Dict[str, List[_Match]]) -> None:
        """A site inside a longer site of another concept is not a site of its own:
        "legs" in "between my legs", "leg" in "one of my legs"."""
        sites = [(mt.start, mt.end, name) for name, ms in by_concept.items()
                 if self._concepts[name].kind == "site" for mt in ms]
        if len(sites) < 2:
            return
        spans_by_concept: Dict[str, Set[Tuple[int, int]]] = {}
        for a, b, name in sites:
            spans_by_concept.setdefault(name, set()).add((a, b))
        covering: Dict[int, List[Tuple[int, int, str]]] = {}
        for a, b, name in sites:
            if b - a > 1:
                for i in range(a, b):
                    covering.setdefault(i, []).append((a, b, name))
        if not covering:
            return
        for name, ms in by_concept.items():
            if self._concepts[name].kind != "site":
                continue
            keep = []
            for mt in ms:
                contained = False
                for a, b, other in covering.get(mt.start, ()):
                    if other != name and a <= mt.start and mt.end <= b and (b - a) > (mt.end - mt.start):
                        if (a, b) not in spans_by_concept[name]:
                            contained = True
                            break
                if not contained:
                    keep.append(mt)
            ms[:] = keep

    def _segment(self, doc, norms: List[str]):
        """Sentence, strict-clause and loose-region ids per token."""
        n = len(doc)
        sent_of = [0] * n
        has_sents = doc.has_annotation("SENT_START")
        s = 0
        for i, tok in enumerate(doc):
            if i > 0:
                newline = "\n" in doc[i - 1].text or "\n" in doc[i - 1].whitespace_
                if (has_sents and tok.is_sent_start) or newline or (
                        not has_sents and doc[i - 1].text in (".", "!", "?")):
                    s += 1
            sent_of[i] = s
        clause_of = [0] * n
        region_of = [0] * n
        c = r = 0
        for i, tok in enumerate(doc):
            if i > 0 and sent_of[i] != sent_of[i - 1]:
                c += 1
                r += 1
            else:
                brk = self._break_before(doc, norms, sent_of, i)
                if brk:
                    c += 1
                    if brk == "hard":
                        r += 1
            clause_of[i] = c
            region_of[i] = r
        spans: Dict[int, Tuple[int, int]] = {}
        for i, cid in enumerate(clause_of):
            a, b = spans.get(cid, (i, i + 1))
            spans[cid] = (min(a, i), max(b, i + 1))
        return sent_of, clause_of, region_of, spans

    def _break_before(self, doc, norms, sent_of, i) -> Optional[str]:
        """'hard' = new clause and region; 'soft' = new clause, same region (anaphora)."""
        norm = norms[i]
        tok = doc[i]
        if norm in self._hard_breaks or tok.text in self._hard_breaks:
            if tok.text in ("-", "–", "—") and not (doc[i - 1].whitespace_ or tok.whitespace_):
                return None  # "numb-ish", "82-year-old"
            j = i + 1
            while j < len(doc) and norms[j] in self._skip_after_break:
                j += 1
            if tok.is_alpha and j < len(doc) and norms[j] in self._anaphora:
                return "soft"  # "not swollen but it's red": same thing, new clause
            return "hard"
        if norm in self._soft_breaks or tok.text == ",":
            # a new clause starts if a subject follows and a verb comes soon after
            j = i + 1
            n = len(doc)
            while j < n and norms[j] in self._skip_after_break and sent_of[j] == sent_of[i]:
                j += 1
            if j >= n or sent_of[j] != sent_of[i]:
                return None
            first = norms[j]
            if first in self._question_starters and first in self._clause_verbs:
                return "hard"  # ", does that mean ...", ", is that bad"
            if first in self._subject_words or first in self._anaphora:
                for k in range(j + 1, min(j + 5, n)):
                    if sent_of[k] != sent_of[i] or doc[k].is_punct:
                        break
                    if norms[k] in self._clause_verbs:
                        return "soft" if first in self._anaphora else "hard"
        return None

    # ------------------------------------------------------------------ firing
    def _fire(self, ctx: "_Context") -> Dict[str, str]:
        fired: Dict[str, Tuple[_Flag, str]] = {}
        # pass 1: triggers without unless_flags; pass 2: the rest
        for pass_no in (1, 2):
            for flag in self._flags:
                if flag.id in fired:
                    continue
                for trig in flag.triggers:
                    if (pass_no == 1) == bool(trig.unless_flags):
                        continue
                    if trig.unless_flags and any(f in fired for f in trig.unless_flags):
                        continue
                    exp = ctx.trigger_experiencer(trig)
                    if exp is not None:
                        fired[flag.id] = (flag, exp)
                        break
        out: Dict[str, str] = {}
        for fid, (flag, exp) in fired.items():
            if any(s in fired for s in flag.suppressed_by):
                continue
            tier = flag.tier
            if flag.upgrade_to:
                for cond in flag.upgrade_if:
                    if "concept" in cond and ctx.affirmed(cond["concept"]):
                        tier = flag.upgrade_to
                    elif cond.get("experiencer") and exp == cond["experiencer"]:
                        tier = flag.upgrade_to
            out[fid] = tier
        return out

    def _result(self, fired: Dict[str, str], hypothetical: bool) -> TriageResult:
        findings = [Finding(fid, tier, self._flag_by_id[fid].watch_for)
                    for fid, tier in fired.items()]
        findings.sort(key=lambda f: (-_TIER_RANK[f.tier], self._flag_by_id[f.flag].order))
        return TriageResult(findings=tuple(findings), hypothetical=bool(hypothetical))


class _Context:
    """Everything known about one chunk of text: matches, persons, clause structure."""

    def __init__(self, tri: Triage, doc, norms, sent_of, clause_of, region_of, clause_spans,
                 by_concept: Dict[str, List[_Match]]):
        self.t = tri
        self.doc = doc
        self.norms = norms
        self.n = len(doc)
        self.sent_of = sent_of
        self.clause_of = clause_of
        self.region_of = region_of
        self.clause_spans = clause_spans
        self.m = by_concept
        self.concepts = tri._concepts
        self.accept: Tuple[str, ...] = (AFFIRMED,)
        self.sent_norms: Dict[int, Set[str]] = {}
        for i, nm in enumerate(norms):
            self.sent_norms.setdefault(sent_of[i], set()).add(nm)
        self._cue_tokens: Dict[str, Set[int]] = {}
        for name, c in self.concepts.items():
            if c.kind == "cue":
                toks: Set[int] = set()
                for mt in by_concept.get(name, []):
                    toks.update(range(mt.start, mt.end))
                self._cue_tokens[name] = toks
        self._concept_tokens: Set[int] = set()
        selfneg: Set[int] = set()
        for name, matches in by_concept.items():
            c = self.concepts[name]
            if c.kind != "cue":
                for mt in matches:
                    self._concept_tokens.update(range(mt.start, mt.end))
                    if c.negation_is_flag:
                        selfneg.update(range(mt.start, mt.end))
        # a negation that is part of a flag ("nothing helps", "can't wee") negates nothing else
        self._neg_all = set(self._cue_tokens.get("negation", set()))
        self._cue_tokens["negation"] = self._neg_all - selfneg
        self._question_sents = self._find_questions()
        self._persons = self._find_persons()
        self._person_starts = [p.start for p in self._persons]
        self._person_sents = {self.sent_of[p.start] for p in self._persons}
        self._cue_sents: Dict[str, Set[int]] = {
            name: {mt.sent for mt in by_concept.get(name, [])}
            for name, c in self.concepts.items() if c.kind == "cue"}
        self._cues_by_sent: Dict[Tuple[str, int], List[_Match]] = {}
        for name in ("past_time", "recent_past"):
            for mt in by_concept.get(name, []):
                self._cues_by_sent.setdefault((name, mt.sent), []).append(mt)

    # -------------------------------------------------------------- helpers
    def cue(self, name: str) -> List[_Match]:
        return self.m.get(name, [])

    def cue_at(self, name: str, i: int) -> bool:
        return i in self._cue_tokens.get(name, ())

    def affirmed(self, concept: str) -> bool:
        return bool(self._affirmed_matches(concept))

    def _find_questions(self) -> Set[int]:
        qs: Set[int] = set()
        starts: Dict[int, int] = {}
        for i in range(self.n):
            starts.setdefault(self.sent_of[i], i)
            if self.doc[i].text == "?" or self.doc[i].text.endswith("?"):
                qs.add(self.sent_of[i])
        for s, i in starts.items():
            j = i
            while j < self.n and self.sent_of[j] == s and (
                    self.doc[j].is_punct or self.doc[j].is_space
                    or self.norms[j] in self.t._question_skip):
                j += 1
            if j < self.n and self.sent_of[j] == s and self.norms[j] in self.t._question_starters:
                if not (j + 1 < self.n and self.norms[j + 1] == "not"):
                    qs.add(s)
        return qs

    def _find_persons(self) -> List[_Person]:
        persons: List[_Person] = []
        for cls in ("self", "other", "child", "pronoun"):
            for mt in self.cue("person_" + cls):
                if self._prev_is(mt.start, self.t._ctx_phrases("not_a_person_before")):
                    continue
                if cls in ("other", "child") and self._describes_writer(mt.start, mt.sent):
                    continue  # "I'm a cancer patient", "I'm a 15 year old girl"
                p = _Person(mt.start, mt.end, cls)
                if cls in ("other", "child", "pronoun"):
                    p.obj = self._named_as_object(mt.start)
                persons.append(p)
        persons.sort(key=lambda p: (p.start, -(p.end - p.start)))
        dedup: List[_Person] = []
        last_end = -1
        for p in persons:
            if p.start < last_end:
                continue
            dedup.append(p)
            last_end = p.end
        persons = dedup
        # ages: "my 8 year old", "my son (12)", "I'm 78", "my 14yo"
        ages_sorted = False
        age_c = self.concepts.get("age")
        for mt in self.cue("age"):
            if age_c is not None and (
                    (age_c.next_not_in and self._next_is(mt.end, age_c.next_not_in))
                    or (age_c.prev_not_in and self._prev_is(mt.start, age_c.prev_not_in))):
                continue  # "I'm 12 weeks pregnant", "the pain is 8"
            age = None
            for i in range(mt.start, mt.end):
                mm = re.match(r"^(\d{1,3})", self.doc[i].text)
                if mm:
                    age = int(mm.group(1))
                    break
            if age is None or age > 120:
                continue
            if not ages_sorted:
                persons.sort(key=lambda p: p.start)
                ages_sorted = True
            starts = [p.start for p in persons]
            k = bisect_left(starts, mt.end)
            # "my 15 year old son": the person after; "I'm 78", "my son is 15": the one before
            # (not "... my son is 15, my hip hurts": a writer's "my" is never aged from before)
            after = [p for p in persons[k:k + 2]
                     if 0 <= p.start - mt.end <= 1 and self.sent_of[p.start] == mt.sent
                     and p.cls not in ("self", "pronoun")]
            k = bisect_left(starts, mt.start)
            before = [p for p in persons[max(0, k - 5):k]
                      if -1 <= mt.start - p.end <= (1 if p.cls == "self" else 4)
                      and p.start < mt.start and self.sent_of[p.start] == mt.sent]
            owner = after[0] if after else (before[-1] if before else None)
            if not after and mt.start > 0 and self.norms[mt.start - 1] in _POSSESSIVES:
                owner = None  # "my 5 year old has ...": the age names the person
            if owner is None:
                insort(persons, _Person(mt.start, mt.end, "child" if age < 18 else "other", age),
                       key=lambda p: p.start)
            else:
                owner.age = age
        persons.sort(key=lambda p: p.start)
        # a writer who gives an age under 18 ("I'm 14 and my hip hurts") is a child
        if any(p.cls == "self" and p.age is not None and p.age < 18 for p in persons):
            for p in persons:
                if p.cls == "self":
                    p.cls = "child"
        last_other = "other"
        for p in persons:
            if p.age is not None and p.cls in ("child", "other", "pronoun"):
                p.cls = "child" if p.age < 18 else "other"
            if p.cls == "pronoun":
                p.cls = last_other
            elif p.cls in ("child", "other"):
                last_other = p.cls
        return persons

    def experiencer(self, mt: _Match) -> str:
        """Who has it: the last person named before the end of the mention, else "self".
        A person named only as the object of carrying, lifting or giving birth ("carrying my
        toddler all day, hip pain is awful") is passed over; a pronoun still refers to them."""
        k = bisect_left(self._person_starts, mt.end)
        while k > 0 and self._persons[k - 1].obj:
            k -= 1
        return self._persons[k - 1].cls if k else "self"

    def _describes_writer(self, start: int, sent: int) -> bool:
        """A person word in a description of the writer: "I'm a (cancer) patient", "I'm a
        15 year old girl" (not "I'm a carer for my son")."""
        phrases = self.t._ctx_phrases("self_description")
        if not phrases:
            return False
        stop = self.t._self_description_stop
        for k in range(self.t._self_description_window):
            q = start - k
            if q <= 0 or self.sent_of[q - 1] != sent:
                break
            if k and self.norms[q] in stop:
                break
            if self._prev_is(q, phrases):
                return True
        return False

    def _named_as_object(self, start: int) -> bool:
        j = start
        while j > 0 and self.norms[j - 1] in self.t._object_skip:
            j -= 1
        return self._prev_is(j, self.t._ctx_phrases("object_before"))

    def _prev_is(self, start: int, phrases: Sequence[Tuple[str, ...]]) -> bool:
        for ph in phrases:
            k = len(ph)
            if start - k >= 0 and tuple(self.norms[start - k:start]) == ph:
                return True
        return False

    def _next_is(self, end: int, phrases: Sequence[Tuple[str, ...]]) -> bool:
        for ph in phrases:
            if ph == ("<end>",):
                if end >= self.n or self.sent_of[end] != self.sent_of[end - 1]:
                    return True
                continue
            if ph == ("<punct>",):
                if end < self.n and self.doc[end].is_punct:
                    return True
                continue
            k = len(ph)
            if end + k <= self.n and tuple(self.norms[end:end + k]) == ph:
                return True
        return False

    # -------------------------------------------------------------- statuses
    def evaluate(self) -> bool:
        hypothetical = False
        hyperbole = self._cue_tokens.get("hyperbole", set())
        later: List[_Match] = []
        for name, matches in self.m.items():
            c = self.concepts[name]
            if c.kind == "cue":
                continue
            for mt in matches:
                mt.experiencer = self.experiencer(mt)
                if c.kind == "history":
                    later.append(mt)
                    continue
                mt.status = self._status(c, mt, hyperbole)
        for mt in later:
            mt.status = self._status(self.concepts[mt.concept], mt, hyperbole)
        for name, matches in self.m.items():
            c = self.concepts[name]
            if not c.subject:
                continue
            for mt in matches:
                if mt.status == HYPOTHETICAL:
                    hypothetical = True
        return hypothetical

    def _status(self, c: _Concept, mt: _Match, hyperbole: Set[int]) -> str:
        span = range(mt.start, mt.end)
        if hyperbole and any(i in hyperbole for i in span):
            return HYPERBOLE
        if c.next_in is not None and not self._next_is(mt.end, c.next_in):
            return EXCLUDED
        if c.next_not_in and self._next_is(mt.end, c.next_not_in):
            return EXCLUDED
        if c.prev_not_in and self._prev_is(mt.start, c.prev_not_in):
            return EXCLUDED
        if c.unless_sentence_has and self._sentence_has_phrase(mt.sent, c.unless_sentence_has):
            return EXCLUDED
        if c.exertion_sensitive and self._sentence_has_cue("exertion", mt.sent):
            return EXCLUDED
        if c.kind in ("site", "context"):
            return AFFIRMED if not (c.negatable and self._negated(c, mt)) else NEGATED
        if c.negatable and self._negated(c, mt):
            return NEGATED
        if self._hypothetical(c, mt):
            return HYPOTHETICAL
        if c.kind == "topic":
            return MENTION
        if not c.past_counts and self._past(mt):
            return PAST
        if c.resolvable and (self._past(mt, "recent_past") or self._resolved(mt)):
            return PAST
        if c.kind == "history" and self._someone_elses_history(mt):
            return OTHER
        return AFFIRMED

    def _sentence_has_phrase(self, sent: int, phrases: Sequence[Tuple[str, ...]]) -> bool:
        words = self.sent_norms.get(sent, set())
        for ph in phrases:
            if ph[0] not in words:
                continue
            if len(ph) == 1:
                return True
            k = len(ph)
            for i in range(self.n - k + 1):
                if self.sent_of[i] == sent and tuple(self.norms[i:i + k]) == ph:
                    return True
        return False

    def _sentence_has_cue(self, cue: str, sent: int) -> bool:
        return sent in self._cue_sents.get(cue, ())

    def _negated(self, c: _Concept, mt: _Match) -> bool:
        neg = self._cue_tokens.get("negation", set())
        pseudo = self._cue_tokens.get("pseudo_negation", set())
        if not self._neg_all:
            return False
        if not c.negation_is_flag:
            for i in range(mt.start, mt.end):
                if i in self._neg_all and i not in pseudo:
                    return True
        else:
            # "can't wee" *is* the flag: the negation inside is part of it. Only a cue right
            # before it undoes it ("no unexplained weight loss", "I don't have saddle numbness");
            # no list chain, so "no pain and can't wee" stays a flag.
            i = mt.start - 1
            filler = 0
            while i >= 0 and self.clause_of[i] == mt.clause and not self.doc[i].is_punct:
                if i in neg and i not in pseudo:
                    return True
                filler += 1
                if filler > 1:
                    break
                i -= 1
            return False
        # walk back from the match: through a chain of coordinated concept mentions
        # ("no fever, chills or sweats") and up to `window` filler tokens after the cue.
        i = mt.start - 1
        clause = mt.clause
        filler = 0
        while i >= 0 and self.clause_of[i] == clause:
            nm = self.norms[i]
            if i in neg and i not in pseudo:
                return True
            if nm in self.t._neg_enders:
                return False
            if self.doc[i].is_punct and nm not in self.t._neg_connectors:
                return False
            if nm in self.t._neg_connectors or self._in_concept(i):
                i -= 1
                continue
            filler += 1
            if filler > self.t._neg_window:
                return False
            i -= 1
        return False

    def _in_concept(self, i: int) -> bool:
        return i in self._concept_tokens

    def _hypothetical(self, c: _Concept, mt: _Match) -> bool:
        clause = mt.clause
        cstart, cend = self.clause_spans[clause]
        # 1. forward cues ("if", "what if", "in case", "when should") to the end of the clause
        fwd = self._cue_tokens.get("hypothetical_forward", set())
        habitual = self._cue_tokens.get("habitual_if", set())
        for i in range(cstart, mt.start + 1):
            if i in fwd and i not in habitual:
                return True
        # 2. question cues ("can X cause", "is X a sign of") anywhere in a question clause
        if self.sent_of[mt.start] in self._question_sents:
            qc = self._cue_tokens.get("hypothetical_question", set())
            if any(i in qc for i in range(cstart, cend)):
                return True
            # a question about a symptom with nobody having it ("is numbness in the groin
            # serious?") is a general question
            if mt.sent not in self._person_sents:
                return True
            if c.speculative_in_question:
                return True
        # 3. modal just before the match ("I might fall", "I'll go numb")
        j = mt.start - 1
        while j >= cstart and self.norms[j] in self.t._modal_skip:
            j -= 1
        if j >= cstart and self.cue_at("modal", j):
            return True
        # 4. speculation ("I'm worried I have cancer") for concepts that ask for it
        if c.speculation_cues:
            spec = self._cue_tokens.get("speculation", set())
            if any(i in spec for i in range(cstart, mt.start)):
                return True
        # 5. topic words ("cauda equina", "is it serious") in a question, worry or always
        if c.kind == "topic":
            if c.always_hypothetical or self.sent_of[mt.start] in self._question_sents:
                return True
            if self._sentence_has_cue("worry", mt.sent) or self._sentence_has_cue("speculation", mt.sent):
                return True
        return False

    def _past(self, mt: _Match, cue_name: str = "past_time") -> bool:
        for cue in self._cues_by_sent.get((cue_name, mt.sent), ()):
            if cue.clause == mt.clause:
                return True
            # fronted time adverbial: "Years ago, I had ..."
            cs, ce = self.clause_spans[cue.clause]
            if ce - cs <= 5 and mt.clause == cue.clause + 1:
                return True
            # a time clause of its own: "... broke his hip when he was 90",
            # "I had night sweats when I had covid last year"
            if mt.clause == cue.clause - 1 and (
                    cue.start <= cs + 1 or self.norms[cs] in self.t._time_clause_starters):
                return True
        if cue_name != "past_time":
            return False
        cstart, _ = self.clause_spans[mt.clause]
        used_to = self._cue_tokens.get("used_to", set())
        return any(i in used_to for i in range(cstart, mt.start))

    def _resolved(self, mt: _Match) -> bool:
        """Said to be over later in the same sentence: "I had a temperature but it's gone now",
        "the kids had a fever last week but they're fine now" (not "it hasn't gone")."""
        neg = self._neg_all
        for cue in self.m.get("resolved", ()):
            if cue.sent != mt.sent or cue.start < mt.end:
                continue
            cs, _ = self.clause_spans[cue.clause]
            if any(i in neg for i in range(max(cs, cue.start - 3), cue.end)):
                continue
            return True
        return False

    def _someone_elses_history(self, mt: _Match) -> bool:
        if self._sentence_has_cue("family_history", mt.sent):
            return True
        if mt.experiencer == "self":
            return False
        # a carer describing the patient: the same (non-self) person has symptoms now
        for name, matches in self.m.items():
            c = self.concepts[name]
            if c.kind not in ("symptom", "context") or name == mt.concept:
                continue
            if name not in self.t._carer_evidence:
                continue
            for other in matches:
                if other.status == AFFIRMED and other.experiencer != "self":
                    return False
        return True

    # -------------------------------------------------------------- triggers
    def _affirmed_matches(self, concept: str) -> List[_Match]:
        c = self.concepts[concept]
        names = c.union if c.kind == "union" else (concept,)
        return [mt for name in names for mt in self.m.get(name, []) if mt.status in self.accept]

    def _pair_matches(self, symptom: str, site: str) -> List[_Match]:
        """Symptom mentions attributed to the given site (see ``_attributed_sites``)."""
        site_matches = self._affirmed_matches(site)
        if not site_matches:
            return []
        out = []
        for mt in self._affirmed_matches(symptom):
            for a, b in self._attributed_sites(mt):
                if any(s.start < b and a < s.end for s in site_matches):
                    out.append(mt)
                    break
        return out

    def _all_sites(self) -> List[Tuple[int, int]]:
        if not hasattr(self, "_sites_cache"):
            spans = []
            for name, matches in self.m.items():
                if self.concepts[name].kind == "site":
                    spans.extend((mt.start, mt.end) for mt in matches)
            # merge overlapping spans so that "one of my legs" is one site
            spans.sort()
            merged: List[List[int]] = []
            for a, b in spans:
                if merged and a < merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], b)
                else:
                    merged.append([a, b])
            self._sites_cache = [(a, b) for a, b in merged]
            self._sites_by_region: Dict[int, List[Tuple[int, int]]] = {}
            for a, b in self._sites_cache:
                self._sites_by_region.setdefault(self.region_of[a], []).append((a, b))
        return self._sites_cache

    def _attributed_sites(self, mt: _Match) -> List[Tuple[int, int]]:
        """Where a symptom is: the site(s) named right after it in the same region
        ("numbness in my legs, bum and groin"), else the nearest site before it
        ("my bum and groin are numb")."""
        region = mt.region
        window = self.t._attribution_window
        connectors = self.t._neg_connectors | self.t._attribution_connectors
        self._all_sites()
        sites = self._sites_by_region.get(region, [])
        after = [s for s in sites if s[0] >= mt.end and s[0] - mt.end <= window]
        inside = [s for s in sites if mt.start <= s[0] and s[1] <= mt.end]
        if inside:
            return inside
        subject = self._subject_site(mt, sites)
        if after:
            chain = [after[0]]
            for s in after[1:]:
                gap = range(chain[-1][1], s[0])
                if all(self.norms[i] in connectors for i in gap):
                    chain.append(s)
                else:
                    break
            return chain + ([subject] if subject else [])
        before = [s for s in sites if s[1] <= mt.start]
        if not before:
            return []
        chain = [before[-1]]
        for s in reversed(before[:-1]):
            gap = range(s[1], chain[-1][0])
            if all(self.norms[i] in connectors for i in gap):
                chain.append(s)
            else:
                break
        return chain

    def _subject_site(self, mt: _Match, sites) -> Optional[Tuple[int, int]]:
        """The site a symptom is said of, as in "my bum is tingling (down to my knee)"."""
        link = self.t._link_words
        for a, b in reversed(sites):
            if b > mt.start:
                continue
            gap = range(b, mt.start)
            if len(gap) <= 4 and all(self.norms[i] in link for i in gap):
                return (a, b)
            return None
        return None

    def trigger_experiencer(self, trig: _Trigger) -> Optional[str]:
        """None if the trigger does not fire; else the experiencer of its first mention."""
        groups: List[List[_Match]] = []
        for name in trig.all:
            groups.append(self._affirmed_matches(name))
        for sym, site in trig.pairs:
            groups.append(self._pair_matches(sym, site))
        if any(not g for g in groups):
            return None
        if trig.unless_self_has and any(
                m.experiencer == "self"
                for name in trig.unless_self_has for m in self._affirmed_matches(name)):
            return None
        key = {"clause": lambda m: m.clause, "region": lambda m: m.region,
               "sentence": lambda m: m.sent, "message": lambda m: 0}[trig.scope]
        common = set(key(m) for m in groups[0])
        for g in groups[1:]:
            common &= set(key(m) for m in g)
        if not common:
            return None
        for primary in groups[0]:
            if key(primary) not in common:
                continue
            exp = primary.experiencer
            if trig.experiencer and exp != trig.experiencer:
                continue
            if trig.experiencer_not and exp == trig.experiencer_not:
                continue
            if trig.same_experiencer and not all(
                    any(key(m) == key(primary) and m.experiencer == exp for m in g)
                    for g in groups[1:]):
                continue
            return exp
        return None


def _blank_pipeline():
    import spacy  # local import: spaCy (and what it pulls in) loads only when needed

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return nlp


_default: Optional[Triage] = None
_default_lock = threading.Lock()


def rules_path() -> str:
    """The red-flag table in use: env RED_FLAGS_PATH (relative to the project root) or the default."""
    path = os.environ.get(RULES_ENV_VAR) or DEFAULT_RULES_PATH
    if not os.path.isabs(path):
        path = os.path.join(PROJECT_ROOT, path)
    return path


def default_triage() -> Triage:
    """The shared detector, built on first use from ``rules_path()``."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                t0 = time.perf_counter()
                _default = Triage.from_file(rules_path())
                logger.info("red-flag triage loaded: %d flags (%.0f ms)", len(_default.flag_ids),
                            (time.perf_counter() - t0) * 1000)
    return _default


def assess(text: str) -> TriageResult:
    """Convenience: ``default_triage().assess(text)``."""
    return default_triage().assess(text)

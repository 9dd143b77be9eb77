"""Analyse a question into term groups: synonyms, canonical entities, regions, number cues."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.facts.datafiles import string_list
from bot.facts.entities import Entity, EntityTable, Mention
from bot.facts.errors import DataFileError
from bot.facts.normalize import CJK, normalize_str
from bot.facts.script import to_simplified
from bot.facts.tokenize import Segmenter

# Entity names this long or longer are matched with one mistyped character. Regions
# are never fuzzy: real place names differ by one character (南湖区/西湖区).
FUZZY_MIN = 4
_CJK_RUN = re.compile(f"[{CJK}]+")
_COUNT_QUESTION = re.compile(
    r"(多少|几)(亿元|万元|平方米|钱|家|个|人|名|位|项|件|年|次|场|条|亿|万|批|天|所)?"
)


@dataclass(frozen=True)
class QueryRules:
    """Query vocabulary from data/query.yml: stopwords, synonyms, cues, other places."""

    stopwords: frozenset[str]
    synonyms: dict[str, frozenset[str]]
    number_cues: dict[str, str]
    other_places: frozenset[str] = frozenset()
    place_suffixes: tuple[str, ...] = ()
    definition_cues: tuple[str, ...] = ()
    definition_markers: tuple[str, ...] = ()

    def is_place(self, word: str) -> bool:
        """Whether ``word`` names a place (listed, or ending in 市/新区/开发区 …)."""
        return word in self.other_places or any(
            word.endswith(suffix) and len(word) > len(suffix) for suffix in self.place_suffixes
        )

    def expand(self, word: str) -> frozenset[str]:
        """``word`` and its synonyms."""
        return self.synonyms.get(word, frozenset()) | {word}


def rules_from_data(data: dict[str, Any], path: Path) -> QueryRules:
    """Build rules from the parsed query.yml mapping (also stored in the index)."""
    stopwords = frozenset(string_list(data.get("stopwords"), path=path, what="stopwords"))
    synonyms: dict[str, set[str]] = {}
    groups = data.get("synonyms") or []
    if not isinstance(groups, list):
        raise DataFileError("'synonyms' must be a list of word lists", path=path)
    for group in groups:
        words = [w.lower() for w in string_list(group, path=path, what="a synonym group")]
        for word in words:
            synonyms.setdefault(word, set()).update(w for w in words if w != word)
    cues = data.get("number_cues") or {}
    if not isinstance(cues, dict) or not all(isinstance(v, str) for v in cues.values()):
        raise DataFileError("'number_cues' must map cue words to a unit string", path=path)
    return QueryRules(
        stopwords=stopwords,
        synonyms={w: frozenset(s) for w, s in synonyms.items()},
        number_cues={str(k): v for k, v in cues.items()},
        other_places=frozenset(
            string_list(data.get("other_places"), path=path, what="other_places")
        ),
        place_suffixes=tuple(
            string_list(data.get("other_place_suffixes"), path=path, what="other_place_suffixes")
        ),
        definition_cues=tuple(string_list(data.get("definition_cues"), path=path, what="cues")),
        definition_markers=tuple(
            string_list(data.get("definition_markers"), path=path, what="definition_markers")
        ),
    )


@dataclass(frozen=True)
class TermGroup:
    """One informative unit of the question and every token that counts as matching it."""

    head: str
    alternatives: frozenset[str]
    subwords: tuple[str, ...] = ()
    region: str | None = None
    place: bool = False  # a place name that is not one of our regions


@dataclass(frozen=True)
class Query:
    """An analysed question."""

    text: str
    groups: tuple[TermGroup, ...]
    regions: tuple[str, ...]
    number_units: tuple[str, ...] | None  # None: not asking for a number; "" = any unit
    phrases: tuple[str, ...] = ()
    asks_definition: bool = False


class QueryAnalyser:
    """Analyses questions against one entity table, segmenter and rule set."""

    def __init__(self, segmenter: Segmenter, table: EntityTable, rules: QueryRules) -> None:
        self.segmenter = segmenter
        self.table = table
        self.rules = rules
        self._fuzzy = _fuzzy_index(table)
        self._fuzzy_lengths = sorted({len(k) for k in self._fuzzy}, reverse=True)
        self._fuzzy_ends = {
            (len(n), part)
            for e in table.entities
            if e.kind != "region"
            for n in (e.name, *e.synonyms)
            if len(n) >= FUZZY_MIN
            for part in (n[:2], n[-2:])
        }
        self._exact_surfaces = frozenset(n for e in table.entities for n in (e.name, *e.synonyms))

    def analyse(self, text: str) -> Query:
        """Normalise (Traditional -> Simplified, punctuation), spot entities, segment, expand."""
        norm = normalize_str(to_simplified(text))
        mentions = self.table.find(norm)
        mentions += self.fuzzy_mentions(norm, mentions)
        mentions.sort(key=lambda m: m.start)
        # "多少家/几个" ask for a count; the measure word is not a topic word.
        spans = self.segmenter.spans(_COUNT_QUESTION.sub(lambda m: " " * len(m.group()), norm))
        groups: dict[str, TermGroup] = {}
        for mention in mentions:
            for group in self._entity_groups(mention, spans):
                groups.setdefault(group.head, group)
        covered = [(m.start, m.end) for m in mentions]
        for word, start, end in spans:
            if word in groups or any(s <= start and end <= e for s, e in covered):
                continue
            groups[word] = self._word_group(word)
        regions = {self.table.region_of(m.entity) for m in mentions}
        units = {unit for cue, unit in self.rules.number_cues.items() if cue in norm}
        # Adjacent content words, to reward facts that use them as one phrase.
        phrases = {
            norm[s1:e2] for (_, s1, e1), (_, s2, e2) in itertools.pairwise(spans) if e1 == s2
        }
        return Query(
            text=norm,
            groups=tuple(groups.values()),
            regions=tuple(sorted(r for r in regions if r)),
            number_units=tuple(sorted(units)) if units else None,
            phrases=tuple(sorted(phrases)),
            asks_definition=any(cue in norm for cue in self.rules.definition_cues),
        )

    def _word_group(self, word: str) -> TermGroup:
        return TermGroup(
            word,
            self.rules.expand(word),
            tuple(self.segmenter.subwords(word)),
            place=self.rules.is_place(word),
        )

    def _entity_groups(
        self, mention: Mention, spans: list[tuple[str, int, int]]
    ) -> list[TermGroup]:
        """The entity as one group (any of its names matches); plus what the surface adds.

        "汽车新四化" names 汽车 but also says 新四化, and "嘉康园一期" says 一期: the
        words beyond the canonical name stay separate groups. An alias that does not
        contain the name ("传感器园区") is just another spelling: its words only
        count as sub-words of the entity group.
        """
        entity = mention.entity
        names = frozenset(n.lower() for n in (entity.name, mention.surface, *entity.synonyms))
        head = entity.name.lower()
        surface = mention.surface.lower()
        region = entity.name if entity.kind == "region" else None
        if head in surface and head != surface:
            extra = [w for w in self.segmenter.words(surface.replace(head, " ")) if w not in names]
            return [TermGroup(head, names, (), region), *(self._word_group(w) for w in extra)]
        inside = [w for w, s, e in spans if s >= mention.start and e <= mention.end]
        return [TermGroup(head, names, tuple(w for w in inside if w not in names), region)]

    def fuzzy_mentions(self, text: str, exact: list[Mention]) -> list[Mention]:
        """Entity names typed with one wrong character ("嘉康圆一期").

        A fuzzy match may swallow shorter exact mentions inside it ("张江嘉定圆"
        contains 嘉定); those are removed from ``exact`` in place.
        """
        found: list[Mention] = []
        for length in self._fuzzy_lengths:
            for start in range(len(text) - length + 1):
                end = start + length
                window = text[start:end]
                # One typo leaves either the first or the last two characters intact.
                ends = self._fuzzy_ends
                if (length, window[:2]) not in ends and (length, window[-2:]) not in ends:
                    continue
                blocked = any(
                    m.start < end and start < m.end and not (start <= m.start and m.end <= end)
                    for m in [*exact, *found]
                )
                if blocked or window in self._exact_surfaces or not _CJK_RUN.fullmatch(window):
                    continue
                for i in range(length):
                    hit = self._fuzzy.get(window[:i] + "?" + window[i + 1 :])
                    if hit is not None and self._looks_mistyped(window, i):
                        exact[:] = [m for m in exact if not (start <= m.start and m.end <= end)]
                        found.append(Mention(hit[0], hit[1], start, end))
                        break
        return found

    def _looks_mistyped(self, window: str, i: int) -> bool:
        # "微电子企业" is one character away from "微电子产业" but 企业 is a real word;
        # a typo leaves a stray character or a non-word where the mistake is.
        for word, start, end in self.segmenter.raw_spans(window):
            if start <= i < end:
                return end - start == 1 or not self.segmenter.is_word(word)
        return False


def _fuzzy_index(table: EntityTable) -> dict[str, tuple[Entity, str]]:
    # Each name with one position wildcarded; keys shared by two entities are ambiguous.
    index: dict[str, tuple[Entity, str]] = {}
    clashes: set[str] = set()
    for entity in table.entities:
        if entity.kind == "region":
            continue
        for surface in (entity.name, *entity.synonyms):
            if len(surface) < FUZZY_MIN or not _CJK_RUN.fullmatch(surface):
                continue
            for i in range(len(surface)):
                key = surface[:i] + "?" + surface[i + 1 :]
                if key in index and index[key][0] is not entity:
                    clashes.add(key)
                index.setdefault(key, (entity, surface))
    for key in clashes:
        del index[key]
    return index

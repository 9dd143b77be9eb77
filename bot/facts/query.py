"""Analyse a question into term groups: synonyms, canonical entities, regions, number cues."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

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
# Blanked before segmenting: number cues, and 哪 before a numeral ("哪三大领域"
# asks which; 三大 and 领域 are what the answer says).
_CUE = re.compile(r"多少|几|多大|哪(?=[一二两三四五六七八九十几])")
_COUNT_QUESTION = re.compile(
    r"(多少|几|多大)(亿元|万元|平方米|钱|家|个|人|名|位|项|件|年|次|场|条|亿|万|批|天|所)?"
)
# Names this long are distinctive enough that one wrong character is a typo even
# when it happens to form a word ("张江高兴区嘉定园": 高兴 is a word, but no other
# name is that close). Shorter ones keep the stricter test (微电子企业 is not a
# typo for 微电子产业).
FUZZY_FREE_MIN = 6
# Years written in Chinese numerals ("二〇二二年") become digits, as the sources write them.
_CN_DIGITS = str.maketrans("〇零一二三四五六七八九", "00123456789")
_CN_YEAR = re.compile(r"[〇零一二三四五六七八九]{4}(?=年)")
# Text allowed between a region name and a place that it locates or that locates
# it ("嘉兴秀洲区", "嘉兴市秀洲区", "上海的闵行"; "上海市嘉定区", "浙江嘉兴南湖区").
_QUALIFIER_GAP = frozenset({"", "市", "的", "市的"})


@dataclass(frozen=True)
class QuantityRules:
    """Which questions ask for an amount, and which number units can answer them."""

    cues: tuple[str, ...] = ()
    not_quantity: tuple[str, ...] = ()
    measure_words: dict[str, tuple[str, ...]] = field(default_factory=dict)
    nouns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    families: dict[str, tuple[str, ...]] = field(default_factory=dict)

    _pattern: re.Pattern[str] | None = field(init=False, default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        cues = "|".join(re.escape(c) for c in sorted(self.cues, key=len, reverse=True))
        words = "|".join(re.escape(w) for w in sorted(self.measure_words, key=len, reverse=True))
        pattern = f"(?:{cues})(?P<measure>{words})?" if words else f"(?:{cues})"
        object.__setattr__(self, "_pattern", re.compile(pattern) if cues else None)

    def units(self, text: str, ends: frozenset[int] | None = None) -> tuple[str, ...] | None:
        """None if ``text`` asks for no amount; () for any amount; else the fitting units.

        ``ends`` are the word boundaries of ``text``: a measure word must end one
        ("多少人力资源服务机构" asks for a number of 机构, not of 人).
        """
        for phrase in self.not_quantity:
            text = text.replace(phrase, " " * len(phrase))
        asked, generic = False, False
        wanted: set[str] = set()
        for noun, units in self.nouns.items():
            if noun in text:
                asked = True
                wanted.update(self._expand(units))
        for match in self._pattern.finditer(text) if self._pattern else ():
            asked = True
            measure = match.groupdict().get("measure")
            if measure and (ends is None or match.end() in ends):
                wanted.update(self._expand(self.measure_words[measure]))
            else:
                generic = True
        if not asked:
            return None
        return tuple(sorted(wanted)) if wanted or not generic else ()

    def _expand(self, units: tuple[str, ...]) -> list[str]:
        return [v for u in units for v in self.families.get(u, (u,))]


PlaceKind = Literal["area", "place"]


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
    other_areas: frozenset[str] = frozenset()
    area_suffixes: tuple[str, ...] = ()
    expansions: dict[str, frozenset[str]] = field(default_factory=dict)
    quantity: QuantityRules = field(default_factory=QuantityRules)
    unavailable: tuple[str, ...] = ()
    requirement_cues: tuple[str, ...] = ()
    requirement_skip: frozenset[str] = frozenset()
    defined_after: tuple[str, ...] = ()
    defined_before: tuple[str, ...] = ()
    defined_lists: tuple[str, ...] = ()
    defined_adjacent: tuple[str, ...] = ()
    not_definition: tuple[str, ...] = ()

    def asks_definition(self, text: str) -> bool:
        """Whether ``text`` asks what something is or consists of."""
        for phrase in self.not_definition:
            text = text.replace(phrase, " ")
        return any(cue in text for cue in self.definition_cues)

    def place_kind(self, word: str) -> PlaceKind | None:
        """ "area" for another district/city/province (闵行区, 浙江省), "place" for another
        zone or a name ending in 市/新区/开发区 …, None for anything else."""
        bases = [word]
        if word.endswith(self.area_suffixes):
            bases += [word[: -len(s)] for s in self.area_suffixes if word.endswith(s)]
        if any(b in self.other_areas for b in bases if b):
            return "area"
        if any(b in self.other_places for b in bases if b):
            return "place"
        if word.endswith(self.place_suffixes) and word not in self.place_suffixes:
            return "place"
        return None

    def strip_area(self, word: str) -> str:
        """``word`` without an administrative suffix (嘉兴市 -> 嘉兴)."""
        for suffix in self.area_suffixes:
            if word.endswith(suffix) and len(word) > len(suffix):
                return word[: -len(suffix)]
        return word

    def is_place(self, word: str) -> bool:
        """Whether ``word`` names a place that is not one of ours."""
        return self.place_kind(word) is not None

    def expand(self, word: str) -> frozenset[str]:
        """``word``, its synonyms and its one-way expansions."""
        return (
            self.synonyms.get(word, frozenset()) | self.expansions.get(word, frozenset()) | {word}
        )


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
    terms = _mapping(data.get("term_definition"), path, "term_definition")
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
        other_areas=frozenset(string_list(data.get("other_areas"), path=path, what="other_areas")),
        area_suffixes=_longest_first(
            string_list(data.get("area_suffixes"), path=path, what="area_suffixes")
        ),
        expansions={
            k.lower(): frozenset(w.lower() for w in v)
            for k, v in _word_lists(data.get("expansions"), path, "expansions").items()
        },
        quantity=_quantity_rules(data.get("quantity"), path),
        unavailable=tuple(string_list(data.get("unavailable"), path=path, what="unavailable")),
        requirement_cues=_longest_first(
            string_list(data.get("requirement_cues"), path=path, what="requirement_cues")
        ),
        requirement_skip=frozenset(
            string_list(data.get("requirement_skip"), path=path, what="requirement_skip")
        ),
        defined_after=tuple(string_list(terms.get("after"), path=path, what="after")),
        defined_before=tuple(string_list(terms.get("before"), path=path, what="before")),
        defined_lists=tuple(string_list(terms.get("lists"), path=path, what="lists")),
        defined_adjacent=tuple(string_list(terms.get("adjacent"), path=path, what="adjacent")),
        not_definition=tuple(
            string_list(data.get("not_definition"), path=path, what="not_definition")
        ),
    )


def _mapping(value: Any, path: Path, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise DataFileError(f"{what!r} must be a mapping", path=path)
    return {str(k): v for k, v in value.items()}


def _word_lists(value: Any, path: Path, what: str) -> dict[str, tuple[str, ...]]:
    """A mapping of words to lists of words (expansions, measure words, …)."""
    return {
        k: tuple(string_list(v, path=path, what=f"{what}: {k}"))
        for k, v in _mapping(value, path, what).items()
    }


def _longest_first(words: list[str]) -> tuple[str, ...]:
    """Longest first, so alternations built from them prefer the longest match."""
    return tuple(sorted(words, key=len, reverse=True))


def _quantity_rules(value: Any, path: Path) -> QuantityRules:
    data = _mapping(value, path, "quantity")
    return QuantityRules(
        cues=tuple(string_list(data.get("cues"), path=path, what="quantity cues")),
        not_quantity=tuple(
            string_list(data.get("not_quantity"), path=path, what="quantity not_quantity")
        ),
        measure_words=_word_lists(data.get("measure_words"), path, "measure_words"),
        nouns=_word_lists(data.get("nouns"), path, "quantity nouns"),
        families=_word_lists(data.get("families"), path, "unit families"),
    )


@dataclass(frozen=True)
class TermGroup:
    """One informative unit of the question and every token that counts as matching it."""

    head: str
    alternatives: frozenset[str]
    subwords: tuple[str, ...] = ()
    region: str | None = None
    place: bool = False  # a place name that is not one of our regions
    entity: str | None = None  # the entity kind (park, programme, …) for an entity group


@dataclass(frozen=True)
class Query:
    """An analysed question."""

    text: str
    groups: tuple[TermGroup, ...]
    regions: tuple[str, ...]
    number_units: tuple[str, ...] | None  # None: not asking for a number; "" = any unit
    phrases: tuple[str, ...] = ()
    asks_definition: bool = False
    # Asks for an amount: None = no; () = any amount; else the units that can answer.
    amount_units: tuple[str, ...] | None = None
    # Other districts/cities/provinces named (闵行区, 浙江省); see query.yml other_areas.
    other_areas: tuple[str, ...] = ()
    # Our regions named for themselves, not just locating another place ("嘉兴秀洲区").
    own_regions: tuple[str, ...] = ()
    # Asks for something the cleaned sources never contain (电话, 地址, …).
    unavailable: tuple[str, ...] = ()
    # Heads of groups a fact must cover to answer at all ("需要抵押吗" -> 抵押).
    required: tuple[str, ...] = ()


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
        norm = _CN_YEAR.sub(lambda m: m.group().translate(_CN_DIGITS), norm)
        mentions = self.table.find(norm)
        mentions += self.fuzzy_mentions(norm, mentions)
        mentions.sort(key=lambda m: m.start)
        # One segmentation with the number cues (多少/几/多大) blanked out. Its word
        # boundaries tell a measure word from the start of a longer word: "多少家企业"
        # asks for a count of 家, "多少人力资源机构" is 人力资源, not 多少人.
        raw = self.segmenter.raw_spans(_CUE.sub(lambda m: " " * len(m.group()), norm))
        ends = frozenset(e for _, _, e in raw)
        measures = {
            (m.start(2), m.end())
            for m in _COUNT_QUESTION.finditer(norm)
            if m.group(2) and m.end() in ends
        }
        # The measure word of a count question is not a topic word.
        spans = self.segmenter.keep_spans(r for r in raw if (r[1], r[2]) not in measures)
        groups: dict[str, TermGroup] = {}
        starts: list[tuple[int, str]] = []  # (start, group head), to sort into text order
        for mention in mentions:
            for group in self._entity_groups(mention, spans):
                groups.setdefault(group.head, group)
            starts.append((mention.start, mention.entity.name.lower()))
        covered = [(m.start, m.end) for m in mentions]
        places: list[tuple[int, int, PlaceKind]] = []
        for word, start, end in spans:
            if word in groups or any(s <= start and end <= e for s, e in covered):
                continue
            # A word overlapping one of our names is not another place, and one that
            # only adds an administrative suffix to it ("嘉兴市") says nothing more.
            inside = [(s, e) for s, e in covered if s < end and start < e]
            if inside:
                rest = "".join(
                    ch for i, ch in enumerate(word, start) if not any(s <= i < e for s, e in inside)
                )
                if rest in self.rules.area_suffixes:
                    continue
            group = self._word_group(word, place=not inside)
            kind = self.rules.place_kind(word) if group.place else None
            if kind is not None and any(
                m.start >= end and norm[end : m.start] in _QUALIFIER_GAP
                for m in mentions
                if m.entity.kind == "region"
            ):
                continue  # "上海市嘉定区", "浙江嘉兴南湖区": the place only locates ours
            groups.setdefault(word, group)
            starts.append((start, word))
            if kind is not None:
                places.append((start, end, kind))
        regions = {self.table.region_of(m.entity) for m in mentions}
        own = {
            self.table.region_of(m.entity)
            for m in mentions
            if not (m.entity.kind == "region" and _locates(m, places, norm))
        }
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
            asks_definition=self.rules.asks_definition(norm),
            amount_units=self.rules.quantity.units(norm, ends),
            other_areas=tuple(dict.fromkeys(norm[s:e] for s, e, kind in places if kind == "area")),
            own_regions=tuple(sorted(r for r in own if r)),
            unavailable=tuple(w for w in self.rules.unavailable if w in norm),
            required=self._required(norm, sorted(starts), groups),
        )

    def _word_group(self, word: str, *, place: bool = True) -> TermGroup:
        return TermGroup(
            word,
            self.rules.expand(word),
            tuple(self.segmenter.subwords(word)),
            place=place and self.rules.is_place(word),
        )

    def _required(
        self, text: str, starts: list[tuple[int, str]], groups: dict[str, TermGroup]
    ) -> tuple[str, ...]:
        """The group right after a requirement cue ("需要抵押吗" -> 抵押), if any."""
        required: list[str] = []
        for cue in self.rules.requirement_cues:
            at = text.find(cue)
            if at < 0:
                continue
            end = at + len(cue)
            for start, head in starts:
                if start < end:
                    continue
                between = text[end:start]
                for skip in (*self.rules.requirement_skip, *self.segmenter.stopwords):
                    between = between.replace(skip, "")
                if head in self.rules.requirement_skip:
                    continue  # "需要提供担保吗": 提供 leads to what is needed
                if between.strip():
                    break
                if head in groups and not groups[head].region:
                    required.append(head)
                break
            break
        return tuple(required)

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
        kind = entity.kind
        if head in surface and head != surface:
            extra = [
                w
                for w in self.segmenter.words(surface.replace(head, " "))
                if w not in names and self.rules.strip_area(w) not in names  # 嘉兴市南湖区
            ]
            return [
                TermGroup(head, names, (), region, entity=kind),
                *(self._word_group(w, place=False) for w in extra),
            ]
        inside = [w for w, s, e in spans if s >= mention.start and e <= mention.end]
        subwords = tuple(w for w in inside if w not in names)
        return [TermGroup(head, names, subwords, region, entity=kind)]

    def fuzzy_mentions(
        self, text: str, exact: list[Mention], raw: list[tuple[str, int, int]] | None = None
    ) -> list[Mention]:
        """Entity names typed with one wrong character ("嘉康圆一期").

        A fuzzy match may swallow shorter exact mentions inside it ("张江嘉定圆"
        contains 嘉定); those are removed from ``exact`` in place. ``raw`` is the
        text's jieba segmentation, if already computed.
        """
        found: list[Mention] = []
        segmented = raw
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
                    if hit is None:
                        continue
                    if segmented is None:
                        segmented = self.segmenter.raw_spans(text)
                    if self._looks_mistyped(text, segmented, start, end, i):
                        exact[:] = [m for m in exact if not (start <= m.start and m.end <= end)]
                        found.append(Mention(hit[0], hit[1], start, end))
                        break
        return found

    def _looks_mistyped(
        self, text: str, raw: list[tuple[str, int, int]], start: int, end: int, i: int
    ) -> bool:
        # A character that begins or ends a dictionary word running past the window
        # is no typo: "嘉定氢能方面" is 嘉定/氢能/方面, not a misspelt 嘉定氢能港.
        at = start + i
        for word, s, e in raw:
            if s <= at < e:
                if (s < start or e > end) and self.segmenter.is_word(word):
                    return False
                break
        # "微电子企业" is one character away from "微电子产业" but 企业 is a real word;
        # a typo leaves a stray character or a non-word where the mistake is.
        window = text[start:end]
        if len(window) >= FUZZY_FREE_MIN:
            return True
        for word, start, end in self.segmenter.raw_spans(window):
            if start <= i < end:
                return end - start == 1 or not self.segmenter.is_word(word)
        return False


def _locates(mention: Mention, places: list[tuple[int, int, PlaceKind]], text: str) -> bool:
    """Whether a region name only locates a place named right after it ("嘉兴秀洲区")."""
    return any(
        start >= mention.end and text[mention.end : start] in _QUALIFIER_GAP
        for start, _, _ in places
    )


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

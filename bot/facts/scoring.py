"""Vectorised scoring over all facts: BM25 per term group, confidence (coverage), boosts.

All tunable numbers live here, each with the reason for its value.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence

import bm25s
import numpy as np
import numpy.typing as npt

from bot.facts.entities import EntityTable
from bot.facts.models import TOPICS, Fact
from bot.facts.query import Query, QueryRules, TermGroup
from bot.facts.tokenize import Segmenter

Vector = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]

# Answerability threshold on Hit.confidence: the IDF-weighted share of the
# question's term groups that a fact covers (1.0 = every group). Calibrated with
# `python -m bench.retrieval --calibrate` on the calibration split of
# tests/data/retrieval.yml only (ids with sha1 % 3 == 0; 79 of 249 questions):
# it is the midpoint of the widest run of thresholds that maximise correct top-1
# answers plus correct "nothing" replies there (78/79 for 0.43-0.57). See
# docs/fact-store.md; re-run the calibration whenever seeds or rules change.
# (Previous calibration, before the place/amount/region filters: 0.47, 66/68 for 0.44-0.50.)
MIN_CONFIDENCE = 0.50
# Ranking multipliers. Soft on purpose: they reorder plausible hits but never
# turn an unrelated sentence into an answer (the confidence ignores them).
TOPIC_BOOST = 1.3
REGION_BOOST = 1.3  # inside the asked-about region (菊园新区 facts for a 菊园 question)
PARK_BOOST = 1.3  # about the park the question names (张江嘉定园 -> the plan's facts)
# Facts of another top-level area (南湖区 vs 嘉定区 and its parts) are not boosted
# down but filtered out: see FactStore.search.
NUMBER_BOOST = 1.2  # "多少/几/哪年…" and the fact states a number
UNIT_BOOST = 1.5  # … in the unit asked for (多少家 -> 19家): strong evidence
DEFINITION_BOOST = 1.3  # "是什么/哪几个" and the fact spells it out (（即…）, 包括)
# … and spells out a term of the question itself ("“三港”即嘉定氢能港…" for 三港两园,
# "以…为主的“菊中”产业板块" for 菊中): the answer, not a sentence that uses the term.
TERM_DEFINITION_BOOST = 2.0
# Named entities (programmes, parks, industries) are what a question is about:
# in the confidence they weigh this much more than other words of the same
# rarity, so "外籍工程师办来华工作许可" is answered by the 外国人来华工作许可
# sentence, not by one about 工程师. (Ranking is BM25 x confidence, so this
# reorders too, without favouring facts that merely repeat the name.)
ENTITY_WEIGHT = 1.5
PHRASE_BOOST = 0.15  # per pair of adjacent question words found as one phrase
# Every fact of a region's documents is about that region, so naming it in the
# text is weaker evidence than other words.
REGION_TEXT_CREDIT = 0.5
# A fact matching only the parts of a compound ("入驻" for "入驻率") gets half credit.
SUBWORD_CREDIT = 0.5
# A question word the sources never use weighs like the rarest indexed word when
# it is rare in general Chinese (jieba log-rarity >= RARE_WORD), and a fifth of
# that when it is everyday language (<= COMMON_WORD): an unknown "公寓" or "个税"
# sinks the confidence, an unknown "进展" or "开始" hardly does.
COMMON_WORD = 8.5
RARE_WORD = 12.0
MIN_UNSEEN_SHARE = 0.2
# Ranking score = BM25 x confidence**COVERAGE_POWER x boosts: a fact that covers
# the whole question beats one that repeats part of it.
COVERAGE_POWER = 1.0
BM25_K1 = 1.5  # bm25s defaults; a sweep on the calibration split changed nothing
BM25_B = 0.75


class Scorer:
    """Precomputed per-fact data for fast scoring (a few ms per query)."""

    def __init__(
        self,
        facts: Sequence[Fact],
        tokens: Sequence[Sequence[str]],
        context: Sequence[Sequence[str]],
        table: EntityTable,
        rules: QueryRules,
        segmenter: Segmenter,
    ) -> None:
        self.n = len(facts)
        self.table = table
        self.segmenter = segmenter
        # Coverage looks at heading words too; BM25 ranks on the fact's own tokens.
        self.token_sets = [
            frozenset(t) | frozenset(c) for t, c in zip(tokens, context, strict=True)
        ]
        postings: dict[str, list[int]] = {}
        for i, token_set in enumerate(self.token_sets):
            for token in token_set:
                postings.setdefault(token, []).append(i)
        self.postings = {t: np.array(ix, dtype=np.int64) for t, ix in postings.items()}
        n = max(self.n, 1)
        df = Counter({t: len(ix) for t, ix in postings.items()})
        self.idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}
        self.idf_unseen = math.log(1 + (n + 0.5) / 0.5)
        self.region_mask = {
            r: np.array([table.within(f.region, r) for f in facts], dtype=bool)
            for r in table.regions
        }
        self.region_idf = {
            r: math.log(1 + (n - int(m.sum()) + 0.5) / (int(m.sum()) + 0.5))
            for r, m in self.region_mask.items()
        }
        self.regions = [f.region for f in facts]
        self.topic_mask = {t: np.array([t in f.topics for f in facts], dtype=bool) for t in TOPICS}
        self.has_number = np.array([bool(f.numbers) for f in facts], dtype=bool)
        units = {n.unit for f in facts for n in f.numbers}
        self.unit_mask = {
            u: np.array([any(n.unit == u for n in f.numbers) for f in facts]) for u in units
        }
        self.defines = np.array(
            [any(m in f.text for m in rules.definition_markers) for f in facts], dtype=bool
        )
        self.texts = [f.text for f in facts]
        self.lower_texts = [f.text.lower() for f in facts]
        self.numbers = [f.numbers for f in facts]
        self.rules = rules
        roots = [table.ancestors(f.region)[-1] for f in facts]
        self.area_mask = {r: np.array([x == r for x in roots], dtype=bool) for r in set(roots)}
        self.retriever = bm25s.BM25(k1=BM25_K1, b=BM25_B)
        if self.n:
            self.retriever.index([list(t) for t in tokens], show_progress=False)
        self.bm25_vocab = set(self.retriever.vocab_dict) if self.n else set()
        self._token_cache: dict[str, Vector] = {}

    # -- BM25 -------------------------------------------------------------

    def bm25(self, query: Query) -> Vector:
        """Sum over term groups of the best-matching alternative's BM25 score."""
        total: Vector = np.zeros(self.n)
        for group in query.groups:
            best = self._best(group.alternatives)
            if group.subwords:
                best = np.maximum(best, SUBWORD_CREDIT * self._best(group.subwords))
            total += REGION_TEXT_CREDIT * best if group.region else best
        return total

    def _best(self, tokens: Iterable[str]) -> Vector:
        best: Vector = np.zeros(self.n)
        for token in tokens:
            if token in self.bm25_vocab:
                best = np.maximum(best, self._token_scores(token))
        return best

    def _token_scores(self, token: str) -> Vector:
        cached = self._token_cache.get(token)
        if cached is None:
            cached = np.asarray(self.retriever.get_scores([token]), dtype=np.float64)
            if len(self._token_cache) < 20_000:
                self._token_cache[token] = cached
        return cached

    # -- confidence -----------------------------------------------------------

    def weight(self, group: TermGroup) -> float:
        """How informative a term group is (an IDF; named entities count ENTITY_WEIGHT times)."""
        if group.region:
            # A region matches every fact located in it: its rarity is that share.
            return self.region_idf.get(group.region, self.idf_unseen)
        if group.entity:
            return ENTITY_WEIGHT * self._word_weight(group)
        return self._word_weight(group)

    def _word_weight(self, group: TermGroup) -> float:
        if group.head in self.idf:
            return self.idf[group.head]
        known = [self.idf[a] for a in group.alternatives if a in self.idf]
        if known:
            return max(known)
        if group.place:
            return self.idf_unseen  # somewhere the sources do not cover
        rarity = self.segmenter.general_idf(group.head)
        share = (rarity - COMMON_WORD) / (RARE_WORD - COMMON_WORD)
        return self.idf_unseen * min(1.0, max(MIN_UNSEEN_SHARE, share))

    def is_unseen_term(self, group: TermGroup) -> bool:
        """A domain-dictionary term (人才公寓, 国际学校) that no fact uses, nor a synonym.

        Such a term names one concept the sources do not cover; a fact sharing one
        of its parts (人才, 国际) is not partly about it, so it gets no sub-word credit.
        """
        return not any(a in self.idf for a in group.alternatives) and self.segmenter.is_domain_term(
            group.head
        )

    def is_elsewhere(self, group: TermGroup) -> bool:
        """A place name (杭州, 苏州工业园区) that no indexed fact uses."""
        return group.place and not any(a in self.idf for a in group.alternatives)

    def coverage(self, query: Query) -> Vector:
        """For every fact, the IDF-weighted share of the query's groups it covers."""
        covered: Vector = np.zeros(self.n)
        total = 0.0
        for group in query.groups:
            weight = self.weight(group)
            total += weight
            match = self._mask(group.alternatives).astype(np.float64)
            if group.region and group.region in self.region_mask:
                match = np.maximum(match, self.region_mask[group.region])
            if group.subwords and not self.is_unseen_term(group):
                parts = sum(
                    (self._mask([s]).astype(np.float64) for s in group.subwords), np.zeros(self.n)
                )
                match = np.maximum(match, SUBWORD_CREDIT * parts / len(group.subwords))
            covered += weight * match
        return covered / total if total else covered

    def covers(self, group: TermGroup) -> Mask:
        """Facts that use the group's word or one of its alternatives."""
        return self._mask(group.alternatives)

    # -- filters ----------------------------------------------------------------

    def in_areas(self, areas: Iterable[str]) -> Mask:
        """Facts whose top-level area is one of ``areas`` (嘉定区 covers 菊园新区 facts)."""
        mask: Mask = np.zeros(self.n, dtype=bool)
        for area in areas:
            if area in self.area_mask:
                mask |= self.area_mask[area]
        return mask

    def amounts(self, i: int, units: tuple[str, ...]) -> tuple[str, ...]:
        """Numbers of fact ``i`` that can answer an amount question asking for ``units``.

        ``()`` asks for any amount, which a date is not: a year (2019年) is the unit
        "年份" (it answers "成立多久了"), a number of years below 1000 the duration
        "年数"; months and days never answer an amount question.
        """
        found = []
        for number in self.numbers[i]:
            unit = number.unit
            if unit == "年":
                unit = "年数" if number.value < 1000 else "年份"
            elif unit in ("月", "日"):
                unit = ""
            if unit and (unit in units if units else unit != "年份"):
                found.append(number.text)
        return tuple(found)

    def _mask(self, tokens: Iterable[str]) -> Mask:
        mask: Mask = np.zeros(self.n, dtype=bool)
        for token in tokens:
            ix = self.postings.get(token)
            if ix is not None:
                mask[ix] = True
        return mask

    def matched(self, query: Query, i: int) -> tuple[str, ...]:
        """The question's tokens (or their synonyms) that fact ``i`` contains."""
        tokens = self.token_sets[i]
        found: list[str] = []
        for group in query.groups:
            hit = sorted(a for a in group.alternatives if a in tokens)
            found.extend(hit or [s for s in group.subwords if s in tokens])
        return tuple(dict.fromkeys(found))

    # -- boosts ---------------------------------------------------------------

    def boosts(
        self, query: Query, candidates: Sequence[int], topic: str | None, regions: Sequence[str]
    ) -> Vector:
        """Multiplicative ranking boosts for the candidate facts."""
        ix = np.asarray(candidates, dtype=np.int64)
        factor: Vector = np.ones(len(ix))
        if topic in self.topic_mask:
            factor[self.topic_mask[topic][ix]] *= TOPIC_BOOST
        if regions:
            inside = np.zeros(len(ix), dtype=bool)
            for r in regions:
                inside |= self.region_mask.get(r, np.zeros(self.n, dtype=bool))[ix]
            factor[inside] *= REGION_BOOST
        for group in query.groups:
            # A park is a narrower place still: facts about it (in their text,
            # heading or document title) are boosted like facts inside a region.
            if group.entity == "park":
                factor[self._mask(group.alternatives)[ix]] *= PARK_BOOST
        if query.phrases:
            found = [sum(p in self.texts[i] for p in query.phrases) for i in ix]
            factor *= 1 + PHRASE_BOOST * np.array(found, dtype=np.float64)
        if query.number_units is not None:
            factor[self.has_number[ix]] *= NUMBER_BOOST
            wanted = np.zeros(len(ix), dtype=bool)
            for unit in query.number_units:
                if unit in self.unit_mask:
                    wanted |= self.unit_mask[unit][ix]
            factor[wanted] *= UNIT_BOOST
        if query.asks_definition:
            factor[self.defines[ix]] *= DEFINITION_BOOST
            defining = self._definition_pattern(query)
            if defining is not None:
                found = [bool(defining.search(self.lower_texts[i])) for i in ix]
                factor[np.array(found, dtype=bool)] *= TERM_DEFINITION_BOOST
        return factor

    def _definition_pattern(self, query: Query) -> re.Pattern[str] | None:
        """A term of the question followed or preceded, within its clause, by a defining word."""
        terms = sorted(
            {a for g in query.groups if not g.region for a in g.alternatives if len(a) >= 2},
            key=len,
            reverse=True,
        )
        if not terms:
            return None
        term = "(?:" + "|".join(map(re.escape, terms)) + ")"
        parts = []
        if self.rules.defined_after:
            after = "|".join(re.escape(w) for w in self.rules.defined_after)
            # "即" but not 即将/即刻/即时 (the brand 即刻感知).
            parts.append(rf"{term}[”’]?[^，。；！？]{{0,10}}?(?:{after})(?![将刻时便使])")
        if self.rules.defined_adjacent:
            adjacent = "|".join(re.escape(w) for w in self.rules.defined_adjacent)
            parts.append(rf"{term}[”’]?(?:{adjacent})")
        if self.rules.defined_before:
            before = "|".join(re.escape(w) for w in self.rules.defined_before)
            parts.append(rf"(?:{before})[“‘]?{term}")
        if self.rules.defined_lists:
            lists = "|".join(re.escape(w) for w in self.rules.defined_lists)
            parts.append(rf"{term}[”’]?[^，。；！？]{{0,10}}，?[^，。；！？]*?(?:{lists})")
        return re.compile("|".join(parts)) if parts else None

"""FactStore: load the built index and answer searches with BM25 plus boosts."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from bot.facts import storage
from bot.facts.datafiles import ENTITIES_PATH, QUERY_PATH
from bot.facts.entities import EntityTable, entities_from_data
from bot.facts.errors import FactNotFoundError, IndexCorruptError, QueryError
from bot.facts.models import TOPICS, Document, Fact, Hit, StoreStats
from bot.facts.query import QueryAnalyser, rules_from_data
from bot.facts.scoring import COVERAGE_POWER, MIN_CONFIDENCE, Scorer
from bot.facts.script import to_simplified
from bot.facts.tokenize import Segmenter

__all__ = ["MIN_CONFIDENCE", "FactStore"]


class FactStore:
    """Searchable sentence-level facts from the seed documents."""

    def __init__(self, payload: dict[str, Any], *, path: Path, load_seconds: float = 0.0) -> None:
        try:
            docs = [storage.document_from_dict(d) for d in payload["documents"]]
            by_id = {d.id: d for d in docs}
            rows = payload["facts"]
            self._facts = [storage.fact_from_dict(r, by_id[r["doc"]]) for r in rows]
            self._tokens: list[list[str]] = [list(map(str, r["tokens"])) for r in rows]
            context = [list(map(str, r["context"])) for r in rows]
            self._table: EntityTable = entities_from_data(payload["entities"], ENTITIES_PATH)
            rules = rules_from_data(payload["query"], QUERY_PATH)
        except (KeyError, TypeError, ValueError) as exc:
            raise IndexCorruptError(
                f"index is missing or has malformed data ({exc!r})", path=path
            ) from exc
        self.path = path
        self.key: str = str(payload.get("key", ""))
        self._documents = docs
        self._by_id = {f.id: i for i, f in enumerate(self._facts)}
        segmenter = Segmenter(rules.stopwords)
        self._analyser = QueryAnalyser(segmenter, self._table, rules)
        self._scorer = Scorer(self._facts, self._tokens, context, self._table, rules, segmenter)
        self._load_seconds = load_seconds

    @classmethod
    def load(cls, path: Path) -> FactStore:
        """Load an index built by :func:`bot.facts.build_index`."""
        started = time.perf_counter()
        payload = storage.read_payload(path)
        store = cls(payload, path=path)
        store._load_seconds = time.perf_counter() - started
        return store

    def warm_up(self) -> FactStore:
        """Pay jieba's dictionary load (~1.5 s) now instead of on the first search."""
        self._analyser.segmenter.warm_up()
        return self

    @property
    def documents(self) -> list[Document]:
        """The catalogue entries the facts come from."""
        return list(self._documents)

    @property
    def facts(self) -> list[Fact]:
        """Every fact, in document order."""
        return list(self._facts)

    def get(self, fact_id: str) -> Fact:
        """The fact with this id (``<document id>#<nnn>``)."""
        try:
            return self._facts[self._by_id[fact_id]]
        except KeyError:
            raise FactNotFoundError(f"no fact with id {fact_id!r}") from None

    def tokens(self, fact_id: str) -> list[str]:
        """The index tokens of a fact (for inspection)."""
        self.get(fact_id)
        return list(self._tokens[self._by_id[fact_id]])

    def stats(self) -> StoreStats:
        """Counts per document, topic and region."""
        per_topic = Counter(t for f in self._facts for t in f.topics)
        return StoreStats(
            documents=len(self._documents),
            facts=len(self._facts),
            per_document=dict(Counter(f.doc_id for f in self._facts)),
            per_topic={t: per_topic.get(t, 0) for t in TOPICS},
            per_region=dict(sorted(Counter(f.region for f in self._facts).items())),
            vocabulary=len(self._scorer.idf),
            load_seconds=self._load_seconds,
        )

    def search(
        self,
        text: str,
        *,
        topic: str | None = None,
        region: str | None = None,
        k: int = 3,
        min_confidence: float = MIN_CONFIDENCE,
    ) -> list[Hit]:
        """The best facts for a question, or [] when the sources do not cover it.

        ``topic`` (talent|funding|park|permit|industry; "none"/None for no preference)
        boosts matching facts. ``region`` (a region name or synonym, any script)
        restricts the answer to that region's top-level area (嘉定区 with its parts,
        or 南湖区) and boosts facts inside the region itself; regions named in the
        question do the same. [] when: the region is not one the sources cover; the
        question names another place (闵行区, 浙江省, 杭州) and none of ours; it asks
        for an amount and no matching fact states one in a fitting unit; it asks for
        contact details (never in the cleaned sources); or nothing is confident
        enough. ``min_confidence`` overrides the calibrated threshold (the benchmark
        sweeps it; callers should not).
        """
        if k < 1:
            raise QueryError(f"k must be at least 1, got {k}")
        if topic not in (None, "none", *TOPICS):
            raise QueryError(f"unknown topic {topic!r}; use one of {', '.join(TOPICS)}")
        scope = None
        if region:
            scope = self._table.canonical_region(to_simplified(region))
            if scope is None:
                return []
        query = self._analyser.analyse(text)
        if not query.groups or not self._facts or query.unavailable:
            return []
        scorer = self._scorer
        if not query.own_regions and query.other_areas:
            return []  # "闵行区的人才政策", "浙江省的高企奖励": another district or province
        if scope is None and not query.own_regions and any(map(scorer.is_elsewhere, query.groups)):
            return []  # "杭州未来科技城的补贴": a place the sources never mention
        base = scorer.bm25(query)
        candidates = np.flatnonzero(base > 0)
        confidence = scorer.coverage(query)[candidates]
        keep = confidence >= min_confidence
        regions = (scope,) if scope else query.own_regions
        areas = {self._table.ancestors(r)[-1] for r in (*regions, *query.own_regions)}
        if areas:
            # A 南湖区 fact never answers a 嘉定 question, and the other way round.
            keep &= scorer.in_areas(areas)[candidates]
        for group in query.groups:
            if group.head in query.required:
                keep &= scorer.covers(group)[candidates]
        answers: dict[int, tuple[str, ...]] = {}
        if query.amount_units is not None:
            # "多少钱" needs a sum of money, "比例/利率" a percentage: a fact naming the
            # programme without one cannot answer.
            for j, i in enumerate(candidates):
                if keep[j]:
                    answers[int(i)] = scorer.amounts(int(i), query.amount_units)
                    keep[j] = bool(answers[int(i)])
        candidates, confidence = candidates[keep], confidence[keep]
        if not candidates.size:
            return []
        scores = base[candidates] * confidence**COVERAGE_POWER
        scores *= scorer.boosts(query, list(candidates), topic, regions)
        order = sorted(range(len(candidates)), key=lambda j: (-scores[j], candidates[j]))[:k]
        return [
            Hit(
                self._facts[int(candidates[j])],
                round(float(scores[j]), 6),
                round(float(confidence[j]), 4),
                scorer.matched(query, int(candidates[j])),
                answers.get(int(candidates[j]), ()),
            )
            for j in order
        ]

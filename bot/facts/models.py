"""Plain data types shared by the fact-store modules."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Topic = Literal["talent", "funding", "park", "permit", "industry"]
TOPICS: tuple[Topic, ...] = ("talent", "funding", "park", "permit", "industry")
Script = Literal["hans", "hant"]


@dataclass(frozen=True)
class Document:
    """One catalogue entry: a seed document and its bibliographic data."""

    id: str
    title: str
    publisher: str
    date: str
    region: str
    language: str
    file: str
    doc_number: str | None = None


@dataclass(frozen=True)
class Number:
    """A number mentioned in a fact, with its unit ("83.03%" -> 83.03, "%")."""

    text: str
    value: float
    unit: str


@dataclass(frozen=True)
class Fact:
    """One sentence-level statement from a seed document."""

    id: str
    doc_id: str
    title: str
    publisher: str
    date: str
    doc_number: str | None
    heading_path: tuple[str, ...]
    text: str
    original: str
    line: int
    region: str
    topics: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()
    numbers: tuple[Number, ...] = ()
    # A remark that applies to the whole paragraph, e.g. "牵头单位：区科委".
    note: str | None = None

    @property
    def heading(self) -> str:
        """The heading path joined with " > "."""
        return " > ".join(self.heading_path)


@dataclass(frozen=True)
class Hit:
    """A fact returned by a search.

    ``score`` is the ranking score (BM25 plus boosts); ``confidence`` (0-1) is the
    share of the question's informative terms that the fact covers, which is what
    the "not in my sources" threshold is applied to. ``matched`` are the question's
    terms found in the fact; ``answers`` the fact's own words that answer what the
    question asks for (the numbers in the unit asked for: "7家" for 几个孵化器), which
    a trimmed snippet must keep.
    """

    fact: Fact
    score: float
    confidence: float
    matched: tuple[str, ...] = ()
    answers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Answer:
    """A composed reply: text ending in citation lines, the cited document ids and fact ids."""

    text: str
    sources: list[str] = field(default_factory=list)
    fact_ids: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.text)


@dataclass(frozen=True)
class BuildResult:
    """What :func:`build_index` did."""

    index_path: Path
    rebuilt: bool
    key: str
    documents: int
    facts: int
    seconds: float


@dataclass(frozen=True)
class StoreStats:
    """Counts describing a loaded store."""

    documents: int
    facts: int
    per_document: dict[str, int]
    per_topic: dict[str, int]
    per_region: dict[str, int]
    vocabulary: int
    load_seconds: float

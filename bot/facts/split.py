"""Turn cleaned lines into sentence-level fact spans with heading paths."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from bot.facts.clean import Line
from bot.facts.spans import Tracked

_CN_NUM = "一二三四五六七八九十"
# (level, pattern) for numbered headings: 一、 > （一） > 1.
_NUMBERED = (
    (1, re.compile(rf"^[{_CN_NUM}]+、")),
    (2, re.compile(rf"^（[{_CN_NUM}]+）")),
    (3, re.compile(r"^\d{1,2}[.．、](?!\d)")),
)
# "1.创新创业产业集聚地。全力打造……" or "一是通过规划布局，引领产业集聚。……":
# a paragraph that opens with a short label naming what the paragraph is about.
_LABELLED = re.compile(
    rf"^(\d{{1,2}}[.．、](?!\d)[^。！？；，]{{2,20}}|[{_CN_NUM}]是[^。！？；]{{2,20}})。(?=.)"
)
MAX_HEADING = 50
_TERMINATORS = "。！？；"
_OPEN = "“‘「『《（【"
_CLOSE = "”’」』》）】"
_TRAILING = _CLOSE + "…"
# A paragraph-final remark in brackets that applies to the whole paragraph.
_NOTE = re.compile(r"[（(]((?:牵头单位|责任单位|主要参与单位|配合单位)[:：][^（）()]*)[）)][。.]?$")
# 一是……，二是……： split an enumeration inside one sentence before each later item.
_ENUM_ITEM = re.compile(rf"(?<=[，；])(?=[{_CN_NUM[1:]}]是)")
_LEADING_JUNK = re.compile(r"^[，、；：\s]+")
MIN_FACT_CHARS = 8
# Longer sentences are split at a comma (see split_long); parts keep MIN_PART chars.
MAX_FACT = 120
MIN_PART = 30
# Quoted speech can run over several sentences; past this length split inside quotes anyway.
MAX_QUOTED = 160


@dataclass(frozen=True)
class Sentence:
    """A fact-sized span of a cleaned line."""

    line: int
    heading_path: tuple[str, ...]
    text: Tracked
    paragraph: str
    note: str | None


def heading_level(text: str) -> int | None:
    """1-3 for numbered headings, 1 for short unpunctuated lines, None for body text."""
    if len(text) > MAX_HEADING or "。" in text or text.endswith(tuple(_TERMINATORS + "：:，…")):
        return None
    for level, pattern in _NUMBERED:
        if pattern.match(text):
            return level
    return 1


def split_sentences(text: Tracked) -> list[Tracked]:
    """Split on 。！？； outside quotes and brackets; closing quotes stay with their sentence."""
    s = text.text
    pieces: list[Tracked] = []
    start = depth = 0
    i = 0
    while i < len(s):
        ch = s[i]
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth = max(depth - 1, 0)
        elif ch in _TERMINATORS and (depth == 0 or i - start > MAX_QUOTED):
            end = i + 1
            while end < len(s) and s[end] in _TRAILING:
                if s[end] in _CLOSE:
                    depth = max(depth - 1, 0)
                end += 1
            if depth == 0 or i - start > MAX_QUOTED:
                pieces.append(text.slice(start, end))
                start, depth = end, 0
            i = end
            continue
        i += 1
    if start < len(s):
        pieces.append(text.slice(start, len(s)))
    return pieces


def split_enumeration(sentence: Tracked) -> list[Tracked]:
    """Split "一是……，二是……，三是……" into one piece per item."""
    s = sentence.text
    if "一是" not in s:
        return [sentence]
    cuts = [m.start() for m in _ENUM_ITEM.finditer(s) if m.start() > s.index("一是")]
    bounds = [0, *cuts, len(s)]
    return [sentence.slice(a, b) for a, b in itertools.pairwise(bounds) if b > a]


def split_long(sentence: Tracked, limit: int = MAX_FACT) -> list[Tracked]:
    """Split a run-on sentence at the top-level comma nearest its middle, recursively.

    Government prose chains several statements with commas; one fact per
    statement keeps facts answerable and BM25 lengths comparable.
    """
    s = sentence.text
    if len(s) <= limit:
        return [sentence]
    depth = 0
    cuts = []
    for i, ch in enumerate(s):
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth = max(depth - 1, 0)
        elif ch == "，" and depth == 0 and MIN_PART <= i + 1 <= len(s) - MIN_PART:
            cuts.append(i + 1)
    if not cuts:
        return [sentence]
    cut = min(cuts, key=lambda c: abs(c - len(s) / 2))
    return [
        *split_long(sentence.slice(0, cut), limit),
        *split_long(sentence.slice(cut, len(s)), limit),
    ]


def tidy(sentence: Tracked) -> Tracked:
    """Trim stray leading marks and end the fact with 。 instead of ，/；."""
    sentence = sentence.sub(_LEADING_JUNK, "").strip()
    return sentence.sub(re.compile(r"[，；、：]$"), "。")


def is_fact_text(text: str) -> bool:
    """Long enough to say something and not a question."""
    cjk = len(re.findall(r"[\u4e00-\u9fff\w]", text))
    return cjk >= MIN_FACT_CHARS and not text.rstrip("”’").endswith("？")


def split_lines(lines: list[Line]) -> list[Sentence]:
    """Walk the document: track headings and emit fact sentences with their heading path."""
    stack: list[tuple[int, str]] = []
    out: list[Sentence] = []
    for line in lines:
        text = line.text
        level = heading_level(text.text)
        if level is not None:
            stack = [(lvl, h) for lvl, h in stack if lvl < level]
            stack.append((level, text.text))
            continue
        path = tuple(h for _, h in stack)
        labelled = _LABELLED.match(text.text)
        if labelled:
            # The label names this paragraph only; it is not a heading for later ones.
            label_level = 3
            path = (*(h for lvl, h in stack if lvl < label_level), labelled.group(1))
            text = text.slice(labelled.end(), len(text.text))
        note = None
        found = _NOTE.search(text.text)
        if found:
            note = found.group(1)
            text = text.slice(0, found.start()).strip()
        for piece in split_sentences(text):
            for item in split_enumeration(piece):
                for part in split_long(item):
                    fact = tidy(part)
                    if is_fact_text(fact.text):
                        out.append(Sentence(line.number, path, fact, text.text, note))
    return out

"""Label facts with region, topics, canonical entities and the numbers they state."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.facts.datafiles import TOPICS_PATH, load_yaml, string_list
from bot.facts.entities import EntityTable, Mention
from bot.facts.errors import DataFileError
from bot.facts.models import TOPICS, Number

# Units in longest-first order so "亿元" wins over "亿" and "元".
_UNITS = (
    "平方米",
    "万平方米",
    "亿元",
    "万元",
    "千元",
    "英寸",
    "分钟",
    "小时",
    "%",
    "％",
    "亿",
    "万",
    "元",
    "家",
    "人",
    "名",
    "个",
    "项",
    "件",
    "场",
    "条",
    "年",
    "月",
    "日",
    "倍",
    "亩",
    "批",
    "类",
    "位",
    "次",
    "天",
    "届",
    "所",
)
_UNIT_ALT = "|".join(sorted((re.escape(u) for u in set(_UNITS)), key=len, reverse=True))
_NUMBER = re.compile(
    rf"(?P<pre>超过|超|近|约|逾|达|共)?"
    rf"(?P<num>\d+(?:\.\d+)?)(?:\s*[-—~～至]\s*(?P<to>\d+(?:\.\d+)?))?"
    rf"(?P<mod>余|多)?(?P<unit>{_UNIT_ALT})(?P<post>以上|左右|余)?"
)
# A number followed by these is a name, not a quantity: 中电科32所, 3+1.
_NOT_QUANTITY = re.compile(r"^(所[^有以]|\+)")
# Counts written in Chinese numerals: 三个千亿级产业, 四条科创融合线, 六大破冰行动,
# 人才新政十六条, 连续两年. "一" is left out (一个/一批/一支 are articles, not counts),
# as are ordinals (第二批) and set phrases (七位一体).
_CN_COUNT = re.compile(
    r"(?<![第\d一二两三四五六七八九十百千万])(?P<num>[二两三四五六七八九十百千]+)"
    r"(?P<unit>个|家|项|件|条|场|批|类|位|名|次|届|大|年|所)(?!一体)"
)
_CN_VALUES = {"二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_SCALES = {"十": 10, "百": 100, "千": 1000}
# Unit families used when a question asks for a kind of number.
UNIT_FAMILY = {
    "亿元": "元",
    "万元": "元",
    "千元": "元",
    "元": "元",
    "亿": "元",
    "万": "元",
    "名": "人",
    "人": "人",
    "％": "%",
    "大": "个",  # 三大先导产业, 六大破冰行动
}


def find_numbers(text: str) -> tuple[Number, ...]:
    """Quantities with units: "83.03%", "5000亿元", "160余人", "2019年", "2-3家"."""
    found: list[Number] = []
    for match in _NUMBER.finditer(text):
        unit = match.group("unit")
        if unit == "所" or _NOT_QUANTITY.match(text[match.end("num") :]):
            continue
        found.append(Number(match.group().strip(), float(match.group("num")), unit_family(unit)))
    for match in _CN_COUNT.finditer(text):
        value = chinese_number(match.group("num"))
        if value:
            found.append(Number(match.group(), float(value), unit_family(match.group("unit"))))
    return tuple(found)


def chinese_number(text: str) -> int | None:
    """二 -> 2, 十六 -> 16, 二十三 -> 23, 千 -> 1000; None for malformed numerals."""
    total, digit = 0, None
    for ch in text:
        if ch in _CN_VALUES:
            if digit is not None:
                return None  # "三四" is a range or a typo, not a number
            digit = _CN_VALUES[ch]
        elif ch in _CN_SCALES:
            total += (1 if digit is None else digit) * _CN_SCALES[ch]
            digit = None
        else:
            return None
    return total + (digit or 0)


def unit_family(unit: str) -> str:
    """Collapse unit spellings: 亿元/万元 -> 元, 名 -> 人, ％ -> %."""
    return UNIT_FAMILY.get(unit, unit)


@dataclass(frozen=True)
class TopicRules:
    """Keyword rules per topic (data/topics.yml)."""

    keywords: dict[str, tuple[str, ...]]

    def topics_for(self, text: str, mentions: Iterable[Mention]) -> tuple[str, ...]:
        """Every topic with a keyword in ``text`` or implied by an entity, in TOPICS order."""
        found = {t for t, words in self.keywords.items() if any(w in text for w in words)}
        for mention in mentions:
            entity = mention.entity
            if entity.kind == "park":
                found.add("park")
            elif entity.kind == "industry":
                found.add("industry")
            elif entity.kind == "programme" and entity.topic:
                found.add(entity.topic)
        return tuple(t for t in TOPICS if t in found)


def load_topic_rules(path: Path = TOPICS_PATH) -> TopicRules:
    """Parse topics.yml (read afresh on every build, like every other data file)."""
    data = load_yaml(path)
    raw = data.get("topics")
    if not isinstance(raw, dict):
        raise DataFileError("expected a 'topics' mapping", path=path)
    unknown = set(raw) - set(TOPICS)
    if unknown:
        raise DataFileError(f"unknown topics {sorted(unknown)}; use {list(TOPICS)}", path=path)
    keywords: dict[str, tuple[str, ...]] = {
        t: tuple(string_list(raw.get(t), path=path, what=t)) for t in TOPICS
    }
    return TopicRules(keywords)


def entity_names(mentions: Iterable[Mention]) -> tuple[str, ...]:
    """Canonical names of non-region entities, de-duplicated in order of appearance."""
    names: dict[str, None] = {}
    for mention in mentions:
        if mention.entity.kind != "region":
            names.setdefault(mention.entity.name, None)
    return tuple(names)


def narrow_region(
    doc_region: str, mention_groups: Sequence[Sequence[Mention]], table: EntityTable
) -> str:
    """The region a sentence is about, starting from the document's region.

    ``mention_groups`` is ordered from the sentence outwards (sentence, then
    paragraph). The first group naming exactly one region strictly inside
    ``doc_region`` (directly or through a park) narrows it; naming several keeps
    the document region. A sentence that names only an enclosing region ("嘉定是
    上海科技城" in a 菊园新区 article) is about that wider region.
    """
    if mention_groups:
        named = {m.entity.name for m in mention_groups[0] if m.entity.kind == "region"}
        parks = [m for m in mention_groups[0] if m.entity.kind == "park"]
        wider = [r for r in named if r != doc_region and table.within(doc_region, r)]
        if wider and len(wider) == len(named) and not parks:
            return min(wider, key=lambda r: -len(table.ancestors(r)))
    for mentions in mention_groups:
        inner = set()
        for mention in mentions:
            region = table.region_of(mention.entity)
            if region and region != doc_region and table.within(region, doc_region):
                inner.add(region)
        if len(inner) == 1:
            return inner.pop()
        if inner:
            return doc_region
    return doc_region

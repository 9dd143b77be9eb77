"""Sentence-level facts and their heading paths."""

from __future__ import annotations

import pytest

from bot.facts import FactStore
from bot.facts.clean import Line
from bot.facts.spans import Tracked
from bot.facts.split import (
    MAX_FACT,
    heading_level,
    split_enumeration,
    split_lines,
    split_long,
    split_sentences,
)


def _texts(pieces: list[Tracked]) -> list[str]:
    return [p.text for p in pieces]


@pytest.mark.parametrize(
    ("line", "level"),
    [
        ("一、主要目标", 1),
        ("（六）科创精英“雁阵行动”", 2),
        ("3.完善科技创新人才激励保障机制", 3),
        ("“四链”融合推动发展提速", 1),
        ("汇聚“五大要素”资源，助力企业快速成长", 1),
        ("作为上海市首批品牌园区，嘉定工业区是主战场。", None),
        ("到2026年，PCT专利申请量达到240件。", None),
        ("各镇人民政府，各有关单位：", None),
    ],
)
def test_heading_levels(line: str, level: int | None) -> None:
    assert heading_level(line) == level


def test_sentences_split_on_full_stops_and_semicolons() -> None:
    text = Tracked.of("嘉康园一期入驻率83.03%；嘉康园二期入驻率91.55%。园区拥有人才160余人！")
    assert _texts(split_sentences(text)) == [
        "嘉康园一期入驻率83.03%；",
        "嘉康园二期入驻率91.55%。",
        "园区拥有人才160余人！",
    ]


def test_quoted_speech_stays_with_its_speaker() -> None:
    text = Tracked.of("“我们从2019年挂牌成立以来，摸索出一套模式。”副总经理张之烦表示。下一句。")
    assert _texts(split_sentences(text)) == [
        "“我们从2019年挂牌成立以来，摸索出一套模式。”副总经理张之烦表示。",
        "下一句。",
    ]


def test_enumeration_items_become_separate_facts() -> None:
    text = Tracked.of("一是布局三个板块，二是建设四个科创园，三是打造四条融合线。")
    assert _texts(split_enumeration(text)) == [
        "一是布局三个板块，",
        "二是建设四个科创园，",
        "三是打造四条融合线。",
    ]


def test_run_on_sentences_split_at_a_top_level_comma() -> None:
    text = Tracked.of("，".join(["加快建设嘉昆太协同创新核心圈促进长三角四链融合"] * 6) + "。")
    parts = split_long(text)
    assert len(parts) > 1
    assert all(len(p.text) <= MAX_FACT for p in parts)
    assert "".join(_texts(parts)) == text.text


def test_paragraph_lead_unit_becomes_a_note_not_a_fact() -> None:
    lines = [
        Line(1, Tracked.of("（一）实施园区管理体制“升级行动”")),
        Line(
            2,
            Tracked.of(
                "统筹推进园区发展规划等工作。（牵头单位：区科委；主要参与单位：各相关街镇）。"
            ),
        ),
    ]
    [sentence] = split_lines(lines)
    assert sentence.text.text == "统筹推进园区发展规划等工作。"
    assert sentence.note == "牵头单位：区科委；主要参与单位：各相关街镇"
    assert sentence.heading_path == ("（一）实施园区管理体制“升级行动”",)


def test_labelled_paragraph_puts_its_label_in_the_heading_path() -> None:
    lines = [
        Line(1, Tracked.of("一、主要目标")),
        Line(2, Tracked.of("1.创新创业产业集聚地。到2026年，总产值达到2100亿元。")),
    ]
    [sentence] = split_lines(lines)
    assert sentence.heading_path == ("一、主要目标", "1.创新创业产业集聚地")
    assert sentence.text.text == "到2026年，总产值达到2100亿元。"


def test_questions_and_fragments_are_not_facts() -> None:
    lines = [Line(1, Tracked.of("优势是什么？短板在哪里？让我对深化建设的思路逐渐清晰起来。"))]
    assert [s.text.text for s in split_lines(lines)] == ["让我对深化建设的思路逐渐清晰起来。"]


def test_heading_path_of_a_government_task(store: FactStore) -> None:
    fact = next(f for f in store.facts if "嘉定精英人才服务卡" in f.text)
    assert (
        fact.heading == "二、重点任务 > （六）科创精英“雁阵行动” > 3.完善科技创新人才激励保障机制"
    )
    assert fact.note is not None
    assert "区人才工作局" in fact.note


def test_news_headings_set_the_path(store: FactStore) -> None:
    fact = next(f for f in store.facts if "入驻率83.03%" in f.text)
    assert fact.heading_path == ("汇聚“五大要素”资源，助力企业快速成长",)


def test_facts_are_sentences_not_paragraphs_or_headings(store: FactStore) -> None:
    headings = {h for f in store.facts for h in f.heading_path}
    for fact in store.facts:
        assert fact.text not in headings
        assert fact.text.endswith(("。", "！", "”", "…", "）")), fact.text
        assert len(fact.text) < 200, fact.id
        assert fact.text.count("。") <= 2, fact.id

"""The nanhu-microelectronics-2023 repairs, each rule on its own and the whole document."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from bot.facts import DataFileError, FactStore
from bot.facts.catalog import read_text
from bot.facts.repair import (
    RepairTable,
    apply_table,
    load_repair_table,
    load_repair_tables,
    repair_text,
    strip_pinyin,
)
from bot.facts.script import detect_script, to_simplified
from bot.facts.spans import Tracked

from .conftest import SEEDS

DOC_ID = "nanhu-microelectronics-2023"
RAW = read_text(SEEDS / f"{DOC_ID}.txt")
# Words the synonym spinner introduced; none may survive the repair.
SPUN = [
    "立异",
    "工业",
    "效果",
    "渠道",
    "事例",
    "优异",
    "抢先",
    "要害",
    "树立",
    "范畴",
    "交融",
    "密布",
]
SPUN += ["常识", "根底", "环绕", "其间", "经过", "查核", "榜首", "当选", "本年", "开动", "方针函数"]


@pytest.fixture(scope="module")
def table() -> RepairTable:
    return load_repair_tables()[DOC_ID]


@pytest.fixture(scope="module")
def repaired(table: RepairTable) -> str:
    lines = [
        repair_text(Tracked.of(line), traditional=True, table=table) for line in RAW.split("\n")
    ]
    return "\n".join(line.text for line in lines)


def _fix(text: str, table: RepairTable) -> str:
    return apply_table(Tracked.of(text), table.synonyms).text


def test_pinyin_annotations_are_stripped() -> None:
    assert strip_pinyin(Tracked.of("數(shù)字經(jīng)濟(jì)")).text == "數字經濟"


def test_bracketed_latin_and_chinese_are_not_pinyin() -> None:
    text = "長三角(嘉興)人力資源產業園、8英寸(MEMS)、區(qu)"
    assert strip_pinyin(Tracked.of(text)).text == text


def test_traditional_is_converted_to_simplified() -> None:
    out = repair_text(Tracked.of("數(shù)字經(jīng)濟"), traditional=True)
    assert out.text == "数字经济"


def test_mojibake_run_is_mended(table: RepairTable) -> None:
    out = repair_text(Tracked.of("人才鏈?zhǔn)菦Q議工業(yè)鏈"), traditional=True, table=table)
    assert out.text == "人才链是决定产业链"


def test_required_sentences_are_restored(repaired: str) -> None:
    assert "创新链、资金链和人才链是决定产业链成长性的" in repaired
    assert "南湖区设立了总规模20亿元的微电子产业政府引导基金" in repaired


def test_every_repair_entry_fires_on_the_document(table: RepairTable) -> None:
    fired: Counter[str] = Counter()
    for line in RAW.split("\n"):
        repair_text(Tracked.of(line), traditional=True, table=table, fired=fired)
    dead = [entry.key for entry in table.entries if not fired[entry.key]]
    assert dead == []


def test_every_repair_entry_carries_a_note(table: RepairTable) -> None:
    assert all(len(entry.note) > 3 for entry in table.entries)


def test_spun_words_do_not_survive(repaired: str) -> None:
    assert [w for w in SPUN if w in repaired] == []


def test_no_pinyin_or_traditional_left(repaired: str) -> None:
    assert not re.search(r"\([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ]+\)", repaired)
    assert to_simplified(repaired) == repaired


def test_industry_becomes_hangye_only_before_common_technology(table: RepairTable) -> None:
    assert _fix("职业共性技术", table) == "行业共性技术"
    assert _fix("职业技能", table) == "职业技能"


def test_kaizhan_stays_for_holding_an_event(table: RepairTable) -> None:
    assert _fix("持续开展“星耀南湖”对接会", table) == "持续开展“星耀南湖”对接会"
    assert _fix("产业开展痛点", table) == "产业发展痛点"


def test_context_restricted_entries_leave_other_uses_alone(table: RepairTable) -> None:
    assert _fix("亟需使用人才", table) == "亟需使用人才"
    assert _fix("边出效果边使用", table) == "边出成果边应用"
    assert _fix("具有资本密集的特色", table) == "具有资本密集的特点"
    assert _fix("总部具有近600名科研人员", table) == "总部拥有近600名科研人员"
    assert _fix("培育孵化企业", table) == "培育孵化企业"
    assert _fix("订单培育", table) == "订单培养"


def test_facts_read_as_simplified_and_keep_their_original(store: FactStore) -> None:
    facts = [f for f in store.facts if f.doc_id == DOC_ID]
    assert len(facts) > 20
    for fact in facts:
        assert detect_script(fact.text) == "hans", fact.text
        assert fact.original in RAW, fact.id
    fund = next(f for f in facts if "政府引导基金" in f.text)
    assert "20億元" in fund.original
    assert "工業" in fund.original


def test_table_entry_without_note_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "demo.yml"
    path.write_text("document: demo\nsynonyms:\n- from: 立异\n  to: 创新\n", encoding="utf-8")
    with pytest.raises(DataFileError, match="note"):
        load_repair_table(path)


def test_table_must_be_named_after_its_document(tmp_path: Path) -> None:
    path = tmp_path / "other.yml"
    path.write_text("document: demo\n", encoding="utf-8")
    with pytest.raises(DataFileError, match="file name"):
        load_repair_table(path)


def test_table_with_malformed_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "demo.yml"
    path.write_text("document: demo\nsynonyms: [\n  - from: x\n", encoding="utf-8")
    with pytest.raises(DataFileError) as info:
        load_repair_table(path)
    assert info.value.path == path
    assert info.value.line is not None

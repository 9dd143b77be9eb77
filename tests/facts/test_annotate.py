"""Regions, topics, canonical entities, numbers; and the jieba domain dictionary."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.facts import DataFileError, Fact, FactStore
from bot.facts.annotate import find_numbers, load_topic_rules, narrow_region
from bot.facts.datafiles import DOMAIN_DICT_PATH
from bot.facts.entities import load_entities, raw_surface_forms

INSTITUTIONS = ["中科院微系统所", "浙江清华长三角研究院", "南湖实验室", "微技术工研院", "光机所"]


def _fact(store: FactStore, needle: str) -> Fact:
    return next(f for f in store.facts if needle in f.text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("入驻率83.03%", [("83.03%", 83.03, "%")]),
        ("总营收已超过5000亿元", [("超过5000亿元", 5000.0, "元")]),
        ("嘉定共有19家特色产业园区", [("19家", 19.0, "家")]),
        ("尖端人才160余人", [("160余人", 160.0, "人")]),
        ("总产值达到2100亿元", [("2100亿元", 2100.0, "元")]),
        ("近600名科研人员", [("近600名", 600.0, "人")]),
        ("建设2-3家高质量孵化器", [("2-3家", 2.0, "家")]),
        ("从2019年挂牌成立以来", [("2019年", 2019.0, "年")]),
    ],
)
def test_numbers_keep_their_units(text: str, expected: list[tuple[str, float, str]]) -> None:
    assert [(n.text, n.value, n.unit) for n in find_numbers(text)] == expected


@pytest.mark.parametrize("text", ["与中电科32所合作建设", "“3+1”新动能体系", "8是个数字"])
def test_names_and_bare_digits_are_not_quantities(text: str) -> None:
    assert find_numbers(text) == ()


def test_fact_numbers_are_extracted(store: FactStore) -> None:
    fact = _fact(store, "入驻率83.03%")
    assert [n.text for n in fact.numbers] == ["45个", "83.03%"]


def test_region_narrows_to_the_park_region(store: FactStore) -> None:
    assert _fact(store, "入驻率83.03%").region == "嘉定工业区"
    assert _fact(store, "加快建设上海智能传感器产业园").region == "嘉定工业区"


def test_region_defaults_to_the_catalogue_region(store: FactStore) -> None:
    assert _fact(store, "两院院士15名").region == "菊园新区"
    assert _fact(store, "授信总额61.18亿元").region == "南湖区"
    assert _fact(store, "PCT专利申请量达到240件").region == "嘉定区"


def test_sentence_about_the_parent_region_widens_it(store: FactStore) -> None:
    assert _fact(store, "嘉定是上海科技城").region == "嘉定区"


def test_narrow_region_keeps_document_region_when_several_are_named() -> None:
    table = load_entities()
    mentions = table.find("嘉定工业区和菊园新区都在发展")
    assert narrow_region("嘉定区", [mentions], table) == "嘉定区"
    assert narrow_region("嘉定区", [table.find("嘉康园一期")], table) == "嘉定工业区"


def test_topics_are_multi_label(store: FactStore) -> None:
    assert "funding" in _fact(store, "授信总额61.18亿元").topics
    assert "talent" in _fact(store, "两院院士15名").topics
    assert "permit" in _fact(store, "居住证积分").topics
    assert "park" in _fact(store, "入驻率83.03%").topics
    assert {"talent", "industry"} <= set(_fact(store, "增强人才链和产业链的匹配度").topics)


def test_entities_map_to_canonical_names(store: FactStore) -> None:
    assert "科融保" in _fact(store, "授信总额61.18亿元").entities
    assert "人才新政十六条" in _fact(store, "人才新政十六条").entities
    assert "嘉定精英人才服务卡" in _fact(store, "推行嘉定精英人才服务卡项目").entities
    assert "嘉康园" in _fact(store, "入驻率83.03%").entities
    assert "集成电路" in _fact(store, "车规级芯片").entities


def test_company_moving_in_is_not_hukou_registration(store: FactStore) -> None:
    fact = _fact(store, "已吸引2000余家科技企业落户菊园")
    assert "人才引进落户" not in fact.entities
    assert "人才引进落户" in _fact(store, "承接人才引进落户").entities


def test_unknown_topic_in_rules_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "topics.yml"
    path.write_text("topics:\n  housing: [公寓]\n", encoding="utf-8")
    with pytest.raises(DataFileError, match="unknown topics"):
        load_topic_rules(path)


def _domain_words() -> list[str]:
    lines = DOMAIN_DICT_PATH.read_text(encoding="utf-8").splitlines()
    return [line.rsplit(" ", 2)[0] for line in lines]


def test_domain_dictionary_has_every_entity_name_and_synonym() -> None:
    words = set(_domain_words())
    missing = [form for form in raw_surface_forms() if form not in words]
    assert missing == []


def test_domain_dictionary_has_institution_terms() -> None:
    words = set(_domain_words())
    assert [w for w in INSTITUTIONS if w not in words] == []


def test_domain_dictionary_is_one_file_in_userdict_format() -> None:
    assert [p.name for p in DOMAIN_DICT_PATH.parent.iterdir()] == ["domain.txt"]
    for line in DOMAIN_DICT_PATH.read_text(encoding="utf-8").splitlines():
        assert re.fullmatch(r"\S+ \d+ [a-z]+", line), line
    words = _domain_words()
    assert len(words) == len(set(words))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("一是布局三个产业空间板块", [("三个", 3.0, "个")]),
        ("发布人才新政十六条", [("十六条", 16.0, "条")]),
        ("连续两年考核居全省第一梯队", [("两年", 2.0, "年")]),
        ("深入实施六大破冰行动", [("六大", 6.0, "个")]),
        ("打造二十三家孵化器", [("二十三家", 23.0, "家")]),
    ],
)
def test_chinese_numeral_counts_are_numbers(
    text: str, expected: list[tuple[str, float, str]]
) -> None:
    assert [(n.text, n.value, n.unit) for n in find_numbers(text)] == expected


@pytest.mark.parametrize(
    "text", ["一院一园模式", "入列省第二批名单", "七位一体的创新生态", "嘉康园二期", "三四家企业"]
)
def test_articles_ordinals_and_set_phrases_are_not_counts(text: str) -> None:
    assert find_numbers(text) == ()

"""Composing cited answers from hits."""

from __future__ import annotations

import dataclasses

import yaml

from bot.facts import Answer, Fact, FactStore, Hit, compose_answer
from bot.facts.answer import MAX_SNIPPET, citation, is_duplicate, snippet
from bot.facts.models import Script
from bot.facts.script import detect_script, to_simplified

from .conftest import ROOT
from .test_clean import FURNITURE_MARKERS

GOV_CITATION = (
    "来源：《上海市嘉定区人民政府关于印发〈张江高新区嘉定园改革创新发展行动方案（2024-2026年）〉"
    "的通知》（上海市嘉定区人民政府，2024年11月8日，嘉府发〔2024〕13号）"
)


def test_no_hits_gives_an_empty_falsy_answer() -> None:
    answer = compose_answer([])
    assert answer == Answer("", [])
    assert not answer


def test_answer_states_the_fact_and_cites_its_document(store: FactStore) -> None:
    answer = compose_answer(store.search("嘉康园一期入驻率"))
    body, *citations = answer.text.split("\n")
    assert "83.03%" in body
    assert body.endswith("。")
    assert citations == [
        "来源：《“嘉码营商 优无止境”：上海智能传感器产业园“平台+基地+联盟”保姆式服务》"
        "（嘉定区融媒体中心，2024年）"
    ]
    assert answer.sources == ["jiading-sensor-park-2024"]


def test_citation_includes_document_number_and_nests_titles(store: FactStore) -> None:
    fact = next(f for f in store.facts if f.doc_id == "jiading-zhangjiang-plan-2024")
    assert citation(fact) == GOV_CITATION


def test_traditional_script_renders_the_whole_answer_in_traditional(store: FactStore) -> None:
    answer = compose_answer(store.search("嘉康園二期的入駐率是多少？"), script="hant")
    assert detect_script(answer.text) == "hant"
    assert "嘉康園二期" in answer.text
    assert "91.55%" in answer.text
    assert "來源：" in answer.text
    assert answer.sources == ["jiading-sensor-park-2024"]


def test_duplicate_hits_are_stated_once(store: FactStore) -> None:
    [hit] = store.search("科融保授信总额", k=1)
    twin = dataclasses.replace(hit, score=hit.score * 0.99)
    answer = compose_answer([hit, twin])
    assert answer.text.count("61.18亿元") == 1
    assert len(answer.fact_ids) == 1


def test_near_duplicates_are_detected() -> None:
    assert is_duplicate("嘉定共有19家特色产业园区。", "目前，嘉定共有19家特色产业园区。")
    assert not is_duplicate("嘉定共有19家特色产业园区。", "南湖区设立了引导基金。")


def test_at_most_three_facts_from_close_hits(store: FactStore) -> None:
    hits = store.search("嘉定 人才 补贴 资助 政策", k=10)
    close = [dataclasses.replace(h, score=1.0) for h in hits]
    answer = compose_answer(close)
    assert 1 <= len(answer.fact_ids) <= 3


def test_long_fact_is_trimmed_around_the_matching_clause(store: FactStore) -> None:
    fact = max(store.facts, key=lambda f: len(f.text))
    assert len(fact.text) > MAX_SNIPPET
    target = next(c for c in fact.text.split("，")[2:] if len(c) > 6)
    text = snippet(Hit(fact, 1.0, 1.0, (target,)))
    assert target in text
    assert len(text) < len(fact.text)
    assert text.endswith("。")
    assert text.count("“") == text.count("”")


def test_lead_unit_is_added_when_the_question_asks_for_it(store: FactStore) -> None:
    [best, *_] = store.search("张江嘉定园的人才专窗是哪个部门牵头")
    answer = compose_answer([best])
    assert "牵头单位：区人才工作局" in answer.text


def test_answers_to_benchmark_questions_contain_no_furniture(store: FactStore) -> None:
    items = yaml.safe_load((ROOT / "tests/data/retrieval.yml").read_text(encoding="utf-8"))["items"]
    scripts: tuple[Script, ...] = ("hans", "hant")
    for item in items:
        for script in scripts:
            text = compose_answer(store.search(item["question"]), script=script).text
            body = to_simplified(text.split("\n")[0])
            assert not [m for m in FURNITURE_MARKERS if m in body], item["id"]


def _fact_with(store: FactStore, needle: str) -> Fact:
    return next(f for f in store.facts if needle in f.text)


def test_trimming_keeps_every_clause_from_the_first_to_the_last_match(store: FactStore) -> None:
    fact = _fact_with(store, "最佳实践案例")  # 科融保 early, 做法 …最佳实践案例 at the end
    assert len(fact.text) > MAX_SNIPPET
    text = snippet(Hit(fact, 1.0, 1.0, ("科融保", "做法")))
    assert "科融保" in text
    assert "最佳实践案例" in text
    assert text.endswith("。")


def test_trimming_keeps_the_number_the_question_asks_for(store: FactStore) -> None:
    fact = _fact_with(store, "孵化器7家")
    text = snippet(Hit(fact, 1.0, 1.0, ("一院一园",), ("7家",)))
    assert "一院一园" in text
    assert "7家" in text


def test_a_lead_in_clause_keeps_what_it_leads_to(store: FactStore) -> None:
    fact = _fact_with(store, "惠企政策获得感")  # 聚焦“六大破冰行动”，从提升惠企政策获得感…
    text = snippet(Hit(fact, 1.0, 1.0, ("六大破冰行动",)))
    assert "六大破冰行动" in text
    assert "惠企政策获得感" in text


def test_trimming_that_would_keep_most_of_a_sentence_keeps_all_of_it(store: FactStore) -> None:
    fact = _fact_with(store, "347.7亿元")
    assert len(fact.text) > MAX_SNIPPET
    assert snippet(Hit(fact, 1.0, 1.0, ("微电子",))) == fact.text


def test_answers_keep_what_the_question_asks_for(store: FactStore) -> None:
    for question, needle in [
        ("科融保的做法拿过什么荣誉", "最佳实践案例"),
        ("南湖一院一园模式建了几个孵化器", "7家"),
        ("菊中板块定位是啥", "院地合作成果转化"),
    ]:
        assert needle in compose_answer(store.search(question)).text, question

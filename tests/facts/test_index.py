"""Searching the store: honesty, script handling, expansions and boosts; the benchmark data."""

from __future__ import annotations

import pytest
import yaml

from bot.facts import FactNotFoundError, FactStore, QueryError
from bot.facts.models import TOPICS
from bot.facts.scoring import NUMBER_BOOST, REGION_BOOST, TOPIC_BOOST, UNIT_BOOST

from .conftest import ROOT

UNRELATED = [
    "上海的个税优惠有哪些",
    "南湖区的人才公寓怎么申请",
    "嘉定注册公司要多少注册资本",
    "苏州工业园区有什么招商政策",
    "明天嘉定会不会下雨",
    "Python怎么读取文件",
    "？？？",
    "",
]


def _scores(
    store: FactStore, text: str, *, topic: str | None = None, region: str | None = None
) -> dict[str, float]:
    return {h.fact.id: h.score for h in store.search(text, topic=topic, region=region, k=50)}


@pytest.mark.parametrize("question", UNRELATED)
def test_unrelated_questions_get_no_answer(store: FactStore, question: str) -> None:
    assert store.search(question) == []


def test_answerable_question_finds_the_fact(store: FactStore) -> None:
    [best, *_] = store.search("嘉康园一期入驻率")
    assert best.fact.doc_id == "jiading-sensor-park-2024"
    assert "83.03%" in best.fact.text
    assert 0 < best.confidence <= 1
    assert "嘉康园一期" in best.matched


def test_traditional_query_finds_the_same_fact(store: FactStore) -> None:
    [best, *_] = store.search("嘉康園二期的入駐率是多少？")
    assert "91.55%" in best.fact.text


def test_synonyms_expand_the_query(store: FactStore) -> None:
    for question in ("南湖区科技企业授信情况", "南湖区科技企业贷款情况"):
        assert any("授信" in h.fact.text for h in store.search(question)), question


def test_entity_synonyms_map_to_the_canonical_entity(store: FactStore) -> None:
    [best, *_] = store.search("传感器园区有多少尖端人才")
    assert "160余人" in best.fact.text


def test_one_mistyped_character_in_a_name_is_tolerated(store: FactStore) -> None:
    [best, *_] = store.search("嘉康圆一期入驻率")
    assert "83.03%" in best.fact.text


def test_question_about_another_city_gets_no_answer(store: FactStore) -> None:
    assert store.search("杭州的人才补贴怎么领") == []
    assert store.search("嘉定的人才补贴怎么领")


def test_topic_boost_multiplies_matching_facts(store: FactStore) -> None:
    question = "南湖区人才和资金"
    plain = _scores(store, question)
    boosted = _scores(store, question, topic="talent")
    assert plain.keys() == boosted.keys()
    for fact_id, score in plain.items():
        factor = TOPIC_BOOST if "talent" in store.get(fact_id).topics else 1.0
        assert boosted[fact_id] == pytest.approx(score * factor, rel=1e-4)


def test_region_boost_covers_child_regions_and_other_areas_are_filtered(
    store: FactStore,
) -> None:
    question = "科研人员和院士"
    plain = _scores(store, question)
    boosted = _scores(store, question, region="嘉定")
    regions = {store.get(fact_id).region for fact_id in plain}
    assert {"菊园新区", "南湖区"} <= regions
    for fact_id, score in plain.items():
        if store.get(fact_id).region == "南湖区":
            assert fact_id not in boosted  # another top-level area: filtered, not demoted
        else:
            assert boosted[fact_id] == pytest.approx(score * REGION_BOOST, rel=1e-4)


def test_region_changes_which_fact_wins(store: FactStore) -> None:
    question = "科研人员有多少"
    assert store.search(question, region="南湖区")[0].fact.region == "南湖区"
    assert store.search(question, region="菊园新区")[0].fact.region == "菊园新区"
    assert store.search(question, region="南湖區")[0].fact.region == "南湖区"


def test_number_questions_boost_facts_with_numbers(store: FactStore) -> None:
    # "多少家" adds no search terms, only the number cue, so BM25 is unchanged; facts
    # without a count (家 or 个) cannot answer it and are left out.
    plain = _scores(store, "南湖区微电子企业")
    numeric = _scores(store, "南湖区微电子企业有多少家")
    counted = {
        fact_id
        for fact_id in plain
        if any(n.unit in ("家", "个") for n in store.get(fact_id).numbers)
    }
    assert counted
    assert numeric.keys() == counted
    for fact_id, score in numeric.items():
        fact = store.get(fact_id)
        factor = NUMBER_BOOST * (UNIT_BOOST if any(n.unit == "家" for n in fact.numbers) else 1)
        assert score / plain[fact_id] == pytest.approx(factor, rel=1e-4), fact_id
    [best, *_] = store.search("南湖区微电子企业有多少家")
    assert "265家" in best.fact.text


def test_unknown_region_means_not_in_sources(store: FactStore) -> None:
    assert store.search("人才政策", region="苏州") == []


def test_bad_arguments_raise_query_error(store: FactStore) -> None:
    with pytest.raises(QueryError):
        store.search("人才", k=0)
    with pytest.raises(QueryError):
        store.search("人才", topic="housing")


def test_get_and_documents(store: FactStore) -> None:
    fact = store.facts[0]
    assert store.get(fact.id) == fact
    with pytest.raises(FactNotFoundError):
        store.get("nope#001")
    docs = {d.id: d for d in store.documents}
    assert docs["jiading-zhangjiang-plan-2024"].doc_number == "嘉府发〔2024〕13号"
    assert docs["nanhu-microelectronics-2023"].region == "南湖区"


def test_stats_count_facts_per_document_topic_and_region(store: FactStore) -> None:
    stats = store.stats()
    assert stats.documents == 5
    assert sum(stats.per_document.values()) == stats.facts == len(store.facts)
    assert set(stats.per_topic) == set(TOPICS)
    assert sum(stats.per_region.values()) == stats.facts
    assert stats.load_seconds < 5


def test_benchmark_data_is_consistent(store: FactStore) -> None:
    items = yaml.safe_load((ROOT / "tests/data/retrieval.yml").read_text(encoding="utf-8"))["items"]
    assert len(items) >= 160
    assert len({i["id"] for i in items}) == len(items)
    assert sum(1 for i in items if i["expected_doc"] is None) >= 30
    assert {i["expected_doc"] for i in items} - {None} == {d.id for d in store.documents}
    assert {i["topic"] for i in items} == {*TOPICS, "none"}
    for item in items:
        if item["expected_doc"] is None:
            continue
        assert any(
            f.doc_id == item["expected_doc"]
            and any(p in f.text or p in (f.note or "") for p in item["expect_contains"])
            for f in store.facts
        ), item["id"]

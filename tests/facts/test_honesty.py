"""Questions the sources cannot answer: other places, other areas, amounts, contact details."""

from __future__ import annotations

import pytest

from bot.facts import FactStore, compose_answer
from bot.facts.datafiles import QUERY_PATH, load_yaml
from bot.facts.query import rules_from_data

RULES = rules_from_data(load_yaml(QUERY_PATH), QUERY_PATH)


# -- other places ---------------------------------------------------------------


@pytest.mark.parametrize(
    "question",
    [
        "闵行区人才引进有什么政策",
        "宝山区有哪些人才补贴",
        "浙江省的高新技术企业认定奖励是多少",
        "嘉兴秀洲区有什么人才补贴",  # 嘉兴 only locates 秀洲区
        "嘉兴市秀洲区的人才政策",
        "上海闵行的产业园区",
        "江苏的集成电路企业多吗",
        "平湖市的科技贷怎么申请",  # a programme of ours, asked about another place
        "浦东新区有什么孵化器",
        "杭州的人才补贴怎么领",
    ],
)
def test_questions_about_another_place_get_no_answer(store: FactStore, question: str) -> None:
    assert store.search(question) == []


def test_a_region_argument_does_not_turn_another_district_into_ours(store: FactStore) -> None:
    assert store.search("闵行区人才引进有什么政策", region="嘉定区") == []


@pytest.mark.parametrize(
    ("question", "doc", "needle"),
    [
        # Names our region as well as the province the sources mention.
        ("南湖区在浙江省数字经济案例评选中入选了什么", "nanhu-microelectronics-2023", "南湖区"),
        # 浙江 inside an institution's name is not a place.
        ("浙江清华长三角研究院有多少科研人员", "nanhu-microelectronics-2023", "近600名"),
        # An enclosing city or province before our region only locates it.
        ("上海市嘉定区有多少家特色产业园区", "jiading-featured-parks-2023", "19家"),
        ("嘉兴市南湖区科融保授信了多少家企业", "nanhu-microelectronics-2023", "498家"),
        ("浙江嘉兴南湖基金小镇今年协助多少个项目融资", "nanhu-microelectronics-2023", "41个"),
        # A zone that a Jiading document names is not "elsewhere".
        ("北虹桥电子商务及生产性服务区", "jiading-zhangjiang-plan-2024", "北虹桥"),
    ],
)
def test_places_that_are_ours_or_locate_ours_are_answered(
    store: FactStore, question: str, doc: str, needle: str
) -> None:
    [best, *_] = store.search(question)
    assert best.fact.doc_id == doc
    assert needle in best.fact.text


def test_place_kinds() -> None:
    assert RULES.place_kind("闵行区") == "area"
    assert RULES.place_kind("浙江省") == "area"
    assert RULES.place_kind("秀洲") == "area"
    assert RULES.place_kind("临港") == "place"
    assert RULES.place_kind("苏州工业园区") is not None
    assert RULES.place_kind("园区") is None
    assert RULES.place_kind("嘉定") is None


def test_analyser_tells_our_regions_from_places_they_merely_locate(store: FactStore) -> None:
    analyse = store._analyser.analyse
    xiuzhou = analyse("嘉兴秀洲区有什么人才补贴")
    assert xiuzhou.other_areas == ("秀洲区",)
    assert xiuzhou.own_regions == ()
    shanghai = analyse("上海市嘉定区有多少家特色产业园区")
    assert shanghai.other_areas == ()
    assert shanghai.own_regions == ("嘉定区",)
    both = analyse("南湖区在浙江省数字经济案例评选中入选了什么")
    assert both.other_areas == ("浙江省",)
    assert both.own_regions == ("南湖区",)


# -- regions --------------------------------------------------------------------


def test_region_argument_filters_other_top_level_areas(store: FactStore) -> None:
    jiading = {"嘉定区", "嘉定工业区", "菊园新区"}
    for region, area in (("南湖区", {"南湖区"}), ("菊园新区", jiading)):
        hits = store.search("有哪些人才政策和人才服务", region=region, k=20)
        assert hits
        assert {h.fact.region for h in hits} <= area, region


def test_a_follow_up_about_the_other_area_never_cites_the_first(store: FactStore) -> None:
    # "那南湖区呢？" after a Jiading question: the bot searches with region=南湖区.
    hits = store.search("南湖区 有哪些人才政策", topic="talent", region="南湖区")
    assert hits
    assert {h.fact.doc_id for h in hits} == {"nanhu-microelectronics-2023"}
    assert compose_answer(hits).sources == ["nanhu-microelectronics-2023"]


def test_region_named_in_the_question_filters_too(store: FactStore) -> None:
    hits = store.search("南湖区独角兽企业", k=10)  # only a Jiading fact names 独角兽
    assert all(h.fact.region == "南湖区" for h in hits)


def test_nothing_left_after_the_region_filter_means_not_in_sources(store: FactStore) -> None:
    assert store.search("人才购房货币化补贴", region="嘉定区")
    assert store.search("人才购房货币化补贴", region="南湖区") == []


def test_narrower_region_is_still_boosted_within_jiading(store: FactStore) -> None:
    [best, *_] = store.search("科研人员有多少", region="菊园新区")
    assert best.fact.region == "菊园新区"


# -- amounts --------------------------------------------------------------------


@pytest.mark.parametrize(
    "question",
    [
        "嘉定的人才购房补贴具体能拿多少钱",
        "嘉定人才租房补贴每个月能领多少",
        "科融保贷款利率是多少",
        "嘉定落户积分硕士能加几分",
        "嘉康园二期还有多少平方米空着",
        "外国人来华工作许可办下来要几天",
    ],
)
def test_amount_questions_without_an_amount_in_the_sources_get_no_answer(
    store: FactStore, question: str
) -> None:
    assert store.search(question) == []


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("科融保授信总额有多少钱", "61.18亿元"),
        ("南湖一院一园建了几个孵化器", "7家"),  # 几个 is a count; 7家 is one
        ("菊园有几个院地科创园", "四个"),  # Chinese numerals are counts too
        ("嘉定工业区集成电路产出占全区比重多少", "32.9%"),
        ("智能传感器产业园成立几年了", "2019年"),  # a founding year answers "how long"
        ("嘉定人才港要引进多少人力资源服务机构", "超30家"),  # not "多少人"
    ],
)
def test_amount_questions_are_answered_by_a_number_in_a_fitting_unit(
    store: FactStore, question: str, answer: str
) -> None:
    [best, *_] = store.search(question)
    assert answer in best.answers
    assert answer in compose_answer([best]).text


def test_quantity_cues_name_the_units_that_can_answer() -> None:
    units = RULES.quantity.units
    assert units("科融保授信金额多少钱") == ("元",)
    assert units("利率是多少") == ("%",)
    assert "家" in (units("有几个孵化器") or ())
    assert units("科融保授信了多少家企业") == ("个", "家")
    assert units("嘉定有哪些人才政策") is None
    assert units("三港两园是哪几个园区") is None  # 哪几 asks which, not how many
    assert units("汽车芯谷是什么时候布局的") is None  # a date, not an amount
    assert units("科研人员有多少") == ()


# -- contact details and requirements -----------------------------------------


@pytest.mark.parametrize(
    "question",
    ["上海汽车芯谷的招商电话", "嘉定工业区管委会地址在哪", "南湖基金小镇的联系电话是多少"],
)
def test_contact_details_are_never_in_the_sources(store: FactStore, question: str) -> None:
    assert store.search(question) == []


def test_no_fact_contains_a_contact_detail_word(store: FactStore) -> None:
    # What makes the rule above honest: cleaning removes every contact line.
    for fact in store.facts:
        assert not [w for w in RULES.unavailable if w in fact.text], fact.id


def test_requirement_questions_need_the_required_thing(store: FactStore) -> None:
    analyse = store._analyser.analyse
    assert analyse("科融保贷款需要抵押吗").required == ("抵押",)
    assert analyse("申请科技保需要提供担保吗").required == ("担保",)
    assert store.search("科融保贷款需要抵押吗") == []
    assert store.search("科融保贷款")  # the programme itself is in the sources


# -- unseen domain terms --------------------------------------------------------


@pytest.mark.parametrize("question", ["嘉兴南湖有没有人才公寓", "嘉定哪里有国际学校"])
def test_an_unseen_domain_term_is_not_half_covered_by_its_parts(
    store: FactStore, question: str
) -> None:
    # 人才公寓 shares 人才 with many facts and 国际学校 shares 国际 with 上海国际汽车城.
    assert store.search(question) == []

"""Which region, park and topic a question is about, given earlier turns."""

from __future__ import annotations

from actions.context import is_elliptical, resolve

EARLIER = {
    "topic": "talent",
    "region": "嘉定区",
    "park": None,
    "industry": None,
    "question": "有哪些人才政策",
}


def test_bare_region_follow_up_is_elliptical() -> None:
    assert is_elliptical("那南湖区呢？", ["南湖区"])
    assert is_elliptical("南湖的呢", ["南湖"])


def test_a_new_question_naming_a_region_is_not_elliptical() -> None:
    assert not is_elliptical("南湖区有什么融资政策", ["南湖区"])
    assert not is_elliptical("那呢", [])


def test_elliptical_follow_up_reuses_topic_and_question_with_the_new_region() -> None:
    ctx = resolve("那南湖区呢？", "ask_park", {"region": "南湖区"}, ["南湖区"], EARLIER)
    assert ctx.topic == "talent"
    assert ctx.region == "南湖区"
    assert ctx.query == "南湖区 有哪些人才政策"


def test_pronoun_inherits_the_park_and_names_it_in_the_query() -> None:
    earlier = {**EARLIER, "topic": "park", "park": "上海智能传感器产业园"}
    ctx = resolve("它一期的入驻率是多少", "ask_park", {}, [], earlier)
    assert ctx.park == "上海智能传感器产业园"
    assert ctx.query.startswith("上海智能传感器产业园")
    assert ctx.topic == "park"


def test_unrelated_question_starts_fresh() -> None:
    ctx = resolve("微电子产业基金有多大", "ask_funding", {}, [], EARLIER)
    assert ctx.region is None
    assert ctx.topic == "funding"
    assert ctx.query == "微电子产业基金有多大"


def test_entities_in_the_message_win_over_slots() -> None:
    ctx = resolve(
        "它在嘉定工业区吗",
        "ask_park",
        {"region": "嘉定工业区"},
        ["嘉定工业区"],
        {**EARLIER, "park": "嘉康园"},
    )
    assert ctx.region == "嘉定工业区"
    assert ctx.park == "嘉康园"


def test_short_follow_up_about_another_aspect_keeps_the_subject() -> None:
    earlier = {**EARLIER, "topic": "funding", "question": "有没有创业投资引导基金"}
    ctx = resolve("那规模呢？", "ask_park", {}, [], earlier)
    assert ctx.topic == "funding"
    assert ctx.region == "嘉定区"
    assert ctx.query == "嘉定区 有没有创业投资引导基金 规模"


def test_a_full_new_question_starting_with_na_is_not_an_aspect_follow_up() -> None:
    ctx = resolve("那嘉定工业区的生物医药产业占比是多少", "ask_industry", {}, [], EARLIER)
    assert ctx.topic == "industry"
    assert ctx.region is None


def test_bare_aspect_ending_in_ne_is_a_follow_up() -> None:
    earlier = {**EARLIER, "topic": "park", "park": "嘉康园", "question": "二期入驻率是多少"}
    ctx = resolve("一期呢", "nlu_fallback", {}, [], earlier)
    assert ctx.park == "嘉康园"
    assert ctx.query == "嘉康园 嘉定区 二期入驻率是多少 一期"

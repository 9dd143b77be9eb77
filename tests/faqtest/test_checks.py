"""Each check alone: passes when it should, fails with the field, the wanted and the got."""

from __future__ import annotations

import pytest

from bot.faqtest.checks import (
    check_answer_contains,
    check_answer_contains_any,
    check_answer_excludes,
    check_entities,
    check_escalated,
    check_intent,
    check_intent_any,
    check_sources,
    check_turn,
)
from bot.faqtest.models import Answer, Expect

ANSWER = Answer(
    replies=("嘉定区共有19家特色产业园区。", "来源：《嘉定特色产业园区》"),
    intent="ask_park",
    confidence=0.93,
    entities={"region": "嘉定区", "industry": "汽车"},
    sources=("jiading-featured-parks-2023", "jiading-sensor-park-2024"),
    escalated=False,
)


def expect(**checks: object) -> Expect:
    return Expect(user="问题", **checks)  # type: ignore[arg-type]


def test_a_turn_without_checks_passes() -> None:
    assert check_turn(expect(), ANSWER) == []
    assert check_turn(expect(), Answer()) == []


def test_reply_text_joins_every_reply() -> None:
    assert ANSWER.text == "嘉定区共有19家特色产业园区。\n来源：《嘉定特色产业园区》"


def test_intent() -> None:
    assert check_intent(expect(intent="ask_park"), ANSWER) == []
    assert check_intent(expect(intent="ask_talent"), ANSWER) == [
        "intent: expected ask_talent, got ask_park (0.93)"
    ]
    assert check_intent(expect(intent="greet"), Answer()) == [
        "intent: expected greet, got (none) (0.00)"
    ]


def test_intent_any() -> None:
    assert check_intent_any(expect(intent_any=("ask_industry", "ask_park")), ANSWER) == []
    assert check_intent_any(expect(intent_any=("greet", "help")), ANSWER) == [
        "intent_any: expected one of [greet, help], got ask_park (0.93)"
    ]


def test_entities_is_a_subset_match_on_canonical_values() -> None:
    assert check_entities(expect(entities={"region": "嘉定区"}), ANSWER) == []
    assert check_entities(expect(entities={}), ANSWER) == []
    assert check_entities(expect(entities={"region": "南湖区", "park": "嘉康园"}), ANSWER) == [
        "entities.region: expected 南湖区, got 嘉定区",
        "entities.park: expected 嘉康园, got (none)",
    ]


def test_answer_contains_needs_every_string() -> None:
    assert check_answer_contains(expect(answer_contains=("19家", "来源")), ANSWER) == []
    assert check_answer_contains(expect(answer_contains=("19家", "20家", "北京")), ANSWER) == [
        "answer_contains: '20家' not in the reply",
        "answer_contains: '北京' not in the reply",
    ]


def test_answer_contains_searches_across_replies() -> None:
    # "。\n来" spans the boundary between the two replies.
    assert check_answer_contains(expect(answer_contains=("园区。\n来源",)), ANSWER) == []


def test_answer_contains_any_needs_one_string() -> None:
    assert check_answer_contains_any(expect(answer_contains_any=("19个", "19家")), ANSWER) == []
    assert check_answer_contains_any(expect(answer_contains_any=("19个", "十九")), ANSWER) == [
        "answer_contains_any: none of ['19个', '十九'] in the reply"
    ]


def test_answer_excludes_forbids_every_string() -> None:
    assert check_answer_excludes(expect(answer_excludes=("北京", "上海市")), ANSWER) == []
    assert check_answer_excludes(expect(answer_excludes=("北京", "19家")), ANSWER) == [
        "answer_excludes: '19家' is in the reply"
    ]


def test_sources_each_listed_id_must_be_cited() -> None:
    assert check_sources(expect(sources=("jiading-sensor-park-2024",)), ANSWER) == []
    assert check_sources(expect(sources=("nanhu-microelectronics-2023",)), ANSWER) == [
        "sources: nanhu-microelectronics-2023 not cited "
        "(cited: [jiading-featured-parks-2023, jiading-sensor-park-2024])"
    ]


def test_empty_sources_means_must_cite_nothing() -> None:
    assert check_sources(expect(sources=()), Answer(replies=("抱歉",))) == []
    assert check_sources(expect(sources=()), ANSWER) == [
        "sources: expected no citation, got [jiading-featured-parks-2023, jiading-sensor-park-2024]"
    ]


def test_unset_sources_checks_nothing() -> None:
    assert check_sources(expect(), ANSWER) == []


@pytest.mark.parametrize(
    ("want", "got", "failures"),
    [
        (False, False, []),
        (True, True, []),
        (True, False, ["escalated: expected true, got false"]),
        (False, True, ["escalated: expected false, got true"]),
    ],
)
def test_escalated(want: bool, got: bool, failures: list[str]) -> None:
    assert check_escalated(expect(escalated=want), Answer(escalated=got)) == failures


def test_check_turn_collects_every_failure_in_field_order() -> None:
    failures = check_turn(
        expect(intent="greet", answer_excludes=("19家",), escalated=True, sources=()), ANSWER
    )
    assert [f.split(":")[0] for f in failures] == [
        "intent",
        "answer_excludes",
        "sources",
        "escalated",
    ]

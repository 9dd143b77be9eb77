"""Custom actions against the real fact store, with tracker/dispatcher/domain fixtures."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.actions import ActionAnswer, ActionClarify, ActionHandoff, ActionReply
from tests.actions.conftest import TrackerFactory, meta, slots_after, slots_set, texts


async def test_park_question_is_answered_with_a_citation(
    tracker: TrackerFactory, dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    t = tracker("嘉定一共有多少家特色产业园区", "ask_park", entities={"region": "嘉定=嘉定区"})
    events = await ActionAnswer().run(dispatcher, t, domain)
    assert "19家" in texts(dispatcher)
    assert "来源：《特色产业园区发展如何" in texts(dispatcher)
    payload = meta(dispatcher)
    assert payload["sources"] == ["jiading-featured-parks-2023"]
    assert payload["intent"] == {"name": "ask_park", "confidence": 0.95}
    assert payload["entities"] == {"region": "嘉定区"}
    assert slots_set(events)["topic"] == "park"
    assert slots_set(events)["region"] == "嘉定区"


async def test_question_the_sources_cannot_answer_says_so_and_offers_a_human(
    tracker: TrackerFactory, dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    t = tracker("在嘉定注册一家公司最低要多少注册资本", "ask_permit")
    await ActionAnswer().run(dispatcher, t, domain)
    assert "没有能回答这个问题的内容" in texts(dispatcher)
    assert meta(dispatcher)["sources"] == []
    assert meta(dispatcher)["events"] == ["not_in_sources"]
    payloads = [b["payload"] for m in dispatcher.messages for b in m.get("buttons") or []]
    assert "/request_human" in payloads


async def test_elliptical_follow_up_keeps_the_topic_and_switches_region(
    tracker: TrackerFactory, dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    earlier = {"topic": "talent", "region": "嘉定区", "question": "有哪些人才政策"}
    t = tracker(
        "那南湖区呢？", "nlu_fallback", entities={"region": "南湖区"}, slots=earlier, confidence=0.3
    )
    events = await ActionClarify().run(dispatcher, t, domain)
    payload = meta(dispatcher)
    assert payload["sources"] == ["nanhu-microelectronics-2023"]
    assert payload["topic"] == "talent"
    assert slots_set(events)["region"] == "南湖区"


@pytest.mark.parametrize(
    ("text", "intent", "region"),
    [("那南湖区呢？", "out_of_scope", "南湖区"), ("南湖呢", "deny", "南湖=南湖区")],
)
async def test_follow_up_taken_for_small_talk_still_continues_the_topic(
    tracker: TrackerFactory,
    dispatcher: CollectingDispatcher,
    domain: dict[str, Any],
    text: str,
    intent: str,
    region: str,
) -> None:
    earlier = {"topic": "talent", "region": "嘉定区", "question": "有哪些人才政策"}
    t = tracker(text, intent, entities={"region": region}, slots=earlier)
    events = await ActionReply().run(dispatcher, t, domain)
    assert meta(dispatcher)["sources"] == ["nanhu-microelectronics-2023"]
    assert slots_set(events)["region"] == "南湖区"


async def test_aspect_follow_up_taken_for_out_of_scope_gets_an_honest_answer(
    tracker: TrackerFactory, dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    earlier = {"topic": "talent", "region": "嘉定区", "question": "有没有人才租房补贴"}
    t = tracker("苏州那边呢", "out_of_scope", slots=earlier)
    await ActionReply().run(dispatcher, t, domain)
    assert "资料来源中没有" in texts(dispatcher)
    assert meta(dispatcher)["events"] == ["not_in_sources"]


@pytest.mark.parametrize(
    ("text", "intent"), [("没呢", "deny"), ("对了，今晚嘉定下不下雨", "out_of_scope")]
)
async def test_small_talk_in_a_topic_is_not_taken_for_a_follow_up(
    tracker: TrackerFactory,
    dispatcher: CollectingDispatcher,
    domain: dict[str, Any],
    text: str,
    intent: str,
) -> None:
    earlier = {"topic": "talent", "region": "嘉定区", "question": "有哪些人才政策"}
    entities = {"region": "嘉定=嘉定区"} if "嘉定" in text else None
    t = tracker(text, intent, entities=entities, slots=earlier)
    await ActionReply().run(dispatcher, t, domain)
    assert meta(dispatcher)["events"] == ["reply"]
    assert meta(dispatcher)["sources"] == []


async def test_pronoun_follow_up_inherits_the_park(
    tracker: TrackerFactory, dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    earlier = {
        "topic": "park",
        "park": "上海智能传感器产业园",
        "region": "嘉定工业区",
        "question": "介绍一下",
    }
    t = tracker("它一期的入驻率是多少", "ask_park", slots=earlier)
    await ActionAnswer().run(dispatcher, t, domain)
    assert "83.03%" in texts(dispatcher)
    assert meta(dispatcher)["sources"] == ["jiading-sensor-park-2024"]


async def test_unrelated_new_question_does_not_inherit_the_old_region(
    tracker: TrackerFactory, dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    earlier = {"topic": "park", "region": "嘉定区", "question": "有多少家特色产业园区"}
    t = tracker("微电子产业政府引导基金总规模多大", "ask_funding", slots=earlier)
    events = await ActionAnswer().run(dispatcher, t, domain)
    assert "20亿元" in texts(dispatcher)
    assert slots_set(events)["region"] is None
    assert meta(dispatcher)["sources"] == ["nanhu-microelectronics-2023"]


async def test_traditional_question_is_answered_in_traditional(
    tracker: TrackerFactory, dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    t = tracker("嘉定一共有多少家特色产业园区", "ask_park", script="hant")
    await ActionAnswer().run(dispatcher, t, domain)
    assert "來源：" in texts(dispatcher)
    assert "19家" in texts(dispatcher)


async def test_topic_button_asks_what_about(
    tracker: TrackerFactory, dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    events = await ActionAnswer().run(dispatcher, tracker("/ask_talent", "ask_talent"), domain)
    assert "人才政策方面的什么问题" in texts(dispatcher)
    assert slots_set(events)["topic"] == "talent"
    assert meta(dispatcher)["sources"] == []


@pytest.mark.parametrize("intent", ["greet", "help", "bot_challenge", "thank"])
async def test_small_talk_says_what_the_bot_covers_with_topic_buttons(
    tracker: TrackerFactory,
    dispatcher: CollectingDispatcher,
    domain: dict[str, Any],
    intent: str,
) -> None:
    await ActionReply().run(dispatcher, tracker("…", intent), domain)
    titles = [b["title"] for m in dispatcher.messages for b in m.get("buttons") or []]
    assert titles[:4] == ["人才", "资金", "园区", "许可"]
    assert meta(dispatcher)["intent"]["name"] == intent


async def test_greeting_and_bot_challenge_say_it_is_a_bot(
    tracker: TrackerFactory, dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    await ActionReply().run(dispatcher, tracker("你好", "greet"), domain)
    await ActionReply().run(dispatcher, tracker("你是人吗", "bot_challenge"), domain)
    assert texts(dispatcher).count("机器人") == 2


async def test_first_fallback_clarifies_second_offers_a_human(
    tracker: TrackerFactory, dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    t1 = tracker("asdf", "nlu_fallback")
    first = slots_after(t1, await ActionClarify().run(dispatcher, t1, domain))
    assert (first["fallback_count"], first["handoff_offered"]) == (1.0, False)
    assert "没太理解" in texts(dispatcher)
    second_dispatcher = CollectingDispatcher()
    t2 = tracker("qwer", "nlu_fallback", slots=first)
    second = slots_after(t2, await ActionClarify().run(second_dispatcher, t2, domain))
    assert (second["fallback_count"], second["handoff_offered"]) == (2.0, True)
    assert "转接人工客服" in texts(second_dispatcher)


async def test_accepting_the_offered_human_hands_off(
    tracker: TrackerFactory, dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    t = tracker("好的", "affirm", slots={"handoff_offered": True, "fallback_count": 2.0})
    await ActionReply().run(dispatcher, t, domain)
    payload = meta(dispatcher)
    assert payload["escalated"] is True
    assert payload["events"] == ["handoff"]
    assert payload["handoff"]["reason"] == "fallback_accepted"


async def test_request_human_emits_the_handoff_event_with_its_payload(
    tracker: TrackerFactory, dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    t = tracker("我要找人工", "request_human", slots={"fallback_count": 1.0})
    events = await ActionHandoff().run(dispatcher, t, domain)
    payload = meta(dispatcher)
    assert payload["escalated"] is True
    assert payload["events"] == ["handoff"]
    assert payload["handoff"] == {"reason": "request_human", "text": "我要找人工"}
    assert payload["sources"] == []
    assert slots_set(events)["fallback_count"] == 0.0


async def test_low_confidence_real_question_goes_to_the_fact_store(
    tracker: TrackerFactory, dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    t = tracker("菊园的科研技术人员规模大概多少人", "nlu_fallback", confidence=0.45)
    await ActionClarify().run(dispatcher, t, domain)
    assert "5300人" in texts(dispatcher)
    assert meta(dispatcher)["sources"] == ["juyuan-science-district-2023"]


async def test_low_confidence_question_the_sources_cannot_answer_says_so(
    tracker: TrackerFactory, dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    t = tracker(
        "南湖区工业用电多少钱一度啊", "nlu_fallback", confidence=0.45, slots={"fallback_count": 1.0}
    )
    events = await ActionClarify().run(dispatcher, t, domain)
    assert "资料来源中没有" in texts(dispatcher)
    assert meta(dispatcher)["sources"] == []
    assert slots_after(t, events)["fallback_count"] == 0.0


async def test_actions_leave_out_slot_events_that_change_nothing(
    tracker: TrackerFactory, dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    assert await ActionReply().run(dispatcher, tracker("谢谢", "thank"), domain) == []
    earlier = {"topic": "talent", "region": "嘉定区", "question": "有哪些人才政策"}
    t = tracker(
        "嘉定区人才公寓怎么申请", "ask_talent", entities={"region": "嘉定区"}, slots=earlier
    )
    changed = slots_set(await ActionAnswer().run(CollectingDispatcher(), t, domain))
    assert "region" not in changed
    assert "topic" not in changed
    assert changed["question"] == "人才公寓怎么申请"

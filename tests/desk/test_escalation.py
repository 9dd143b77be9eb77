"""Escalation end to end through the bot's HTTP API: tickets, queue, agent replies, hand-back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.chat import BUSY_TEXT, ERROR_HANDOFF_TEXT
from bot.desk.service import CLAIMED_TEXT, CLOSED_TEXT, DISABLED_TEXT
from bot.keys import DESK, UNANSWERED
from bot.launcher import free_port
from bot.state.conversations import ConversationId
from tests.auxil.fake_telegram import command_update, message_update
from tests.auxil.sse import read_events
from tests.desk.harness import DeskHarness, bearer, desk_bot

TG_CHAT = 4242


@pytest.fixture
async def bot(redis_url: str) -> AsyncIterator[DeskHarness]:
    async with desk_bot(redis_url) as harness:
        yield harness


async def test_request_human_opens_a_ticket_pauses_rasa_and_gives_the_queue_position(
    bot: DeskHarness,
) -> None:
    await bot.chat("u1", "嘉定有什么人才政策")
    answer = await bot.chat("u1", "/request_human")
    texts = [r["text"] for r in answer["replies"]]
    assert "正在为您转接人工客服" in texts[0]
    assert "排在第 1 位" in texts[-1]
    assert answer["escalated"] is True
    assert bot.rasa.paused == {"web:u1": True}

    ticket = await bot.only_ticket()
    assert ticket["status"] == "open"
    assert ticket["position"] == 1
    assert (ticket["channel"], ticket["chat_id"], ticket["reason"]) == (
        "web",
        "u1",
        "request_human",
    )
    assert ticket["trigger"] == "/request_human"
    roles = [(t["role"], t["text"]) for t in ticket["transcript"]]
    assert ("user", "嘉定有什么人才政策") in roles
    assert ("bot", "echo: 嘉定有什么人才政策") in roles

    await bot.chat("u2", "/request_human")
    second = [
        t for t in (await bot.api("GET", "/desk/api/tickets"))["tickets"] if t["chat_id"] == "u2"
    ]
    assert second[0]["position"] == 2


async def test_while_a_ticket_is_open_messages_go_to_it_and_not_to_rasa(bot: DeskHarness) -> None:
    await bot.chat("u1", "/request_human")
    sent_to_rasa = len(bot.rasa.received)
    answer = await bot.chat("u1", "我想咨询落户的细节")
    assert len(bot.rasa.received) == sent_to_rasa
    assert "您的消息已转给人工客服" in answer["replies"][0]["text"]
    assert "第 1 位" in answer["replies"][0]["text"]

    ticket = await bot.only_ticket()
    detail = await bot.api("GET", f"/desk/api/tickets/{ticket['id']}")
    messages = [e["text"] for e in detail["events"] if e["type"] == "message"]
    assert messages == ["我想咨询落户的细节"]


async def test_an_agents_reply_reaches_the_web_user_once_and_close_hands_back(
    bot: DeskHarness,
) -> None:
    await bot.chat("u1", "/request_human")
    ticket_id = (await bot.only_ticket())["id"]
    inbox = await bot.events("u1")
    assert inbox.headers["Content-Type"].startswith("text/event-stream")

    claimed = await bot.api("POST", f"/desk/api/tickets/{ticket_id}/claim")
    assert claimed["ticket"]["status"] == "claimed"
    assert claimed["ticket"]["assignee"] == "alice"
    key = {"Idempotency-Key": "reply-1"}
    first = await bot.api(
        "POST",
        f"/desk/api/tickets/{ticket_id}/replies",
        status=201,
        json={"text": "您好，我是小王"},
        headers=key,
    )
    again = await bot.api(
        "POST",
        f"/desk/api/tickets/{ticket_id}/replies",
        json={"text": "您好，我是小王"},
        headers=key,
    )
    assert again == {"delivery_id": first["delivery_id"], "replayed": True}

    events = await read_events(inbox, 2)
    assert [e.data["replies"][0]["text"] for e in events] == [CLAIMED_TEXT, "您好，我是小王"]

    # While an agent has the conversation the bot stays quiet, and the agent sees the message.
    quiet = await bot.chat("u1", "好的，谢谢")
    assert quiet["replies"] == []
    detail = await bot.api("GET", f"/desk/api/tickets/{ticket_id}")
    assert [e["text"] for e in detail["events"] if e["type"] == "message"] == ["好的，谢谢"]
    assert detail["deliveries"][first["delivery_id"]]["status"] == "delivered"
    replies = [e for e in detail["events"] if e["type"] == "reply"]
    assert len(replies) == 1

    closed = await bot.api("POST", f"/desk/api/tickets/{ticket_id}/close")
    assert closed["ticket"]["status"] == "closed"
    (event,) = await read_events(inbox, 1)
    assert event.data["replies"][0]["text"] == CLOSED_TEXT
    assert bot.rasa.paused == {"web:u1": False}
    back = await bot.chat("u1", "你好")
    assert back["replies"][0]["text"] == "echo: 你好"
    inbox.close()


async def test_a_telegram_user_escalates_with_slash_human_and_gets_the_reply_in_telegram(
    bot: DeskHarness,
) -> None:
    await bot.telegram_update(command_update(TG_CHAT, "/human"))
    await bot.tg.wait_for("sendMessage", 2)
    assert "排在第 1 位" in bot.tg.texts()[-1]
    ticket = await bot.only_ticket()
    assert (ticket["channel"], ticket["chat_id"]) == ("telegram", str(TG_CHAT))
    assert ticket["display_name"] == "Li"

    await bot.api("POST", f"/desk/api/tickets/{ticket['id']}/claim")
    await bot.api(
        "POST", f"/desk/api/tickets/{ticket['id']}/replies", status=201, json={"text": "您好，请讲"}
    )
    await bot.tg.wait_for("sendMessage", 4)
    assert bot.tg.texts()[-2:] == [CLAIMED_TEXT, "您好，请讲"]
    assert str(bot.tg.sent()[-1]["chat_id"]) == str(TG_CHAT)

    before = len(bot.rasa.received)
    await bot.telegram_update(message_update(TG_CHAT, "我想了解补贴"))
    detail = await bot.api("GET", f"/desk/api/tickets/{ticket['id']}")
    for _ in range(100):
        if any(e["type"] == "message" for e in detail["events"]):
            break
        await bot.tg.settle(0.05)
        detail = await bot.api("GET", f"/desk/api/tickets/{ticket['id']}")
    assert [e["text"] for e in detail["events"] if e["type"] == "message"] == ["我想了解补贴"]
    assert len(bot.rasa.received) == before

    await bot.api("POST", f"/desk/api/tickets/{ticket['id']}/close")
    await bot.tg.wait_for("sendMessage", 5)
    assert bot.tg.texts()[-1] == CLOSED_TEXT


async def test_a_refused_delivery_is_shown_as_failed_and_can_be_retried(bot: DeskHarness) -> None:
    await bot.telegram_update(command_update(TG_CHAT, "/human"))
    await bot.tg.wait_for("sendMessage", 2)
    ticket_id = (await bot.only_ticket())["id"]
    await bot.api("POST", f"/desk/api/tickets/{ticket_id}/claim")
    await bot.delivered(ticket_id, 1)
    bot.tg.fail_once("sendMessage", 403)  # the user blocked the bot
    reply = await bot.api(
        "POST", f"/desk/api/tickets/{ticket_id}/replies", status=201, json={"text": "在吗"}
    )
    await bot.delivered(ticket_id, 2)
    detail = await bot.api("GET", f"/desk/api/tickets/{ticket_id}")
    state = detail["deliveries"][reply["delivery_id"]]
    assert state["status"] == "failed"
    assert "Telegram refused" in state["error"]
    assert "在吗" not in bot.tg.texts()

    await bot.api(
        "POST",
        f"/desk/api/tickets/{ticket_id}/deliveries/{reply['delivery_id']}/retry",
        status=202,
    )
    await bot.delivered(ticket_id, 3)
    assert bot.tg.texts().count("在吗") == 1
    detail = await bot.api("GET", f"/desk/api/tickets/{ticket_id}")
    assert detail["deliveries"][reply["delivery_id"]]["status"] == "delivered"


async def test_rasa_refusing_a_message_hands_the_user_to_a_person(bot: DeskHarness) -> None:
    # A 4xx is about this message; a 5xx (Rasa's stores down) is an outage, answered below.
    bot.rasa.status = 400
    answer = await bot.chat("u1", "嘉定有哪些园区")
    assert answer["replies"][0]["text"] == ERROR_HANDOFF_TEXT
    assert "排在第 1 位" in answer["replies"][-1]["text"]
    assert (await bot.only_ticket())["reason"] == "internal_error"


@pytest.mark.parametrize("outage", ["rasa_unreachable", "action_server_down", "rasa_5xx"])
async def test_an_outage_offers_a_person_without_opening_a_ticket_per_user(
    redis_url: str, outage: str
) -> None:
    # Nothing listens on a fresh free port: connection refused, as when Rasa was killed.
    nowhere = f"http://127.0.0.1:{free_port()}" if outage == "rasa_unreachable" else None
    async with desk_bot(redis_url, rasa_url=nowhere) as bot:
        bot.rasa.actions_down = outage == "action_server_down"
        bot.rasa.status = 503 if outage == "rasa_5xx" else 200
        answers = [await bot.chat(f"u{i}", "嘉定有哪些园区") for i in range(3)]
        tickets = await bot.api("GET", "/desk/api/tickets")
    for answer in answers:
        assert [r["text"] for r in answer["replies"]] == [BUSY_TEXT]
        assert answer["replies"][0]["buttons"] == [{"title": "转人工", "payload": "/request_human"}]
    assert tickets["tickets"] == []


async def test_fallbacks_and_unanswerable_questions_are_recorded(bot: DeskHarness) -> None:
    meta = {"intent": {"name": "nlu_fallback", "confidence": 0.3}, "events": ["fallback"]}
    bot.rasa.script["布拉布拉"] = [{"text": "没太理解"}, {"custom": {"bizbot": meta}}]
    meta2 = {"intent": {"name": "ask_park", "confidence": 0.9}, "events": ["not_in_sources"]}
    bot.rasa.script["火星上有园区吗"] = [{"text": "没有"}, {"custom": {"bizbot": meta2}}]
    await bot.chat("u1", "布拉布拉")
    await bot.chat("u1", "火星上有园区吗")
    await bot.chat("u1", "你好")
    recorded = await bot.app[UNANSWERED].entries()
    assert [(e.question, e.reason, e.intent, e.channel) for e in recorded] == [
        ("布拉布拉", "fallback", "nlu_fallback", "web"),
        ("火星上有园区吗", "not_in_sources", "ask_park", "web"),
    ]


async def test_forget_deletes_the_users_tickets(bot: DeskHarness) -> None:
    await bot.chat("u1", "/request_human")
    ticket_id = (await bot.only_ticket())["id"]
    await bot.chat("u1", "删除我的数据")
    assert (await bot.api("GET", "/desk/api/tickets"))["tickets"] == []
    await bot.api("GET", f"/desk/api/tickets/{ticket_id}", status=404)
    assert await bot.app[DESK].active_ticket(ConversationId("web", "u1")) is None


async def test_without_agents_a_hand_off_is_declined_plainly(redis_url: str) -> None:
    async with desk_bot(redis_url, desk_agents="") as bot:
        answer = await bot.chat("u1", "/request_human")
        assert answer["replies"][-1]["text"] == DISABLED_TEXT
        assert bot.rasa.paused == {}
        await bot.api("GET", "/desk/api/tickets", status=401)


async def test_outside_desk_hours_the_user_is_told_when_someone_will_answer(
    redis_url: str,
) -> None:
    async with desk_bot(redis_url, desk_hours="never") as bot:
        answer = await bot.chat("u1", "/request_human")
        assert "目前没有客服值班" in answer["replies"][-1]["text"]


async def test_the_live_feed_shows_new_tickets_and_messages(bot: DeskHarness) -> None:
    feed = await bot.client.get("/desk/api/events", headers=bearer("alice"))
    assert feed.status == 200
    await bot.chat("u1", "/request_human")
    await bot.chat("u1", "还在吗")
    created, message = await read_events(feed, 2)
    assert (created.name, created.data["type"]) == ("ticket", "created")
    assert message.data["type"] == "message"
    assert "text" not in message.data  # the feed names the ticket; the text is in the ticket
    assert message.data["ticket_id"] == created.data["ticket_id"]
    feed.close()


async def test_traditional_script_users_get_desk_notices_in_traditional(bot: DeskHarness) -> None:
    # Rasa sees Simplified text; the user wrote Traditional and is answered in it.
    bot.rasa.script["请帮我转接真人客服"] = bot.rasa.script["/request_human"]
    answer = await bot.chat("u1", "請幫我轉接真人客服")
    assert "人工客服工單 T00001" in answer["replies"][-1]["text"]


async def test_the_desk_works_on_the_embedded_store_that_make_demo_uses() -> None:
    async with desk_bot(None) as bot:
        await bot.chat("u1", "/request_human")
        ticket_id = (await bot.only_ticket())["id"]
        await bot.api("POST", f"/desk/api/tickets/{ticket_id}/claim")
        await bot.api(
            "POST", f"/desk/api/tickets/{ticket_id}/replies", status=201, json={"text": "您好"}
        )
        await bot.delivered(ticket_id, 2)
        inbox = await bot.events("u1")
        events = await read_events(inbox, 2)
        assert [e.data["replies"][0]["text"] for e in events] == [CLAIMED_TEXT, "您好"]
        inbox.close()


async def test_new_tickets_are_announced_to_the_desk_teams_telegram_group(redis_url: str) -> None:
    async with desk_bot(redis_url, desk_telegram_chat_id="-100777") as bot:
        await bot.chat("u1", "我要找人工")
        bot.rasa.script["我要找人工"] = bot.rasa.script["/request_human"]
        await bot.chat("u2", "我要找人工")
        await bot.tg.wait_for("sendMessage", 1)
        (announcement,) = bot.tg.sent()
        assert str(announcement["chat_id"]) == "-100777"
        assert announcement["text"] == "新工单 T00001（web）：我要找人工"


async def test_two_agents_claiming_at_once_one_wins_and_the_user_is_told_once(
    bot: DeskHarness,
) -> None:
    await bot.chat("u1", "/request_human")
    ticket_id = (await bot.only_ticket())["id"]
    path = f"/desk/api/tickets/{ticket_id}/claim"
    results = await asyncio.gather(
        *(bot.client.post(path, headers=bearer(agent)) for agent in ("alice", "bob", "root"))
    )
    assert sorted(r.status for r in results) == [200, 409, 409]
    await bot.delivered(ticket_id, 1)
    detail = await bot.api("GET", f"/desk/api/tickets/{ticket_id}")
    assert [e["type"] for e in detail["events"]].count("claimed") == 1
    assert [e["text"] for e in detail["events"] if e["type"] == "notice"] == [CLAIMED_TEXT]

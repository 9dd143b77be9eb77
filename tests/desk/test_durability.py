"""Nothing is lost: tickets and queued messages survive a bot restart and a Redis restart."""

from __future__ import annotations

from pathlib import Path

from redis.asyncio import Redis

from bot.desk.outbox import Delivery, Outbox
from bot.desk.service import CLAIMED_TEXT
from bot.launcher import redis_server
from bot.state.keys import Keys
from tests.auxil.sse import read_events
from tests.desk.harness import desk_bot


async def test_a_ticket_its_queue_place_and_transcript_survive_a_bot_restart(
    redis_url: str,
) -> None:
    async with desk_bot(redis_url) as bot:
        await bot.chat("u0", "/request_human")
        await bot.chat("u1", "南湖区有哪些人才政策")
        await bot.chat("u1", "/request_human")
        before = await bot.api("GET", "/desk/api/tickets")
        prefix = bot.settings.redis_key_prefix
    async with desk_bot(redis_url, redis_key_prefix=prefix) as bot:
        after = await bot.api("GET", "/desk/api/tickets")
        assert after == before
        ticket = next(t for t in after["tickets"] if t["chat_id"] == "u1")
        assert ticket["position"] == 2
        transcript = [(t["role"], t["text"]) for t in ticket["transcript"]]
        assert ("user", "南湖区有哪些人才政策") in transcript
        # Still handed off after the restart: the message goes to the ticket, not to Rasa.
        answer = await bot.chat("u1", "还要等多久")
        assert "第 2 位" in answer["replies"][0]["text"]
        assert bot.rasa.received == []


async def test_a_reply_queued_while_the_bot_was_down_is_delivered_once_after_it_starts(
    redis_url: str,
) -> None:
    async with desk_bot(redis_url) as bot:
        await bot.chat("u1", "/request_human")
        ticket_id = (await bot.only_ticket())["id"]
        prefix = bot.settings.redis_key_prefix
    redis = Redis.from_url(redis_url, decode_responses=True)
    outbox = Outbox(redis, Keys(prefix), retention_s=3600)
    await outbox.enqueue(Delivery.new(ticket_id, "web", "u1", "稍等，我查一下", "reply"))
    await redis.aclose()
    async with desk_bot(redis_url, redis_key_prefix=prefix) as bot:
        await bot.delivered(ticket_id, 1)
        inbox = await bot.events("u1")
        (event,) = await read_events(inbox, 1)
        assert event.data["replies"][0]["text"] == "稍等，我查一下"
        inbox.close()


async def test_tickets_and_their_events_survive_a_redis_restart_with_aof_on(
    tmp_path: Path,
) -> None:
    with redis_server(tmp_path) as url:
        async with desk_bot(url) as bot:
            await bot.chat("u1", "/request_human")
            ticket_id = (await bot.only_ticket())["id"]
            await bot.api("POST", f"/desk/api/tickets/{ticket_id}/claim")
            await bot.delivered(ticket_id, 1)
            before = await bot.api("GET", "/desk/api/tickets")
            prefix = bot.settings.redis_key_prefix
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    with redis_server(tmp_path, port=port) as url:
        async with desk_bot(url, redis_key_prefix=prefix) as bot:
            assert await bot.api("GET", "/desk/api/tickets") == before
            detail = await bot.api("GET", f"/desk/api/tickets/{ticket_id}")
            notices = [e["text"] for e in detail["events"] if e["type"] == "notice"]
            assert notices == [CLAIMED_TEXT]
            # The user is still with the agent: their message goes to the ticket.
            assert (await bot.chat("u1", "你好"))["replies"] == []

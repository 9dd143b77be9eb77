"""Personal data: every key that holds a user's data expires, and `/forget` removes it all.

A web user chats, says something the bot cannot answer, asks for a person, gets an agent's
reply and writes to the ticket; a Telegram user does the same. Then every key under the
bot's prefix is read whole (strings, hashes, lists, sets, sorted sets, streams) and searched
for the user's id and words.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from bot.chat import FORGOTTEN_TEXT
from bot.keys import REDIS
from tests.auxil.fake_telegram import message_update
from tests.auxil.polling import until
from tests.desk.harness import DeskHarness, desk_bot

WEB_USER = "pd-web-user-7f3a"
TG_CHAT = 777_123_456
SECRET_WORDS = ("我的手机号13800138000", "布拉布拉蓝莓", "请尽快联系我", "人工回复甲乙丙")
# Global, capped streams: bounded in size rather than by a TTL, and never holding user ids.
CAPPED = ("desk:events", "desk:outbox", "unanswered")


@pytest.fixture
async def bot(redis_url: str) -> AsyncIterator[DeskHarness]:
    async with desk_bot(redis_url) as harness:
        fallback = {"intent": {"name": "nlu_fallback", "confidence": 0.3}, "events": ["fallback"]}
        harness.rasa.script[SECRET_WORDS[1]] = [
            {"text": "没太理解"},
            {"custom": {"bizbot": fallback}},
        ]
        yield harness


async def dump(redis: Redis, prefix: str) -> dict[str, tuple[str, int]]:
    """Every key under `prefix`: its whole content as text, and its TTL."""
    out: dict[str, tuple[str, int]] = {}
    async for key in redis.scan_iter(match=f"{prefix}*", count=500):
        kind = await redis.type(key)
        content: object
        if kind == "string":
            content = await redis.get(key)
        elif kind == "hash":
            content = await redis.hgetall(key)
        elif kind == "list":
            content = await redis.lrange(key, 0, -1)
        elif kind == "set":
            content = sorted(await redis.smembers(key))
        elif kind == "zset":
            content = await redis.zrange(key, 0, -1)
        elif kind == "stream":
            content = await redis.xrange(key)
        else:  # "none": deleted between SCAN and TYPE
            continue
        text = json.dumps(content, ensure_ascii=False, default=str)
        out[key] = (f"{key} {text}", await redis.ttl(key))
    return out


def mentions(text: str) -> bool:
    return WEB_USER in text or str(TG_CHAT) in text or any(w in text for w in SECRET_WORDS)


async def live_user_data(bot: DeskHarness) -> None:
    """Both users talk, escalate and hear from an agent."""
    await bot.chat(WEB_USER, SECRET_WORDS[0])
    await bot.chat(WEB_USER, SECRET_WORDS[1])
    await bot.chat(WEB_USER, "/request_human")
    await bot.telegram_update(message_update(TG_CHAT, SECRET_WORDS[0]))
    await bot.telegram_update(message_update(TG_CHAT, "/request_human"))
    await bot.tg.wait_for("sendMessage", 2)
    tickets = (await bot.api("GET", "/desk/api/tickets"))["tickets"]
    assert len(tickets) == 2, tickets
    for ticket in tickets:
        await bot.api("POST", f"/desk/api/tickets/{ticket['id']}/claim")
        await bot.api(
            "POST",
            f"/desk/api/tickets/{ticket['id']}/replies",
            json={"text": SECRET_WORDS[3]},
            status=201,
        )
        await bot.delivered(ticket["id"], 1)
    await bot.chat(WEB_USER, SECRET_WORDS[2])
    await bot.telegram_update(message_update(TG_CHAT, SECRET_WORDS[2]))


async def test_every_key_with_a_users_data_expires_or_is_a_capped_stream(
    bot: DeskHarness,
) -> None:
    await live_user_data(bot)
    keys = await dump(bot.app[REDIS], bot.settings.redis_key_prefix)
    personal = {key: ttl for key, (text, ttl) in keys.items() if mentions(text)}
    assert personal, "the scenario stored nothing about the users"
    prefix = bot.settings.redis_key_prefix
    forever = [k for k, ttl in personal.items() if ttl < 0 and k.removeprefix(prefix) not in CAPPED]
    assert forever == []


async def test_forget_leaves_nothing_about_the_user(bot: DeskHarness) -> None:
    await live_user_data(bot)
    await bot.chat(WEB_USER, "删除我的数据")
    await bot.telegram_update(message_update(TG_CHAT, "/forget"))
    assert await until(lambda: FORGOTTEN_TEXT in bot.tg.texts(), within_s=10)
    keys = await dump(bot.app[REDIS], bot.settings.redis_key_prefix)
    left = {key: text[:300] for key, (text, _) in keys.items() if mentions(text)}
    assert left == {}
    # The tracker resets reached Rasa for both conversations.
    assert set(bot.rasa.resets) >= {f"web:{WEB_USER}", f"telegram:{TG_CHAT}"}

"""End to end through `/api/chat` against the real stack."""

from __future__ import annotations

from collections.abc import Iterator

import aiohttp
import pytest

from bot.launcher import Stack, start_stack
from tests.e2e.chat import ask, session

pytestmark = pytest.mark.stack


async def test_greeting_gets_a_greeting_that_says_it_is_a_bot(stack: Stack) -> None:
    data = await ask(stack.bot_url, "e2e-greet", "你好")
    assert data["intent"]["name"] == "greet"
    text = "".join(r["text"] for r in data["replies"])
    assert "您好" in text
    assert "机器人" in text
    assert data["sources"] == []
    assert data["escalated"] is False
    titles = [b["title"] for r in data["replies"] for b in r["buttons"]]
    assert titles == ["人才", "资金", "园区", "许可"]


async def test_park_question_is_answered_by_the_action_with_a_source(stack: Stack) -> None:
    data = await ask(stack.bot_url, "e2e-parks", "嘉定一共有多少家特色产业园区？")
    assert data["intent"]["name"] == "ask_park"
    text = "".join(r["text"] for r in data["replies"])
    assert "19家" in text
    assert "来源：" in text
    assert data["sources"] == ["jiading-featured-parks-2023"]


async def test_healthz_reports_each_dependency(stack: Stack) -> None:
    async with aiohttp.ClientSession() as session, session.get(f"{stack.bot_url}/healthz") as resp:
        data = await resp.json()
    assert resp.status == 200
    assert set(data["checks"]) == {"redis", "rasa", "action_server"}
    assert data["checks"]["redis"]["detail"] == "redis"
    assert all(check["ok"] for check in data["checks"].values())


async def test_conversation_log_is_kept_in_real_redis(stack: Stack) -> None:
    from redis.asyncio import Redis

    await ask(stack.bot_url, "e2e-log", "你好")
    sender = (await session(stack.bot_url, "e2e-log")).sender
    assert stack.redis_url is not None
    client = Redis.from_url(stack.redis_url, decode_responses=True)
    try:
        log = await client.lrange(f"bizbot:log:web:{sender}", 0, -1)
        tracker = await client.exists(f"rasa:tracker:web:{sender}")
    finally:
        await client.aclose()
    assert len(log) == 2  # the user's message and the bot's reply
    assert tracker == 1  # Rasa's RedisTrackerStore wrote the same conversation


@pytest.fixture(scope="module")
def embedded_stack(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A second stack with REDIS_URL unset: fakeredis in the bot, in-memory trackers in Rasa."""
    running = start_stack(tmp_path_factory.mktemp("embedded"), None)
    yield running
    running.group.stop()


async def test_embedded_default_without_redis_also_answers(embedded_stack: Stack) -> None:
    data = await ask(embedded_stack.bot_url, "e2e-embedded", "嘉定一共有多少家特色产业园区")
    assert "19家" in "".join(r["text"] for r in data["replies"])
    assert data["sources"] == ["jiading-featured-parks-2023"]
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{embedded_stack.bot_url}/healthz") as resp,
    ):
        health = await resp.json()
    assert health["checks"]["redis"]["detail"] == "embedded"
    logs = {p.name: p.tail(200) for p in embedded_stack.group.procs}
    assert "NOT persistent" in logs["bot"]
    assert "NOT persistent" in logs["rasa"]

"""The per-conversation turn queue: one message at a time, in arrival order, across replicas."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from redis.asyncio import Redis

from bot.state import conversations as conversations_module
from bot.state.conversations import ConversationBusyError, ConversationId, Conversations
from bot.state.keys import Keys

CONV = ConversationId("web", "u1")


@pytest.fixture
def keys() -> Keys:
    return Keys(f"t{uuid.uuid4().hex[:8]}:")


async def test_messages_on_two_replicas_are_handled_one_at_a_time_in_arrival_order(
    redis: Redis, keys: Keys
) -> None:
    # Two Conversations objects on one Redis stand for two bot replicas.
    replicas = [Conversations(redis, keys, ttl_s=60), Conversations(redis, keys, ttl_s=60)]
    handled: list[int] = []
    inside = 0

    async def message(n: int) -> None:
        nonlocal inside
        async with replicas[n % 2].turn(CONV):
            inside += 1
            assert inside == 1
            await asyncio.sleep(0.03)
            handled.append(n)
            inside -= 1

    queue = keys.turns(CONV.channel, CONV.chat_id)
    tasks = []
    for n in range(8):
        tasks.append(asyncio.create_task(message(n)))
        # Arrival is joining the queue: 0, 1, 2, … (the first may already be done).
        async with asyncio.timeout(2):
            while True:
                if len(handled) + await redis.llen(queue) >= n + 1:
                    break
                await asyncio.sleep(0.001)
    await asyncio.gather(*tasks)
    assert handled == list(range(8))
    assert await redis.exists(keys.turns(CONV.channel, CONV.chat_id)) == 0


async def test_a_place_whose_replica_died_is_skipped(redis: Redis, keys: Keys) -> None:
    # A head without a lease: the replica holding it crashed and its lease lapsed.
    await redis.rpush(keys.turns(CONV.channel, CONV.chat_id), "dead-replica-token")
    conversations = Conversations(redis, keys, ttl_s=60)
    async with asyncio.timeout(2), conversations.turn(CONV):
        pass


async def test_waiting_too_long_gives_up_and_leaves_the_queue(
    redis: Redis, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(conversations_module, "TURN_WAIT_S", 0.2)
    conversations = Conversations(redis, keys, ttl_s=60)
    queue = keys.turns(CONV.channel, CONV.chat_id)
    async with conversations.turn(CONV):
        with pytest.raises(ConversationBusyError):
            async with conversations.turn(CONV):
                pytest.fail("entered a held conversation")
        assert await redis.llen(queue) == 1
    assert await redis.llen(queue) == 0

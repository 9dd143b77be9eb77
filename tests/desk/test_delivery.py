"""The delivery worker against real Redis: retries, give-ups, reclaiming and sending once."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable

import pytest
from redis.asyncio import Redis

from bot.desk.delivery import DeliveryWorker
from bot.desk.errors import DeliveryRejectedError, DeliveryRetryableError
from bot.desk.outbox import GROUP, Delivery, Outbox
from bot.desk.tickets import TicketStore
from bot.state.keys import Keys


class Channel:
    """A channel's sender that records what it sent and fails as told."""

    def __init__(self, failures: list[Exception] | None = None) -> None:
        self.sent: list[tuple[str, str]] = []
        self.failures = list(failures or [])

    async def send(self, chat_id: str, text: str) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append((chat_id, text))


@pytest.fixture
def keys() -> Keys:
    return Keys(f"d{uuid.uuid4().hex[:8]}:")


@contextlib.asynccontextmanager
async def worker(
    redis: Redis, keys: Keys, channel: Channel, *, attempts: int = 3
) -> AsyncIterator[DeliveryWorker]:
    running = DeliveryWorker(
        Outbox(redis, keys, retention_s=3600),
        TicketStore(redis, keys, retention_s=3600),
        {"web": channel.send},
        attempts=attempts,
        retry_s=0.2,
    )
    task = asyncio.create_task(running.run())
    try:
        yield running
    finally:
        running.stop()
        await task


async def until(check: Callable[[], object], within_s: float = 5.0) -> None:
    deadline = time.monotonic() + within_s
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_a_failing_channel_is_retried_until_the_message_goes_out(
    redis: Redis, keys: Keys
) -> None:
    outbox = Outbox(redis, keys, retention_s=3600)
    channel = Channel([DeliveryRetryableError("timeout"), DeliveryRetryableError("timeout")])
    delivery = Delivery.new("", "web", "u1", "您好", "reply")
    async with worker(redis, keys, channel):
        await outbox.enqueue(delivery)
        await until(lambda: channel.sent)
    state = await outbox.state(delivery.id)
    assert state is not None
    assert (state.status, state.attempts) == ("delivered", 3)
    assert channel.sent == [("u1", "您好")]


async def test_after_the_last_attempt_the_delivery_is_failed_not_dropped(
    redis: Redis, keys: Keys
) -> None:
    outbox = Outbox(redis, keys, retention_s=3600)
    channel = Channel([DeliveryRetryableError("down")] * 5)
    delivery = Delivery.new("", "web", "u1", "您好", "reply")
    async with worker(redis, keys, channel, attempts=2):
        await outbox.enqueue(delivery)
        await until(lambda: len(channel.failures) == 3)
        await asyncio.sleep(0.5)
    state = await outbox.state(delivery.id)
    assert state is not None
    assert (state.status, state.attempts, state.error) == ("failed", 2, "down")
    assert channel.sent == []
    pending = await redis.xpending(keys.desk_outbox(), GROUP)
    assert pending["pending"] == 0


async def test_a_refused_message_fails_at_once(redis: Redis, keys: Keys) -> None:
    outbox = Outbox(redis, keys, retention_s=3600)
    channel = Channel([DeliveryRejectedError("blocked")])
    delivery = Delivery.new("", "web", "u1", "您好", "reply")
    async with worker(redis, keys, channel):
        await outbox.enqueue(delivery)
        await until(lambda: not channel.failures)
        await asyncio.sleep(0.3)
    state = await outbox.state(delivery.id)
    assert state is not None
    assert (state.status, state.attempts) == ("failed", 1)


async def test_an_entry_a_dead_worker_left_pending_is_reclaimed_and_sent_once(
    redis: Redis, keys: Keys
) -> None:
    outbox = Outbox(redis, keys, retention_s=3600)
    await outbox.ensure_group()
    delivery = Delivery.new("", "web", "u1", "您好", "reply")
    await outbox.enqueue(delivery)
    taken = await outbox.read("dead-worker", count=10, block_ms=100)
    assert [d.id for _, d in taken] == [delivery.id]
    channel = Channel()
    async with worker(redis, keys, channel):
        await until(lambda: channel.sent)
        await asyncio.sleep(0.5)
    assert channel.sent == [("u1", "您好")]


async def test_an_entry_queued_twice_is_sent_once(redis: Redis, keys: Keys) -> None:
    outbox = Outbox(redis, keys, retention_s=3600)
    delivery = Delivery.new("", "web", "u1", "您好", "reply")
    channel = Channel()
    async with worker(redis, keys, channel):
        await outbox.enqueue(delivery)
        await until(lambda: channel.sent)
        await outbox.enqueue(delivery)  # a redelivery of the same message
        await asyncio.sleep(0.5)
    assert channel.sent == [("u1", "您好")]


async def test_a_channel_that_is_not_running_is_retried_then_failed(
    redis: Redis, keys: Keys
) -> None:
    outbox = Outbox(redis, keys, retention_s=3600)
    delivery = Delivery.new("", "telegram", "42", "您好", "reply")
    async with worker(redis, keys, Channel(), attempts=2):
        await outbox.enqueue(delivery)
        for _ in range(100):
            state = await outbox.state(delivery.id)
            if state and state.status == "failed":
                break
            await asyncio.sleep(0.05)
    assert state is not None
    assert state.status == "failed"
    assert "not running" in state.error

"""Conversation state in Redis: address, script, hand-off state, last seen and message log."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal

from redis.asyncio import Redis
from redis.exceptions import RedisError
from redis.typing import EncodableT, FieldT

from bot.state.keys import Keys
from bot.state.redis import StateError, StateUnavailableError, as_strs

Role = Literal["user", "bot", "agent", "system"]

LOG_LENGTH = 50
TURN_LEASE_S = 60
"""How long one message may wait and be handled before its place in the queue lapses."""
TURN_WAIT_S = 25.0
TURN_POLL_S = 0.02


class ConversationBusyError(StateError):
    """Earlier messages of the same conversation held it for too long."""


@dataclass(frozen=True, slots=True)
class ConversationId:
    """A conversation is one chat on one channel."""

    channel: str
    chat_id: str

    @property
    def sender(self) -> str:
        """The sender id Rasa sees (one tracker per conversation)."""
        return f"{self.channel}:{self.chat_id}"


class Conversations:
    """Reads and writes conversation state; all keys come from `Keys`."""

    def __init__(self, redis: Redis, keys: Keys, *, ttl_s: int) -> None:
        self._redis = redis
        self._keys = keys
        self._ttl = ttl_s

    @asynccontextmanager
    async def turn(self, conv: ConversationId) -> AsyncIterator[None]:
        """Wait for the conversation's turn: its messages are handled one at a time, in the
        order they arrived, whichever replica received them.

        Each message joins a per-conversation queue (a Redis list) and proceeds when it is at
        the head. Every entry has a lease; an entry whose lease expired (its replica died)
        is dropped by the next waiter, so a crash delays the queue but never blocks it.
        """
        queue = self._keys.turns(conv.channel, conv.chat_id)
        token = uuid.uuid4().hex
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.set(self._keys.turn_lease(token), "1", ex=TURN_LEASE_S)
                pipe.rpush(queue, token)
                pipe.expire(queue, TURN_LEASE_S)
                await pipe.execute()
            await self._wait_for_head(queue, token, conv)
        except RedisError as exc:
            raise StateUnavailableError("Redis is unavailable") from exc
        try:
            yield
        finally:
            # Redis may have gone away meanwhile; the lease's TTL frees the queue either way.
            with contextlib.suppress(RedisError):
                async with self._redis.pipeline(transaction=True) as pipe:
                    pipe.lrem(queue, 1, token)
                    pipe.delete(self._keys.turn_lease(token))
                    await pipe.execute()

    async def _wait_for_head(self, queue: str, token: str, conv: ConversationId) -> None:
        deadline = time.monotonic() + TURN_WAIT_S
        while True:
            raw = await self._redis.lindex(queue, 0)
            head = raw.decode() if isinstance(raw, bytes) else raw
            if head is None or head == token:
                return  # None: the queue was lost (Redis restarted without it); go on
            if not await self._redis.exists(self._keys.turn_lease(head)):
                await self._redis.lrem(queue, 1, head)  # its replica died while holding it
                continue
            if time.monotonic() > deadline:
                await self._redis.lrem(queue, 1, token)
                # No sender id in the message: it ends up in logs.
                raise ConversationBusyError(f"a {conv.channel} conversation is busy")
            await asyncio.sleep(TURN_POLL_S)

    async def record(self, conv: ConversationId, role: Role, text: str, **extra: Any) -> None:
        """Append to the bounded message log and refresh last-seen and TTLs."""
        entry = json.dumps(
            {"ts": time.time(), "role": role, "text": text, **extra}, ensure_ascii=False
        )
        conv_key = self._keys.conversation(conv.channel, conv.chat_id)
        log_key = self._keys.log(conv.channel, conv.chat_id)
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hset(
                    conv_key,
                    mapping={
                        "channel": conv.channel,
                        "chat_id": conv.chat_id,
                        "last_seen": f"{time.time():.3f}",
                    },
                )
                pipe.rpush(log_key, entry)
                pipe.ltrim(log_key, -LOG_LENGTH, -1)
                pipe.expire(conv_key, self._ttl)
                pipe.expire(log_key, self._ttl)
                await pipe.execute()
        except RedisError as exc:
            raise StateUnavailableError("Redis is unavailable") from exc

    async def update(self, conv: ConversationId, **fields: str) -> None:
        """Set fields of the conversation hash (address, script, hand-off state, …)."""
        key = self._keys.conversation(conv.channel, conv.chat_id)
        mapping: dict[FieldT, EncodableT] = dict(fields.items())
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hset(key, mapping=mapping)
                pipe.expire(key, self._ttl)
                await pipe.execute()
        except RedisError as exc:
            raise StateUnavailableError("Redis is unavailable") from exc

    async def forget(self, conv: ConversationId) -> int:
        """Delete every key that holds data about this user; returns how many existed."""
        try:
            deleted: int = await self._redis.delete(
                *self._keys.user_keys(conv.channel, conv.chat_id)
            )
        except RedisError as exc:
            raise StateUnavailableError("Redis is unavailable") from exc
        return deleted

    async def history(self, conv: ConversationId) -> list[dict[str, Any]]:
        """Return the message log, oldest first."""
        try:
            raw = await self._redis.lrange(self._keys.log(conv.channel, conv.chat_id), 0, -1)
        except RedisError as exc:
            raise StateUnavailableError("Redis is unavailable") from exc
        return [json.loads(item) for item in raw]

    async def state(self, conv: ConversationId) -> dict[str, str]:
        """Return the conversation hash (empty when unknown)."""
        try:
            raw = await self._redis.hgetall(self._keys.conversation(conv.channel, conv.chat_id))
        except RedisError as exc:
            raise StateUnavailableError("Redis is unavailable") from exc
        return as_strs(raw)

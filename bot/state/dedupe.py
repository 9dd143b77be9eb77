"""Inbound-message deduplication: the first replica to see a message id wins."""

from __future__ import annotations

import asyncio
import uuid

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.state.keys import Keys
from bot.state.redis import StateUnavailableError

DEDUPE_TTL_S = 600
CLAIM_TRIES = 3
CLAIM_RETRY_S = 0.05


async def claim(redis: Redis, key: str, ttl_s: int) -> bool:
    """True for exactly one caller per `key` within `ttl_s`, across replicas.

    A dropped connection (Redis restarted since the pooled connection was opened) is tried
    again on a fresh one. The claim carries a token of its own, so a retry can tell "I set it
    before the connection broke" from "someone else has it".
    """
    token = uuid.uuid4().hex
    for attempt in range(CLAIM_TRIES):
        try:
            if await redis.set(key, token, nx=True, ex=ttl_s):
                return True
            return bool(attempt) and await redis.get(key) == token
        except RedisError as exc:
            if attempt + 1 == CLAIM_TRIES:
                raise StateUnavailableError("Redis is unavailable") from exc
            await asyncio.sleep(CLAIM_RETRY_S * 2**attempt)
    raise AssertionError("unreachable")  # pragma: no cover


async def first_sighting(redis: Redis, keys: Keys, channel: str, message_id: str) -> bool:
    """True exactly once per (channel, message id) within the TTL, across replicas."""
    return await claim(redis, keys.dedupe(channel, message_id), DEDUPE_TTL_S)

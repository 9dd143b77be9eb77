"""Inbound-message deduplication: the first replica to see a message id wins."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.state.keys import Keys
from bot.state.redis import StateUnavailableError

DEDUPE_TTL_S = 600


async def first_sighting(redis: Redis, keys: Keys, channel: str, message_id: str) -> bool:
    """True exactly once per (channel, message id) within the TTL, across replicas."""
    try:
        created = await redis.set(keys.dedupe(channel, message_id), "1", nx=True, ex=DEDUPE_TTL_S)
    except RedisError as exc:
        raise StateUnavailableError("Redis is unavailable") from exc
    return bool(created)

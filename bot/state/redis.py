"""Opening the Redis connection, or the embedded in-process store when none is configured."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis

log = logging.getLogger(__name__)


class StateError(Exception):
    """Base class for conversation-state failures."""


class StateUnavailableError(StateError):
    """Redis could not be reached."""


@asynccontextmanager
async def open_redis(url: str | None) -> AsyncIterator[Redis]:
    """Yield a Redis client for `url`, or an embedded fakeredis server when `url` is None."""
    client: Redis
    if url is None:
        import fakeredis

        log.warning(
            "REDIS_URL is not set: using the embedded in-process store; "
            "conversation state is NOT persistent and is lost when the bot stops"
        )
        client = fakeredis.FakeAsyncRedis(decode_responses=True)
    else:
        client = Redis.from_url(
            url,
            decode_responses=True,
            socket_timeout=5,
            socket_connect_timeout=3,
            health_check_interval=30,
        )
    try:
        yield client
    finally:
        await client.aclose()

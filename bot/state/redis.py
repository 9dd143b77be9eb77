"""Opening the Redis connection, or the embedded in-process store when none is configured."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

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


def as_strs(raw: Mapping[Any, Any]) -> dict[str, str]:
    """A Redis hash or stream entry as `str -> str` (the client decodes, but is typed loosely)."""
    return {str(k): str(v) for k, v in raw.items()}


def entries(raw: object) -> list[tuple[str, dict[str, str]]]:
    """Stream entries from XRANGE/XREAD/XAUTOCLAIM as `(id, fields)`, skipping deleted ones."""
    if not isinstance(raw, list):
        return []
    return [(str(entry_id), as_strs(fields)) for entry_id, fields in raw if fields]


def read_entries(raw: object) -> list[tuple[str, dict[str, str]]]:
    """Flatten an XREAD/XREADGROUP reply (`[[stream, entries], ...]`) into `(id, fields)`."""
    if not isinstance(raw, list):
        return []
    return [entry for _, found in raw for entry in entries(found)]

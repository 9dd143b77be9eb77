"""Opening the Redis connection, or the embedded in-process store when none is configured."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis

log = logging.getLogger(__name__)


class StateError(Exception):
    """Base class for conversation-state failures."""


class StateUnavailableError(StateError):
    """Redis could not be reached."""


POOL_WAIT_S = 5.0
"""How long a command waits for a free connection when all of them are in use."""


@asynccontextmanager
async def open_redis(url: str | None, *, max_connections: int = 500) -> AsyncIterator[Redis]:
    """Yield a Redis client for `url`, or an embedded fakeredis server when `url` is None.

    At most `max_connections` connections; beyond that a command waits for a free one (up to
    `POOL_WAIT_S`) rather than failing, as redis-py's default pool does past 100.
    """
    client: Redis
    if url is None:
        import fakeredis

        log.warning(
            "REDIS_URL is not set: using the embedded in-process store; "
            "conversation state is NOT persistent and is lost when the bot stops"
        )
        client = fakeredis.FakeAsyncRedis(decode_responses=True)
    else:
        # Each open event stream holds a connection in a blocking XREAD, and a burst of
        # messages needs one per request in flight.
        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=POOL_WAIT_S,
            decode_responses=True,
            socket_timeout=5,
            socket_connect_timeout=3,
            health_check_interval=30,
        )
        client = Redis(connection_pool=pool)
    try:
        yield client
    finally:
        # A client built on our own pool does not close it: both go.
        await client.aclose(close_connection_pool=True)


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

"""Server-Sent Events fed from a Redis stream, for the web chat and the desk console.

The stream entry id is the SSE event id, so a browser that reconnects sends it back as
`Last-Event-ID` and misses nothing that is still in the stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.errors import error_response
from bot.state.redis import read_entries

log = logging.getLogger(__name__)

STOPPING = web.AppKey("sse_stopping", asyncio.Event)
BLOCK_MS = 2000  # below the client's 5 s socket timeout
KEEPALIVE_S = 15.0
MAX_LIFETIME_S = 600.0  # browsers reconnect on their own; long-lived handlers would pile up
RETRY_MS = 2000
_STREAM_ID = re.compile(r"(\d{1,20})-(\d{1,20})")
_ID_PART_MAX = 2**64 - 1

Render = Callable[[str, dict[str, str]], tuple[str, dict[str, Any]] | None]
"""Turns a stream entry into (event name, JSON data), or None to skip it."""


def setup(app: web.Application) -> None:
    """Let open event streams end when the app shuts down."""

    async def stopping_ctx(app: web.Application) -> AsyncIterator[None]:
        app[STOPPING] = asyncio.Event()
        yield

    async def on_shutdown(app: web.Application) -> None:
        app[STOPPING].set()

    app.cleanup_ctx.append(stopping_ctx)
    app.on_shutdown.append(on_shutdown)


def _start_id(request: web.Request) -> str | None:
    """`Last-Event-ID` (or `?after=`) when it is a valid stream id."""
    given = request.headers.get("Last-Event-ID") or request.query.get("after") or ""
    # Whole string, and parts Redis accepts: a trailing newline or an id past 2^64 would
    # give a stream that fails every read.
    found = _STREAM_ID.fullmatch(given)
    if found is None or any(int(part) > _ID_PART_MAX for part in found.groups()):
        return None
    return given


async def subscribe(
    request: web.Request, redis: Redis, stream: str, render: Render
) -> web.StreamResponse:
    """Stream `stream` from the client's last seen id, or from now for a new subscriber."""
    after = _start_id(request)
    if after is None:
        try:
            newest = await redis.xrevrange(stream, count=1)
        except RedisError:
            return error_response(503, "temporarily_unavailable", "Please try again shortly.")
        after = str(newest[0][0]) if newest else "0-0"
    return await respond(request, redis, stream, after, render)


async def respond(
    request: web.Request, redis: Redis, stream: str, after: str, render: Render
) -> web.StreamResponse:
    """Stream the entries after `after` until the client leaves or the app stops."""
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",  # nginx would hold the events back otherwise
        }
    )
    await response.prepare(request)
    stopping = request.app[STOPPING]
    started = last_write = time.monotonic()
    with contextlib.suppress(ConnectionResetError, asyncio.CancelledError):
        await response.write(f"retry: {RETRY_MS}\n\n".encode())
        while not stopping.is_set() and time.monotonic() - started < MAX_LIFETIME_S:
            try:
                result = await redis.xread({stream: after}, block=BLOCK_MS, count=100)
            except RedisError as exc:
                log.warning("event stream paused, Redis unavailable: %s", exc)
                await asyncio.sleep(1.0)
                continue
            for entry_id, fields in read_entries(result):
                after = entry_id
                rendered = render(after, fields)
                if rendered is None:
                    continue
                name, data = rendered
                payload = json.dumps(data, ensure_ascii=False)
                await response.write(f"id: {after}\nevent: {name}\ndata: {payload}\n\n".encode())
                last_write = time.monotonic()
            if time.monotonic() - last_write >= KEEPALIVE_S:
                await response.write(b": keepalive\n\n")
                last_write = time.monotonic()
    return response

"""`GET /healthz`: pings Redis, Rasa and the action server, and reports each one."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web
from redis.exceptions import RedisError

from bot.clients.rasa import RasaError
from bot.keys import HTTP, RASA, REDIS, SETTINGS

routes = web.RouteTableDef()
CHECK_TIMEOUT_S = 2.0


async def _check(probe: Callable[[], Awaitable[str]]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        detail = await asyncio.wait_for(probe(), CHECK_TIMEOUT_S)
    except (RasaError, RedisError, aiohttp.ClientError, OSError, TimeoutError) as exc:
        return {
            "ok": False,
            "error": type(exc).__name__,
            "ms": round((time.perf_counter() - started) * 1000, 1),
        }
    return {"ok": True, "detail": detail, "ms": round((time.perf_counter() - started) * 1000, 1)}


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    """200 when every dependency answers, else 503; the body names each one."""
    app = request.app
    settings = app[SETTINGS]

    async def redis() -> str:
        await app[REDIS].ping()
        return "embedded" if settings.redis_url is None else "redis"

    async def rasa() -> str:
        return await app[RASA].version()

    async def actions() -> str:
        async with app[HTTP].get(
            settings.action_server_url + "/health",
            timeout=aiohttp.ClientTimeout(total=CHECK_TIMEOUT_S),
        ) as resp:
            resp.raise_for_status()
            return "ok"

    names = ("redis", "rasa", "action_server")
    results = await asyncio.gather(_check(redis), _check(rasa), _check(actions))
    checks = dict(zip(names, results, strict=True))
    healthy = all(c["ok"] for c in checks.values())
    return web.json_response(
        {"status": "ok" if healthy else "degraded", "checks": checks},
        status=200 if healthy else 503,
    )

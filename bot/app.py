"""The aiohttp application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from bot import health
from bot.channels import telegram, wechat
from bot.channels import web as web_channel
from bot.chat import ChatService
from bot.clients.rasa import RasaClient
from bot.errors import json_errors
from bot.keys import CHAT, CONVERSATIONS, HTTP, RASA, REDIS, SETTINGS
from bot.settings import Settings
from bot.state.conversations import Conversations
from bot.state.keys import Keys
from bot.state.ratelimit import RateLimiter
from bot.state.redis import open_redis

log = logging.getLogger(__name__)
DAY_S = 86_400


async def _redis_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    async with open_redis(settings.redis_url) as redis:
        app[REDIS] = redis
        app[CONVERSATIONS] = Conversations(
            redis, Keys(settings.redis_key_prefix), ttl_s=settings.conversation_ttl_days * DAY_S
        )
        yield


async def _http_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    # One pooled session for every outgoing call; keep-alive matters for latency.
    connector = aiohttp.TCPConnector(limit=100, ttl_dns_cache=300)
    async with aiohttp.ClientSession(connector=connector) as session:
        app[HTTP] = session
        token = settings.rasa_token.get_secret_value() if settings.rasa_token else None
        app[RASA] = RasaClient(
            session,
            settings.rasa_url,
            timeout_s=settings.rasa_timeout_s,
            retries=settings.rasa_retries,
            token=token,
        )
        yield


async def _chat_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    limiter = RateLimiter(
        app[REDIS],
        Keys(settings.redis_key_prefix),
        per_minute=settings.rate_limit_per_minute,
        burst=settings.rate_limit_burst,
    )
    app[CHAT] = ChatService(app[RASA], app[CONVERSATIONS], limiter)
    yield


def create_app(settings: Settings) -> web.Application:
    """Build the bot's web application; resources open and close with the app."""
    app = web.Application(middlewares=[json_errors], client_max_size=64 * 1024)
    app[SETTINGS] = settings
    app.cleanup_ctx.extend([_redis_ctx, _http_ctx, _chat_ctx])
    app.add_routes(health.routes)
    app.add_routes(web_channel.routes)
    # Each messaging channel is a no-op unless its settings are present.
    telegram.setup(app)
    wechat.setup(app)
    return app

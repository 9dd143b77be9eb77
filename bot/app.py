"""The aiohttp application factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from bot import health, sse
from bot.channels import telegram, wechat
from bot.channels import web as web_channel
from bot.channels.web_inbox import WebInbox
from bot.channels.web_sessions import WebSessions
from bot.chat import ChatService
from bot.clients.rasa import RasaClient
from bot.desk import api as desk_api
from bot.desk import auth as desk_auth
from bot.desk import console as desk_console
from bot.desk.agents import AgentDirectory
from bot.desk.delivery import DeliveryWorker
from bot.desk.hours import DeskHours
from bot.desk.outbox import Outbox
from bot.desk.service import Desk
from bot.desk.sessions import SessionStore
from bot.desk.tickets import TicketStore
from bot.desk.unanswered import UnansweredLog
from bot.errors import json_errors
from bot.keys import (
    AGENTS,
    CHAT,
    CONVERSATIONS,
    DESK,
    HTTP,
    LOGIN_LIMITER,
    RASA,
    REDIS,
    SENDERS,
    SESSIONS,
    SETTINGS,
    UNANSWERED,
    WEB_INBOX,
    WEB_SESSION_LIMITER,
    WEB_SESSIONS,
)
from bot.settings import Settings
from bot.state.conversations import Conversations
from bot.state.keys import Keys
from bot.state.ratelimit import RateLimiter
from bot.state.redis import open_redis

log = logging.getLogger(__name__)
DAY_S = 86_400
HOURS = web.AppKey("desk_hours", DeskHours)
LOGIN_PER_MINUTE = 10.0
LOGIN_BURST = 5
STOP_TIMEOUT_S = 5.0


async def _redis_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    async with open_redis(
        settings.redis_url, max_connections=settings.redis_max_connections
    ) as redis:
        app[REDIS] = redis
        keys = Keys(settings.redis_key_prefix)
        ttl_s = settings.conversation_ttl_days * DAY_S
        app[CONVERSATIONS] = Conversations(redis, keys, ttl_s=ttl_s)
        app[WEB_INBOX] = WebInbox(redis, keys, ttl_s=ttl_s)
        app[WEB_SESSIONS] = WebSessions(redis, keys, ttl_s=ttl_s)
        app[WEB_SESSION_LIMITER] = RateLimiter(
            redis,
            keys,
            per_minute=settings.web_session_rate_per_minute,
            burst=settings.web_session_burst,
        )
        app[SENDERS]["web"] = app[WEB_INBOX].send
        app[UNANSWERED] = UnansweredLog(redis, keys)
        app[SESSIONS] = SessionStore(redis, keys)
        app[LOGIN_LIMITER] = RateLimiter(
            redis, keys, per_minute=LOGIN_PER_MINUTE, burst=LOGIN_BURST
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
            max_in_flight=settings.rasa_max_in_flight,
        )
        yield


async def _chat_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    redis, keys = app[REDIS], Keys(settings.redis_key_prefix)
    retention_s = settings.desk_retention_days * DAY_S
    tickets = TicketStore(redis, keys, retention_s=retention_s)
    app[DESK] = Desk(
        redis,
        keys,
        tickets,
        Outbox(redis, keys, retention_s=retention_s),
        app[CONVERSATIONS],
        app[RASA],
        app[HOURS],
        enabled=app[AGENTS].enabled,
        transcript_turns=settings.desk_transcript_turns,
        team_chat=settings.desk_telegram_chat_id,
    )
    limiter = RateLimiter(
        redis, keys, per_minute=settings.rate_limit_per_minute, burst=settings.rate_limit_burst
    )
    app[CHAT] = ChatService(app[RASA], app[CONVERSATIONS], limiter, app[DESK], app[UNANSWERED])
    yield


async def _delivery_ctx(app: web.Application) -> AsyncIterator[None]:
    # Registered after the channels, so their senders exist before the first delivery.
    settings = app[SETTINGS]
    desk = app[DESK]
    worker = DeliveryWorker(
        desk.outbox,
        desk.tickets,
        app[SENDERS],
        attempts=settings.desk_delivery_attempts,
        retry_s=settings.desk_delivery_retry_s,
    )
    task = asyncio.create_task(worker.run(), name="desk-delivery")
    yield
    # Stopping between reads, not cancelling: redis-py can swallow a cancellation that lands
    # inside a blocking XREADGROUP, and the task would then never end.
    worker.stop()
    try:
        await asyncio.wait_for(asyncio.shield(task), STOP_TIMEOUT_S)
    except TimeoutError:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def create_app(settings: Settings) -> web.Application:
    """Build the bot's web application; resources open and close with the app."""
    app = web.Application(middlewares=[json_errors, desk_auth.desk_auth], client_max_size=64 * 1024)
    app[SETTINGS] = settings
    # Configuration errors stop the start with a clear message, not at the first escalation.
    app[AGENTS] = AgentDirectory.parse(settings.desk_agents)
    app[HOURS] = DeskHours.parse(settings.desk_hours, settings.desk_timezone)
    app[SENDERS] = {}
    app.cleanup_ctx.extend([_redis_ctx, _http_ctx, _chat_ctx])
    sse.setup(app)
    app.add_routes(health.routes)
    app.add_routes(web_channel.routes)
    app.add_routes(desk_console.routes)
    app.add_routes(desk_auth.routes)
    app.add_routes(desk_api.routes)
    # Each messaging channel is a no-op unless its settings are present.
    telegram.setup(app)
    wechat.setup(app)
    app.cleanup_ctx.append(_delivery_ctx)
    if not app[AGENTS].enabled:
        log.info("DESK_AGENTS is empty: the service desk is off, hand-offs are declined")
    return app

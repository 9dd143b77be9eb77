"""Typed application keys for objects shared through the aiohttp app."""

from __future__ import annotations

import aiohttp
from aiohttp import web
from redis.asyncio import Redis

from bot.channels.web_inbox import WebInbox
from bot.channels.web_sessions import WebSessions
from bot.chat import ChatService
from bot.clients.rasa import RasaClient
from bot.desk.agents import AgentDirectory
from bot.desk.delivery import Sender
from bot.desk.service import Desk
from bot.desk.sessions import SessionStore
from bot.desk.unanswered import UnansweredLog
from bot.settings import Settings
from bot.state.conversations import Conversations
from bot.state.ratelimit import RateLimiter

SETTINGS = web.AppKey("settings", Settings)
REDIS = web.AppKey("redis", Redis)
HTTP = web.AppKey("http", aiohttp.ClientSession)
RASA = web.AppKey("rasa", RasaClient)
CONVERSATIONS = web.AppKey("conversations", Conversations)
CHAT = web.AppKey("chat", ChatService)
WEB_INBOX = web.AppKey("web_inbox", WebInbox)
WEB_SESSIONS = web.AppKey("web_sessions", WebSessions)
WEB_SESSION_LIMITER = web.AppKey("web_session_limiter", RateLimiter)
DESK = web.AppKey("desk", Desk)
UNANSWERED = web.AppKey("unanswered", UnansweredLog)
AGENTS = web.AppKey("agents", AgentDirectory)
SESSIONS = web.AppKey("desk_sessions", SessionStore)
LOGIN_LIMITER = web.AppKey("desk_login_limiter", RateLimiter)
SENDERS: web.AppKey[dict[str, Sender]] = web.AppKey("senders", dict)
"""Each running channel registers how to send a message to one of its chats (desk replies)."""

"""Typed application keys for objects shared through the aiohttp app."""

from __future__ import annotations

import aiohttp
from aiohttp import web
from redis.asyncio import Redis

from bot.chat import ChatService
from bot.clients.rasa import RasaClient
from bot.settings import Settings
from bot.state.conversations import Conversations

SETTINGS = web.AppKey("settings", Settings)
REDIS = web.AppKey("redis", Redis)
HTTP = web.AppKey("http", aiohttp.ClientSession)
RASA = web.AppKey("rasa", RasaClient)
CONVERSATIONS = web.AppKey("conversations", Conversations)
CHAT = web.AppKey("chat", ChatService)

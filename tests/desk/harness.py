"""A bot app with the desk on: real Redis, a scripted Rasa and a fake Telegram Bot API."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.channels import telegram
from bot.channels.contract import WebSession
from bot.desk.agents import hash_token
from bot.keys import DESK, WEB_SESSIONS
from bot.launcher import free_port
from bot.settings import Settings
from tests.auxil.fake_rasa_replies import ScriptedRasa
from tests.auxil.fake_telegram import TOKEN, FakeTelegram, serve

TOKENS = {
    "alice": "alice-token-0123456789",
    "bob": "bob-token-0123456789",
    "root": "root-token-0123",
}
DESK_AGENTS = ",".join(
    f"{name}:{'admin' if name == 'root' else 'agent'}:{hash_token(token)}"
    for name, token in TOKENS.items()
)
TG_SECRET = "desk-secret-1"
BotClient = TestClient[web.Request, web.Application]


def bearer(agent: str) -> dict[str, str]:
    """The Authorization header of one agent."""
    return {"Authorization": f"Bearer {TOKENS[agent]}"}


@dataclass
class DeskHarness:
    """The running app, its fakes and the settings it was built with."""

    client: BotClient
    rasa: ScriptedRasa
    tg: FakeTelegram
    settings: Settings
    sessions: dict[str, WebSession] = field(default_factory=dict)

    @property
    def app(self) -> web.Application:
        return self.client.app

    async def session(self, sender: str, *, renew: bool = False) -> WebSession:
        """A web chat session under the sender id the test chose (the page gets a random one).

        Issued in-process by the same session store the web route uses; a restarted bot on the
        same Redis keeps the sessions of the one before.
        """
        if renew or sender not in self.sessions:
            self.sessions[sender] = await self.app[WEB_SESSIONS].issue(sender)
        return self.sessions[sender]

    async def chat(self, sender: str, text: str) -> dict[str, Any]:
        """POST /api/chat in the sender's session and return the JSON answer.

        Like the page, a 401 (the session was deleted by /forget) opens a new session.
        """
        for renew in (False, True):
            session = await self.session(sender, renew=renew)
            resp = await self.client.post(
                "/api/chat", json={"sender": sender, "text": text}, headers=session.headers
            )
            if resp.status != 401:
                break
        assert resp.status == 200, await resp.text()
        body: dict[str, Any] = await resp.json()
        return body

    async def events(self, sender: str, after: str = "0-0") -> aiohttp.ClientResponse:
        """Open the sender's pushed-message stream (`GET /api/chat/events`) with its token."""
        session = await self.session(sender)
        resp = await self.client.get(
            "/api/chat/events", params={**session.events_params(), "after": after}
        )
        assert resp.status == 200, await resp.text()
        return resp

    async def api(
        self, method: str, path: str, agent: str = "alice", status: int = 200, **kwargs: Any
    ) -> dict[str, Any]:
        """Call the desk API as `agent` (bearer token) and check the status."""
        headers = {**bearer(agent), **kwargs.pop("headers", {})}
        resp = await self.client.request(method, path, headers=headers, **kwargs)
        body: dict[str, Any] = await resp.json()
        assert resp.status == status, body
        return body

    async def only_ticket(self) -> dict[str, Any]:
        tickets = (await self.api("GET", "/desk/api/tickets"))["tickets"]
        assert len(tickets) == 1, tickets
        ticket: dict[str, Any] = tickets[0]
        return ticket

    async def telegram_update(self, update: dict[str, Any]) -> None:
        resp = await self.client.post(
            telegram.WEBHOOK_PATH, json=update, headers={telegram.SECRET_HEADER: TG_SECRET}
        )
        assert resp.status == 200, await resp.text()

    async def delivered(self, ticket_id: str, count: int, within_s: float = 10.0) -> list[Any]:
        """Wait until `count` deliveries of the ticket are settled (delivered or failed)."""
        desk = self.app[DESK]
        deadline = time.monotonic() + within_s
        while True:
            events = await desk.tickets.events(ticket_id)
            done = [e for e in events if e.type in ("delivered", "delivery_failed")]
            if len(done) >= count:
                return done
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(done)} of {count} deliveries settled: {events}")
            await asyncio.sleep(0.05)


def desk_settings(redis_url: str | None, rasa_url: str, tg_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "rasa_url": rasa_url,
        "rasa_retries": 0,
        "redis_url": redis_url,
        "redis_key_prefix": f"t{uuid.uuid4().hex[:8]}:",
        "action_server_url": f"http://127.0.0.1:{free_port()}",
        "desk_agents": DESK_AGENTS,
        "desk_hours": "always",
        "desk_delivery_retry_s": 0.3,
        "rate_limit_burst": 100,
        "telegram_bot_token": TOKEN,
        "telegram_api_base_url": f"{tg_url}/bot",
        "telegram_webhook_url": "https://bot.example.org/telegram/webhook",
        "telegram_webhook_secret": TG_SECRET,
        **overrides,
    }
    return Settings(**values)


@asynccontextmanager
async def desk_bot(
    redis_url: str | None, *, rasa_url: str | None = None, **overrides: Any
) -> AsyncIterator[DeskHarness]:
    """Fakes first, then the bot app; stopped in reverse order.

    With `rasa_url` the bot talks to that (real) Rasa instead of the scripted one.
    """
    tg, rasa = FakeTelegram(), ScriptedRasa()
    async with serve(tg.app()) as tg_server, serve(rasa.app()) as rasa_server:
        tg_url = str(tg_server.make_url("")).rstrip("/")
        rasa_url = rasa_url or str(rasa_server.make_url(""))
        settings = desk_settings(redis_url, rasa_url, tg_url, **overrides)
        async with TestClient(TestServer(create_app(settings))) as client:
            yield DeskHarness(client, rasa, tg, settings)

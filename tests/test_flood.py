"""Per-user rate limits under a flood: the flooder is told to slow down, and the flood never
reaches Rasa, so other users keep their share of it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.chat import RATE_LIMITED_TEXT
from bot.launcher import free_port
from bot.settings import Settings
from tests.auxil.fake_rasa import FakeRasa

ClientFactory = Callable[[web.Application], Awaitable[TestClient[web.Request, web.Application]]]
ServerFactory = Callable[[web.Application], Awaitable[TestServer]]
FLOOD = 300
BURST = 5


async def test_one_users_flood_is_refused_before_rasa_and_others_are_answered(
    aiohttp_client: ClientFactory, aiohttp_server: ServerFactory, redis_url: str
) -> None:
    rasa = FakeRasa(delay_s=0.05)
    server = await aiohttp_server(rasa.app())
    settings = Settings(
        rasa_url=str(server.make_url("")),
        redis_url=redis_url,
        redis_key_prefix=f"t{uuid.uuid4().hex[:8]}:",
        rate_limit_per_minute=20,
        rate_limit_burst=BURST,
        rasa_max_in_flight=2,
        action_server_url=f"http://127.0.0.1:{free_port()}",
    )
    client = await aiohttp_client(create_app(settings))

    async def session() -> tuple[str, dict[str, str]]:
        body = await (await client.post("/api/chat/session")).json()
        return body["sender"], {"Authorization": f"Bearer {body['token']}"}

    async def say(user: tuple[str, dict[str, str]], text: str) -> dict[str, Any]:
        sender, auth = user
        resp = await client.post("/api/chat", json={"sender": sender, "text": text}, headers=auth)
        assert resp.status == 200, await resp.text()
        answer: dict[str, Any] = await resp.json()
        return answer

    flooder, others = await session(), [await session() for _ in range(4)]
    flood = [asyncio.create_task(say(flooder, f"刷屏{i}")) for i in range(FLOOD)]
    # The others write while the flood is under way, each at a human pace.
    answers = []
    for round_ in range(BURST):
        answers += await asyncio.gather(*(say(o, f"第{round_}个问题") for o in others))
    flooded = await asyncio.gather(*flood)

    assert all(a["intent"]["name"] == "greet" for a in answers)
    refused = [a for a in flooded if a["replies"][0]["text"] == RATE_LIMITED_TEXT]
    # The bucket lets the burst (and what refills meanwhile) through, and nothing else.
    assert len(refused) >= FLOOD - BURST - 2
    assert refused[0]["intent"]["name"] == ""
    flooder_at_rasa = [m for m in rasa.received if m["sender"] == f"web:{flooder[0]}"]
    assert len(flooder_at_rasa) == FLOOD - len(refused)
    assert len(rasa.received) == len(flooder_at_rasa) + len(answers)

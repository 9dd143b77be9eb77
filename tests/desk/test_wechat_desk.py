"""A WeChat user handed to the desk: the agent's reply arrives as a customer-service message."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from wechatpy import parse_message

from bot.app import create_app
from bot.desk.service import CLAIMED_TEXT, CLOSED_TEXT
from bot.launcher import free_port
from bot.settings import Settings
from tests.auxil.fake_rasa_replies import ScriptedRasa
from tests.auxil.fake_wechat import (
    APP_ID,
    APP_SECRET,
    TOKEN,
    FakeWeChatApi,
    message_xml,
    signed_query,
)
from tests.desk.harness import DESK_AGENTS, bearer

Client = TestClient[web.Request, web.Application]
OPENID = "oUser0001"


async def test_a_wechat_user_gets_the_agents_reply_as_a_customer_service_message(
    aiohttp_client: Callable[[web.Application], Awaitable[Client]],
    aiohttp_server: Callable[[web.Application], Awaitable[TestServer]],
    redis_url: str,
) -> None:
    rasa, api = ScriptedRasa(), FakeWeChatApi()
    rasa_server, api_server = await aiohttp_server(rasa.app()), await aiohttp_server(api.app())
    values: dict[str, Any] = {
        "rasa_url": str(rasa_server.make_url("")),
        "rasa_retries": 0,
        "redis_url": redis_url,
        "redis_key_prefix": f"wx{uuid.uuid4().hex[:8]}:",
        "action_server_url": f"http://127.0.0.1:{free_port()}",
        "wechat_token": TOKEN,
        "wechat_app_id": APP_ID,
        "wechat_app_secret": APP_SECRET,
        "wechat_api_base_url": str(api_server.make_url("")),
        "desk_agents": DESK_AGENTS,
        "desk_hours": "always",
        "desk_delivery_retry_s": 0.3,
    }
    client = await aiohttp_client(create_app(Settings(**values)))

    async def say(text: str, msg_id: str) -> str:
        resp = await client.post(
            "/wechat", params=signed_query(), data=message_xml(content=text, msg_id=msg_id).encode()
        )
        assert resp.status == 200
        body = await resp.text()
        return "" if body == "success" else str(parse_message(body).content)

    passive = await say("/request_human", "2000001")
    assert "排在第 1 位" in passive
    tickets = await (await client.get("/desk/api/tickets", headers=bearer("alice"))).json()
    (ticket,) = tickets["tickets"]
    assert (ticket["channel"], ticket["chat_id"]) == ("wechat", OPENID)

    path = f"/desk/api/tickets/{ticket['id']}"
    assert (await client.post(path + "/claim", headers=bearer("alice"))).status == 200
    reply = await client.post(path + "/replies", headers=bearer("alice"), json={"text": "您好"})
    assert reply.status == 201
    await api.wait_sent(2)
    assert api.texts(OPENID) == [CLAIMED_TEXT, "您好"]

    assert await say("我想问问补贴", "2000002") == ""  # the agent has it; the bot is quiet
    detail = await (await client.get(path, headers=bearer("alice"))).json()
    assert [e["text"] for e in detail["events"] if e["type"] == "message"] == ["我想问问补贴"]

    assert (await client.post(path + "/close", headers=bearer("alice"))).status == 200
    await api.wait_sent(3)
    assert api.texts(OPENID)[-1] == CLOSED_TEXT

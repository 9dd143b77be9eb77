"""The bot's HTTP layer: the `/api/chat` contract, bad input, Rasa outages, the page."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.channels.contract import WebSession
from bot.chat import BUSY_TEXT, FORGOTTEN_TEXT, RATE_LIMITED_TEXT
from bot.keys import CONVERSATIONS
from bot.launcher import free_port
from bot.settings import Settings
from bot.state.conversations import ConversationId
from tests.auxil.fake_rasa import FakeRasa

ClientFactory = Callable[[web.Application], Awaitable[TestClient[web.Request, web.Application]]]
ServerFactory = Callable[[web.Application], Awaitable[TestServer]]
Client = TestClient[web.Request, web.Application]


async def new_session(client: Client) -> WebSession:
    """Open a web chat session the way the page does."""
    resp = await client.post("/api/chat/session")
    assert resp.status == 201, await resp.text()
    data = await resp.json()
    return WebSession(data["sender"], data["token"])


async def say(client: Client, session: WebSession, text: str) -> dict[str, Any]:
    """POST one message in the session and return the 200 answer."""
    resp = await client.post(
        "/api/chat", json={"sender": session.sender, "text": text}, headers=session.headers
    )
    assert resp.status == 200, await resp.text()
    data: dict[str, Any] = await resp.json()
    return data


@pytest.fixture
def fake_rasa() -> FakeRasa:
    return FakeRasa()


@pytest.fixture
async def client(
    aiohttp_client: ClientFactory, aiohttp_server: ServerFactory, fake_rasa: FakeRasa
) -> TestClient[web.Request, web.Application]:
    server = await aiohttp_server(fake_rasa.app())
    settings = Settings(
        rasa_url=str(server.make_url("")),
        redis_url=None,
        max_text_chars=50,
        rasa_timeout_s=1.0,
        rasa_retries=1,
        action_server_url=f"http://127.0.0.1:{free_port()}",
    )
    return await aiohttp_client(create_app(settings))


async def test_chat_returns_the_contract_shape(
    client: TestClient[web.Request, web.Application], fake_rasa: FakeRasa
) -> None:
    session = await new_session(client)
    assert await say(client, session, "  你好  ") == {
        "replies": [
            {"text": "echo: 你好", "buttons": [{"title": "人才", "payload": "/ask_talent"}]}
        ],
        "intent": {"name": "greet", "confidence": 0.97},
        "entities": {"region": "嘉定区"},
        "sources": ["doc-a"],
        "escalated": False,
    }
    assert fake_rasa.received[0]["sender"] == f"web:{session.sender}"
    assert fake_rasa.received[0]["message"] == "你好"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, "invalid_json"),
        (b"\xff\xfe", 400, "invalid_json"),
        (b'{"sender": "SENDER", "text": "\\ud800"}', 400, "invalid_json"),
        (b"[" * 5000, 400, "invalid_json"),
        (b"[1, 2]", 400, "invalid_body"),
        (b'{"text": "hi"}', 422, "invalid_fields"),
        (b'{"sender": "SENDER"}', 422, "invalid_fields"),
        (b'{"sender": 5, "text": "hi"}', 422, "invalid_fields"),
        (b'{"sender": "SENDER", "text": "   "}', 422, "empty_text"),
        (b'{"sender": "", "text": "hi"}', 422, "invalid_fields"),
        (b'{"sender": "SENDER", "text": "' + "长".encode() * 51 + b'"}', 413, "text_too_long"),
    ],
)
async def test_bad_input_gets_a_json_4xx_and_never_reaches_rasa(
    client: TestClient[web.Request, web.Application],
    fake_rasa: FakeRasa,
    body: bytes,
    status: int,
    code: str,
) -> None:
    session = await new_session(client)
    resp = await client.post(
        "/api/chat",
        data=body.replace(b"SENDER", session.sender.encode()),
        headers={"Content-Type": "application/json", **session.headers},
    )
    assert resp.status == status
    data = await resp.json()
    assert data["error"]["code"] == code
    assert data["error"]["message"]
    assert fake_rasa.received == []


async def test_oversized_body_is_refused_politely(
    client: TestClient[web.Request, web.Application],
) -> None:
    session = await new_session(client)
    resp = await client.post(
        "/api/chat",
        data=b"x" * (65 * 1024),
        headers={"Content-Type": "application/json", **session.headers},
    )
    assert resp.status == 413
    assert (await resp.json())["error"]["code"] == "request_entity_too_large"


async def test_unknown_path_is_a_json_404(
    client: TestClient[web.Request, web.Application],
) -> None:
    resp = await client.get("/nope")
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "not_found"


async def test_rasa_error_status_gets_the_busy_reply_with_a_human_offer(
    client: TestClient[web.Request, web.Application],
    fake_rasa: FakeRasa,
) -> None:
    fake_rasa.status = 500
    data = await say(client, await new_session(client), "你好")
    assert data["replies"][0]["text"] == BUSY_TEXT
    assert data["replies"][0]["buttons"] == [{"title": "转人工", "payload": "/request_human"}]
    assert data["sources"] == []


async def test_rasa_timeout_gets_the_busy_reply(
    client: TestClient[web.Request, web.Application],
    fake_rasa: FakeRasa,
) -> None:
    fake_rasa.delay_s = 2.0
    data = await say(client, await new_session(client), "你好")
    assert data["replies"][0]["text"] == BUSY_TEXT


async def test_unreachable_rasa_gets_the_busy_reply_and_the_message_is_logged(
    aiohttp_client: ClientFactory,
) -> None:
    settings = Settings(rasa_url=f"http://127.0.0.1:{free_port()}", redis_url=None, rasa_retries=1)
    app = create_app(settings)
    client = await aiohttp_client(app)
    session = await new_session(client)
    assert (await say(client, session, "在吗"))["replies"][0]["text"] == BUSY_TEXT
    history = await app[CONVERSATIONS].history(ConversationId("web", session.sender))
    assert [(m["role"], m["text"]) for m in history] == [("user", "在吗"), ("bot", BUSY_TEXT)]


async def test_healthz_names_the_failing_dependency(
    client: TestClient[web.Request, web.Application],
) -> None:
    resp = await client.get("/healthz")
    assert resp.status == 503
    checks = (await resp.json())["checks"]
    assert checks["redis"]["ok"] is True
    assert checks["rasa"]["ok"] is True
    assert checks["action_server"]["ok"] is False


async def test_index_serves_the_web_chat(
    client: TestClient[web.Request, web.Application],
) -> None:
    resp = await client.get("/")
    assert resp.status == 200
    html = await resp.text()
    assert "/api/chat" in html
    assert "转人工" in html


async def test_flooding_user_gets_a_polite_rate_limit_reply_and_others_are_unaffected(
    aiohttp_client: ClientFactory, aiohttp_server: ServerFactory, fake_rasa: FakeRasa
) -> None:
    server = await aiohttp_server(fake_rasa.app())
    settings = Settings(
        rasa_url=str(server.make_url("")),
        redis_url=None,
        rate_limit_burst=3,
        rate_limit_per_minute=1,
    )
    client = await aiohttp_client(create_app(settings))
    flood, calm = await new_session(client), await new_session(client)
    texts = [(await say(client, flood, "你好"))["replies"][0]["text"] for _ in range(5)]
    assert texts[:3] == ["echo: 你好"] * 3
    assert texts[3:] == [RATE_LIMITED_TEXT] * 2
    assert (await say(client, calm, "你好"))["replies"][0]["text"] == "echo: 你好"
    assert len(fake_rasa.received) == 4


async def test_forget_phrase_deletes_state_and_resets_the_rasa_tracker(
    aiohttp_client: ClientFactory, aiohttp_server: ServerFactory, fake_rasa: FakeRasa
) -> None:
    server = await aiohttp_server(fake_rasa.app())
    app = create_app(Settings(rasa_url=str(server.make_url("")), redis_url=None))
    client = await aiohttp_client(app)
    session = await new_session(client)
    await say(client, session, "你好")
    conv = ConversationId("web", session.sender)
    assert await app[CONVERSATIONS].history(conv)
    assert (await say(client, session, "删除我的数据"))["replies"][0]["text"] == FORGOTTEN_TEXT
    assert await app[CONVERSATIONS].history(conv) == []
    assert await app[CONVERSATIONS].state(conv) == {}
    assert fake_rasa.resets == [f"web:{session.sender}"]


async def test_traditional_text_goes_to_rasa_simplified_with_the_script_in_metadata(
    client: TestClient[web.Request, web.Application], fake_rasa: FakeRasa
) -> None:
    await say(client, await new_session(client), "南湖區的人才政策")
    assert fake_rasa.received[0]["message"] == "南湖区的人才政策"
    assert fake_rasa.received[0]["metadata"] == {"script": "hant"}

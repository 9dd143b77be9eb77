"""Web chat sessions: the server picks the sender id, and only its token's holder gets in."""

from __future__ import annotations

import builtins
import hashlib
import io
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from redis.asyncio import Redis
from rich.console import Console

from bot.app import create_app
from bot.channels.contract import WebSession, open_session
from bot.chat import FORGOTTEN_TEXT
from bot.cli.terminal_chat import run as terminal_chat
from bot.keys import WEB_INBOX
from bot.launcher import Stack, free_port
from bot.settings import Settings
from bot.state.keys import Keys
from tests.auxil.fake_rasa import FakeRasa
from tests.auxil.sse import read_events

ServerFactory = Callable[[web.Application], Awaitable[TestServer]]
DAY_S = 86_400


@dataclass
class Web:
    """The bot app on a real Redis, a fake Rasa, and the keys it writes."""

    client: TestClient[web.Request, web.Application]
    rasa: FakeRasa
    redis: Redis
    keys: Keys
    settings: Settings

    async def new_session(self) -> WebSession:
        resp = await self.client.post("/api/chat/session")
        assert resp.status == 201, await resp.text()
        data = await resp.json()
        assert set(data) == {"sender", "token"}
        return WebSession(data["sender"], data["token"])

    async def post(
        self, sender: str, text: str, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, Any]]:
        resp = await self.client.post(
            "/api/chat", json={"sender": sender, "text": text}, headers=headers or {}
        )
        return resp.status, await resp.json()


def web_settings(rasa_url: str, redis_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "rasa_url": rasa_url,
        "rasa_retries": 0,
        "redis_url": redis_url,
        "redis_key_prefix": f"t{uuid.uuid4().hex[:8]}:",
        "action_server_url": f"http://127.0.0.1:{free_port()}",
        **overrides,
    }
    return Settings(**values)


@pytest.fixture
async def make_web(
    aiohttp_server: ServerFactory, redis_url: str
) -> AsyncIterator[Callable[..., Awaitable[Web]]]:
    """Builds bot apps (settings overridable), each under its own key prefix."""
    opened: list[Web] = []

    async def make(**overrides: Any) -> Web:
        rasa = FakeRasa()
        server = await aiohttp_server(rasa.app())
        settings = web_settings(str(server.make_url("")), redis_url, **overrides)
        client = TestClient(TestServer(create_app(settings)))
        await client.start_server()
        harness = Web(
            client,
            rasa,
            Redis.from_url(redis_url, decode_responses=True),
            Keys(settings.redis_key_prefix),
            settings,
        )
        opened.append(harness)
        return harness

    yield make
    for harness in opened:
        await harness.client.close()
        await harness.redis.aclose()


@pytest.fixture
async def bot(make_web: Callable[..., Awaitable[Web]]) -> Web:
    return await make_web()


def unauthorized(status: int, body: dict[str, Any]) -> bool:
    return status == 401 and body["error"]["code"] == "unauthorized" and body["error"]["message"]


async def test_a_session_gets_a_server_chosen_sender_and_only_the_tokens_hash_is_stored(
    bot: Web,
) -> None:
    session = await bot.new_session()
    assert re.fullmatch(r"[0-9a-f]{32}", session.sender)
    assert len(session.token) >= 43
    key = bot.keys.web_session(session.sender)
    assert key == f"{bot.settings.redis_key_prefix}web:session:{session.sender}"
    assert await bot.redis.get(key) == hashlib.sha256(session.token.encode()).hexdigest()
    ttl = await bot.redis.ttl(key)
    assert bot.settings.conversation_ttl_days * DAY_S - 5 <= ttl <= 30 * DAY_S
    other = await bot.new_session()
    assert other.sender != session.sender
    assert other.token != session.token


async def test_the_sessions_token_lets_its_sender_chat_and_refreshes_the_ttl(bot: Web) -> None:
    session = await bot.new_session()
    key = bot.keys.web_session(session.sender)
    await bot.redis.expire(key, 60)
    status, body = await bot.post(session.sender, "你好", session.headers)
    assert status == 200
    assert body["replies"][0]["text"] == "echo: 你好"
    assert bot.rasa.received[0]["sender"] == f"web:{session.sender}"
    assert await bot.redis.ttl(key) > DAY_S


async def test_another_users_token_is_refused_for_a_sender(bot: Web) -> None:
    victim, attacker = await bot.new_session(), await bot.new_session()
    status, body = await bot.post(victim.sender, "删除我的数据", attacker.headers)
    assert unauthorized(status, body)
    status, body = await bot.post(victim.sender, "你好", attacker.headers)
    assert unauthorized(status, body)
    assert bot.rasa.received == []
    assert bot.rasa.resets == []
    assert await bot.redis.exists(bot.keys.web_session(victim.sender)) == 1


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Bearer not-the-token",
        "Bearer " + "x" * 300,
    ],
)
async def test_a_message_without_the_right_bearer_token_is_401(
    bot: Web, authorization: str | None
) -> None:
    session = await bot.new_session()
    headers = {} if authorization is None else {"Authorization": authorization}
    status, body = await bot.post(session.sender, "你好", headers)
    assert unauthorized(status, body)
    assert bot.rasa.received == []


@pytest.mark.parametrize("charset", ["bogus", "zlib", "utf-16"])
async def test_the_body_is_read_as_utf8_whatever_charset_is_named(bot: Web, charset: str) -> None:
    session = await bot.new_session()
    resp = await bot.client.post(
        "/api/chat",
        data=f'{{"sender": "{session.sender}", "text": "你好"}}'.encode(),
        headers={"Content-Type": f"application/json; charset={charset}", **session.headers},
    )
    assert resp.status == 200
    assert (await resp.json())["replies"][0]["text"] == "echo: 你好"


async def test_a_made_up_sender_has_no_session(bot: Web) -> None:
    session = await bot.new_session()
    status, body = await bot.post("web-42", "你好", session.headers)
    assert unauthorized(status, body)


async def test_an_expired_session_is_401_and_a_new_one_works(bot: Web) -> None:
    session = await bot.new_session()
    await bot.redis.delete(bot.keys.web_session(session.sender))
    status, body = await bot.post(session.sender, "你好", session.headers)
    assert unauthorized(status, body)
    fresh = await bot.new_session()
    status, _ = await bot.post(fresh.sender, "你好", fresh.headers)
    assert status == 200


async def test_the_401_names_the_bearer_scheme(bot: Web) -> None:
    resp = await bot.client.post("/api/chat", json={"sender": "x", "text": "hi"})
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("token", ["", "wrong", "other-user"])
async def test_the_event_stream_refuses_a_missing_or_wrong_token_with_401(
    bot: Web, token: str
) -> None:
    session, other = await bot.new_session(), await bot.new_session()
    given = other.token if token == "other-user" else token
    params = {"sender": session.sender, "after": "0-0"}
    if given:
        params["token"] = given
    resp = await bot.client.get("/api/chat/events", params=params)
    assert resp.status == 401
    assert resp.headers["Content-Type"].startswith("application/json")
    assert (await resp.json())["error"]["code"] == "unauthorized"


async def test_the_event_stream_with_the_token_delivers_the_senders_messages(bot: Web) -> None:
    session = await bot.new_session()
    await bot.client.app[WEB_INBOX].send(session.sender, "您好，我是客服")
    resp = await bot.client.get(
        "/api/chat/events", params={**session.events_params(), "after": "0-0"}
    )
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/event-stream")
    (event,) = await read_events(resp, 1)
    assert event.data["replies"][0]["text"] == "您好，我是客服"
    resp.close()


async def test_forget_deletes_the_session_key_and_the_old_token_stops_working(bot: Web) -> None:
    session = await bot.new_session()
    key = bot.keys.web_session(session.sender)
    assert key in bot.keys.user_keys("web", session.sender)
    await bot.post(session.sender, "你好", session.headers)
    status, body = await bot.post(session.sender, "删除我的数据", session.headers)
    assert status == 200
    assert body["replies"][0]["text"] == FORGOTTEN_TEXT
    assert await bot.redis.exists(key) == 0
    status, body = await bot.post(session.sender, "你好", session.headers)
    assert unauthorized(status, body)
    resp = await bot.client.get("/api/chat/events", params=session.events_params())
    assert resp.status == 401


async def test_session_creation_is_rate_limited_per_client_address(
    make_web: Callable[..., Awaitable[Web]],
) -> None:
    limited = await make_web(web_session_burst=3, web_session_rate_per_minute=1.0)
    first = await limited.new_session()
    statuses = []
    for _ in range(4):
        resp = await limited.client.post("/api/chat/session")
        statuses.append(resp.status)
        body = await resp.json()
    assert statuses == [201, 201, 429, 429]
    assert body == {"error": {"code": "too_many_sessions", "message": body["error"]["message"]}}
    assert body["error"]["message"]
    assert resp.headers["Retry-After"] == "60"
    # The limit is on new sessions: an open one goes on working.
    status, _ = await limited.post(first.sender, "你好", first.headers)
    assert status == 200
    # Another app (another key prefix) is another set of buckets.
    other = await make_web(web_session_burst=3, web_session_rate_per_minute=1.0)
    await other.new_session()


async def test_forwarded_for_counts_only_behind_a_trusted_proxy(
    make_web: Callable[..., Awaitable[Web]],
) -> None:
    async def statuses(harness: Web, forwarded: str) -> list[int]:
        headers = {"X-Forwarded-For": forwarded}
        return [
            (await harness.client.post("/api/chat/session", headers=headers)).status
            for _ in range(3)
        ]

    trusting = await make_web(web_session_burst=2, trust_x_forwarded_for=True)
    # The proxy appends the address it saw; what the client wrote comes first and is ignored.
    assert await statuses(trusting, "10.9.9.9, 203.0.113.7") == [201, 201, 429]
    assert await statuses(trusting, "10.9.9.8, 203.0.113.7") == [429, 429, 429]
    assert await statuses(trusting, "203.0.113.8") == [201, 201, 429]
    # Not an address: the TCP peer's bucket.
    assert await statuses(trusting, "203.0.113.8, not-an-ip") == [201, 201, 429]
    default = await make_web(web_session_burst=2)
    assert await statuses(default, "198.51.100.1") == [201, 201, 429]
    assert await statuses(default, "198.51.100.2") == [429, 429, 429]


async def test_the_client_helper_waits_out_a_429_as_retry_after_says(
    make_web: Callable[..., Awaitable[Web]],
) -> None:
    limited = await make_web(web_session_burst=1, web_session_rate_per_minute=60.0)
    base = str(limited.client.make_url("")).rstrip("/")
    async with aiohttp.ClientSession() as http:
        first = await open_session(http, base)
        second = await open_session(http, base, wait_s=5.0)
    assert first.sender != second.sender


async def test_the_page_opens_a_session_and_sends_the_token(bot: Web) -> None:
    html = await (await bot.client.get("/")).text()
    assert '"/api/chat/session"' in html
    assert '"Authorization": "Bearer " + used.token' in html
    assert '"&token=" + encodeURIComponent(session.token)' in html
    assert "resp.status === 401" in html


async def test_terminal_chat_opens_a_session_and_answers(
    bot: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = iter(["你好", "删除我的数据", "还在吗"])

    def typed(_: str = "") -> str:
        try:
            return next(lines)
        except StopIteration:
            raise EOFError from None

    monkeypatch.setattr(builtins, "input", typed)
    out = io.StringIO()
    code = await terminal_chat(str(bot.client.make_url("")), Console(file=out, width=200))
    assert code == 0
    text = out.getvalue()
    assert "echo: 你好" in text
    assert FORGOTTEN_TEXT in text
    # After /forget the old session is gone: the client opened a new one and sent again.
    assert "New session as" in text
    assert "echo: 还在吗" in text


@pytest.mark.stack
async def test_the_live_bot_never_logs_a_session_token(stack: Stack) -> None:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        session = await open_session(http, stack.bot_url)
        async with http.get(
            f"{stack.bot_url}/api/chat/events", params=session.events_params()
        ) as resp:
            assert resp.status == 200
        wrong = {"sender": session.sender, "token": session.token[::-1]}
        async with http.get(f"{stack.bot_url}/api/chat/events", params=wrong) as resp:
            assert resp.status == 401
        async with http.post(
            f"{stack.bot_url}/api/chat",
            json={"sender": session.sender, "text": "你好"},
            headers=session.headers,
        ) as resp:
            assert resp.status == 200
    log = (stack.group.log_dir / "bot.log").read_text("utf-8", errors="replace")
    assert session.token not in log
    assert session.token[::-1] not in log

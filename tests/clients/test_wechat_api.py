"""The customer-service API client: token cache, refresh on 40001/42001, bounded retries."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import fakeredis
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from bot.clients.wechat_api import (
    WeChatApiError,
    WeChatClient,
    WeChatResponseError,
    WeChatTimeoutError,
    WeChatUnavailableError,
)
from bot.launcher import free_port
from bot.state.keys import Keys
from tests.auxil.fake_wechat import APP_ID, APP_SECRET, FakeWeChatApi

ServerFactory = Callable[[web.Application], Awaitable[TestServer]]
MakeClient = Callable[..., WeChatClient]
KEYS = Keys("test:")


@pytest.fixture
def fake() -> FakeWeChatApi:
    return FakeWeChatApi()


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = fakeredis.FakeAsyncRedis(decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
async def make_client(
    aiohttp_server: ServerFactory, fake: FakeWeChatApi, redis: Redis
) -> AsyncIterator[MakeClient]:
    server = await aiohttp_server(fake.app())
    async with aiohttp.ClientSession() as session:

        def make(**overrides: object) -> WeChatClient:
            options: dict[str, object] = {
                "redis": redis,
                "base_url": str(server.make_url("")),
                "app_id": APP_ID,
                "app_secret": APP_SECRET,
                "timeout_s": 1.0,
                "retries": 2,
                "backoff_s": 0.01,
                **overrides,
            }
            return WeChatClient(session, keys=KEYS, **options)  # type: ignore[arg-type]

        yield make


async def test_the_token_is_fetched_once_cached_with_a_ttl_and_reused(
    make_client: MakeClient, fake: FakeWeChatApi, redis: Redis
) -> None:
    client = make_client()
    await client.send_text("oUser", "你好")
    await make_client().send_text("oUser", "再见")  # another replica, same Redis
    assert fake.token_fetches == 1
    assert fake.texts() == ["你好", "再见"]
    assert await redis.get(KEYS.wechat_access_token()) == "token-1"
    assert 7200 - 300 - 5 <= await redis.ttl(KEYS.wechat_access_token()) <= 7200 - 300
    assert all(b"\\u" not in raw for raw in fake.raw_bodies)


async def test_concurrent_callers_share_one_fetch(
    make_client: MakeClient, fake: FakeWeChatApi
) -> None:
    client = make_client()
    tokens = await asyncio.gather(*(client.access_token() for _ in range(5)))
    assert set(tokens) == {"token-1"}
    assert fake.token_fetches == 1


@pytest.mark.parametrize("errcode", [40001, 42001])
async def test_a_rejected_token_is_refreshed_once(
    make_client: MakeClient, fake: FakeWeChatApi, redis: Redis, errcode: int
) -> None:
    client = make_client()
    await client.access_token()
    if errcode == 40001:
        fake.invalid_tokens.add("token-1")  # e.g. another app fetched a new token meanwhile
    else:
        fake.send_errcodes = [errcode]  # expired
    await client.send_text("oUser", "你好")
    assert fake.token_fetches == 2
    assert fake.texts() == ["你好"]
    assert await redis.get(KEYS.wechat_access_token()) == "token-2"


async def test_a_token_rejected_twice_is_an_api_error(
    make_client: MakeClient, fake: FakeWeChatApi
) -> None:
    fake.invalid_tokens.update({"token-1", "token-2"})
    with pytest.raises(WeChatApiError) as caught:
        await make_client().send_text("oUser", "你好")
    assert caught.value.errcode == 40001
    assert fake.token_fetches == 2
    assert fake.sent == []


async def test_a_server_error_is_retried_with_backoff(
    make_client: MakeClient, fake: FakeWeChatApi
) -> None:
    fake.send_statuses = [500]
    await make_client().send_text("oUser", "你好")
    assert fake.send_attempts == 2
    assert fake.texts() == ["你好"]


async def test_system_busy_is_retried(make_client: MakeClient, fake: FakeWeChatApi) -> None:
    fake.send_errcodes = [-1]
    await make_client().send_text("oUser", "你好")
    assert fake.texts() == ["你好"]


async def test_persistent_server_errors_give_up_after_the_retries(
    make_client: MakeClient, fake: FakeWeChatApi
) -> None:
    fake.send_statuses = [502] * 10
    with pytest.raises(WeChatUnavailableError):
        await make_client(retries=2).send_text("oUser", "你好")
    assert fake.send_attempts == 3


async def test_other_errcodes_are_api_errors_and_not_retried(
    make_client: MakeClient, fake: FakeWeChatApi
) -> None:
    fake.send_errcodes = [45015]  # the user has not talked to the account for 48 hours
    with pytest.raises(WeChatApiError) as caught:
        await make_client().send_text("oUser", "你好")
    assert caught.value.errcode == 45015
    assert fake.send_attempts == 1


async def test_a_wrong_secret_fails_the_token_fetch(make_client: MakeClient) -> None:
    with pytest.raises(WeChatApiError) as caught:
        await make_client(app_secret="wrong").send_text("oUser", "你好")
    assert caught.value.errcode == 40125
    assert "wrong" not in str(caught.value)


async def test_a_send_that_times_out_is_not_repeated(
    make_client: MakeClient, fake: FakeWeChatApi
) -> None:
    fake.send_delay_s = 2.0
    with pytest.raises(WeChatTimeoutError):
        await make_client(timeout_s=0.5).send_text("oUser", "你好")
    assert fake.send_attempts == 1


async def test_an_unreachable_api_is_unavailable(make_client: MakeClient) -> None:
    client = make_client(base_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(WeChatUnavailableError) as caught:
        await client.send_text("oUser", "你好")
    assert caught.value.__cause__ is not None


async def test_a_non_json_answer_is_a_response_error(
    aiohttp_server: ServerFactory, make_client: MakeClient
) -> None:
    async def html(_: web.Request) -> web.Response:
        return web.Response(text="<html>")

    app = web.Application()
    app.router.add_get("/cgi-bin/token", html)
    server = await aiohttp_server(app)
    with pytest.raises(WeChatResponseError):
        await make_client(base_url=str(server.make_url(""))).access_token()


async def test_without_redis_the_token_is_still_fetched(
    make_client: MakeClient, fake: FakeWeChatApi
) -> None:
    down = Redis(port=free_port(), socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    try:
        await make_client(redis=down).send_text("oUser", "你好")
    finally:
        await down.aclose()
    assert fake.texts() == ["你好"]

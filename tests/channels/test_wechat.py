"""The WeChat bridge: signatures, safe mode, safe XML, the 5-second rule, retries, replicas."""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from bot.app import create_app
from bot.channels import wechat, wechat_xml
from bot.channels.wechat_xml import MAX_TEXT_BYTES, TRUNCATED_NOTE, parse_xml, sign, split_text
from bot.keys import CONVERSATIONS
from bot.launcher import Stack, free_port
from bot.settings import Settings
from bot.state.conversations import ConversationId
from tests.auxil.fake_rasa import FakeRasa
from tests.auxil.fake_wechat import (
    ACCOUNT,
    AES_KEY,
    APP_ID,
    APP_SECRET,
    TOKEN,
    FakeWeChatApi,
    crypto,
    encrypted_request,
    message_xml,
    signed_query,
)
from tests.fuzz.wechat_cases import OTHER_AES_KEY, seal

Client = TestClient[web.Request, web.Application]
ClientFactory = Callable[[web.Application], Awaitable[Client]]
ServerFactory = Callable[[web.Application], Awaitable[TestServer]]
MakeClient = Callable[..., Awaitable[Client]]
ECHO = "echo: 你好\n\n可回复：人才"


@pytest.fixture
def fake_rasa() -> FakeRasa:
    return FakeRasa()


@pytest.fixture
def fake_api() -> FakeWeChatApi:
    return FakeWeChatApi()


@pytest.fixture
async def make_client(
    aiohttp_client: ClientFactory,
    aiohttp_server: ServerFactory,
    fake_rasa: FakeRasa,
    fake_api: FakeWeChatApi,
) -> MakeClient:
    """Bot apps with WeChat on, talking to the fake Rasa and the fake WeChat API."""
    rasa = await aiohttp_server(fake_rasa.app())
    api = await aiohttp_server(fake_api.app())

    async def make(**overrides: Any) -> Client:
        values: dict[str, Any] = {
            "rasa_url": str(rasa.make_url("")),
            "rasa_retries": 0,
            "redis_url": None,
            "action_server_url": f"http://127.0.0.1:{free_port()}",
            "wechat_token": TOKEN,
            "wechat_app_id": APP_ID,
            "wechat_app_secret": APP_SECRET,
            "wechat_encoding_aes_key": AES_KEY,
            "wechat_api_base_url": str(api.make_url("")),
            "wechat_passive_reply_s": 3.0,
        }
        return await aiohttp_client(create_app(Settings(**{**values, **overrides})))

    return make


@pytest.fixture
async def client(make_client: MakeClient) -> Client:
    return await make_client()


async def post(client: Client, xml: str, query: dict[str, str] | None = None) -> tuple[int, str]:
    resp = await client.post("/wechat", params=query or signed_query(), data=xml.encode())
    return resp.status, await resp.text()


def reply_content(body: str) -> str:
    fields = parse_xml(body.encode())
    assert fields["MsgType"] == "text"
    assert (fields["ToUserName"], fields["FromUserName"]) == ("oUser0001", ACCOUNT)
    return fields["Content"]


async def test_get_echoes_echostr_when_signed(client: Client) -> None:
    resp = await client.get("/wechat", params={**signed_query(), "echostr": "hello-42"})
    assert resp.status == 200
    assert await resp.text() == "hello-42"


@pytest.mark.parametrize(
    "query",
    [
        {**signed_query(), "signature": "0" * 40},
        signed_query(token="other-token"),
        signed_query(timestamp=int(time.time()) - 400),
        {"timestamp": "abc", "nonce": "1", "signature": sign(TOKEN, "abc", "1")},
        {"timestamp": "²", "nonce": "1", "signature": sign(TOKEN, "²", "1")},
        {**signed_query(), "signature": "签名"},
        {},
    ],
)
async def test_get_with_a_bad_or_stale_signature_is_forbidden(
    client: Client, query: dict[str, str]
) -> None:
    resp = await client.get("/wechat", params={**query, "echostr": "x"})
    assert resp.status == 403
    assert (await resp.json())["error"]["code"] == "invalid_signature"


async def test_plaintext_text_message_gets_a_passive_reply_and_the_address_is_kept(
    client: Client, fake_rasa: FakeRasa, fake_api: FakeWeChatApi
) -> None:
    status, body = await post(client, message_xml(content="你好"))
    assert status == 200
    assert reply_content(body) == ECHO
    assert fake_rasa.received[0]["sender"] == "wechat:oUser0001"
    assert fake_rasa.received[0]["message"] == "你好"
    assert fake_rasa.received[0]["metadata"]["channel"] == "wechat"
    state = await client.app[CONVERSATIONS].state(ConversationId("wechat", "oUser0001"))
    assert state["openid"] == "oUser0001"
    assert state["app_id"] == ACCOUNT
    assert state["channel"] == "wechat"
    assert fake_api.sent == []


async def test_a_button_title_sent_back_means_its_payload(
    client: Client, fake_rasa: FakeRasa
) -> None:
    await post(client, message_xml(content="你好", msg_id="1"))
    await post(client, message_xml(content="人才", msg_id="2"))
    await post(client, message_xml(content="人才呢", msg_id="3"))
    assert [m["message"] for m in fake_rasa.received] == ["你好", "/ask_talent", "人才呢"]


async def test_safe_mode_round_trip(client: Client, fake_rasa: FakeRasa) -> None:
    query, body = encrypted_request(message_xml(content="你好"))
    resp = await client.post("/wechat", params=query, data=body.encode())
    assert resp.status == 200
    text = await resp.text()
    envelope = parse_xml(text.encode())
    assert envelope["MsgSignature"] == sign(
        TOKEN, envelope["TimeStamp"], envelope["Nonce"], envelope["Encrypt"]
    )
    plain = crypto().decrypt_message(
        text, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"]
    )
    assert reply_content(str(plain)) == ECHO
    assert fake_rasa.received[0]["message"] == "你好"


async def test_safe_mode_with_a_bad_msg_signature_is_forbidden(
    client: Client, fake_rasa: FakeRasa
) -> None:
    query, body = encrypted_request(message_xml())
    resp = await client.post(
        "/wechat", params={**query, "msg_signature": "f" * 40}, data=body.encode()
    )
    assert resp.status == 403
    assert fake_rasa.received == []


def safe_call(encrypt: str, **query: str) -> tuple[dict[str, str], bytes]:
    """A safe-mode call carrying `encrypt`, its msg_signature right unless given."""
    base = signed_query()
    msg_signature = sign(TOKEN, base["timestamp"], base["nonce"], encrypt)
    params = {**base, "encrypt_type": "aes", "msg_signature": msg_signature, **query}
    body = f"<xml><ToUserName>{ACCOUNT}</ToUserName><Encrypt>{encrypt}</Encrypt></xml>"
    return params, body.encode()


TAMPERED = {
    "other-app-id": seal(message_xml().encode(), app_id="wx_somebody_else"),
    "other-aes-key": seal(message_xml().encode(), key=OTHER_AES_KEY),
    "bad-padding": seal(message_xml().encode(), pad=0),
    "padding-too-long": seal(message_xml().encode(), pad=200),
    "not-whole-blocks": base64.b64encode(b"x" * 20).decode(),
    "not-base64": "这不是密文",
}


@pytest.mark.parametrize("encrypt", TAMPERED.values(), ids=TAMPERED.keys())
async def test_safe_mode_refuses_a_ciphertext_that_does_not_decrypt_to_this_account(
    client: Client, fake_rasa: FakeRasa, encrypt: str
) -> None:
    params, body = safe_call(encrypt)
    resp = await client.post("/wechat", params=params, data=body)
    assert resp.status == 400
    assert (await resp.json())["error"]["code"] == "invalid_xml"
    assert fake_rasa.received == []


@pytest.mark.parametrize(
    "query",
    [
        {"msg_signature": ""},
        {"signature": "0" * 40},  # safe mode checks the query signature too, when it is sent
        {"timestamp": str(int(time.time()) - 400)},
    ],
    ids=["no-msg-signature", "wrong-signature", "stale"],
)
async def test_safe_mode_refuses_a_call_that_is_not_signed_now(
    client: Client, fake_rasa: FakeRasa, query: dict[str, str]
) -> None:
    params, body = safe_call(seal(message_xml().encode()), **query)
    resp = await client.post("/wechat", params=params, data=body)
    assert resp.status == 403
    assert fake_rasa.received == []


async def test_safe_mode_without_the_query_signature_relies_on_msg_signature(
    client: Client, fake_rasa: FakeRasa
) -> None:
    params, body = safe_call(seal(message_xml().encode()))
    del params["signature"]
    resp = await client.post("/wechat", params=params, data=body)
    assert resp.status == 200
    assert fake_rasa.received[0]["message"] == "你好"


async def test_safe_mode_without_an_encrypt_element_is_refused(
    client: Client, fake_rasa: FakeRasa
) -> None:
    params, _ = safe_call("")
    body = f"<xml><ToUserName>{ACCOUNT}</ToUserName></xml>".encode()
    resp = await client.post("/wechat", params=params, data=body)
    assert resp.status == 400
    assert fake_rasa.received == []


@pytest.mark.parametrize(
    "query",
    [
        {**signed_query(), "signature": "0" * 40},
        signed_query(token="other-token"),
        {k: v for k, v in signed_query().items() if k != "signature"},
        {**signed_query(), "signature": ""},
    ],
    ids=["wrong", "other-token", "missing", "empty"],
)
async def test_a_message_without_the_right_signature_is_forbidden(
    client: Client, fake_rasa: FakeRasa, query: dict[str, str]
) -> None:
    assert (await post(client, message_xml(), query))[0] == 403
    assert fake_rasa.received == []


@pytest.mark.parametrize("skew_s", [-290, 290])
async def test_a_timestamp_inside_the_window_is_accepted(
    client: Client, fake_rasa: FakeRasa, skew_s: int
) -> None:
    status, body = await post(client, message_xml(), signed_query(int(time.time()) + skew_s))
    assert status == 200
    assert reply_content(body) == ECHO


async def test_subscribe_gets_rasas_greeting(client: Client, fake_rasa: FakeRasa) -> None:
    status, body = await post(client, message_xml("event", event="subscribe"))
    assert status == 200
    assert reply_content(body).startswith("echo: /greet")
    assert fake_rasa.received[0]["message"] == "/greet"


async def test_other_events_get_success_and_no_rasa_call(
    client: Client, fake_rasa: FakeRasa
) -> None:
    assert await post(client, message_xml("event", event="unsubscribe")) == (200, "success")
    assert fake_rasa.received == []


async def test_an_image_gets_the_text_only_reply(client: Client, fake_rasa: FakeRasa) -> None:
    status, body = await post(client, message_xml("image"))
    assert status == 200
    assert "目前只支持文字消息" in reply_content(body)
    assert fake_rasa.received == []


BOMB = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol0 "lol">'
    + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    + "]><xml><ToUserName>&lol9;</ToUserName></xml>"
)


@pytest.mark.parametrize(
    "body",
    [
        "<xml><ToUserName>gh",
        "not xml at all",
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        "<xml><Content>&e;</Content></xml>",
        BOMB,
        "<root><MsgType>text</MsgType></root>",
        '<?xml version="1.0" encoding="x-unknown"?><xml/>',
        message_xml().replace("oUser0001", "o User/../x"),
        "<xml>" + "<Content>长</Content>" * 1600 + "</xml>",  # 35 KiB
        "<xml>" + " " * (70 * 1024) + "</xml>",  # over the app-wide 64 KiB too
    ],
    ids=[
        "truncated",
        "text",
        "xxe",
        "billion-laughs",
        "root",
        "encoding",
        "bad-openid",
        "big",
        "huge",
    ],
)
async def test_bad_bodies_are_rejected_quickly(
    client: Client, fake_rasa: FakeRasa, body: str
) -> None:
    started = time.monotonic()
    status, text = await post(client, body)
    assert status == 400, text
    assert "invalid_xml" in text
    assert "root:" not in text
    assert time.monotonic() - started < 2.0
    assert fake_rasa.received == []


async def test_a_body_that_trickles_in_is_cut_off(
    client: Client, fake_rasa: FakeRasa, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wechat_xml, "BODY_READ_TIMEOUT_S", 0.3)

    async def trickle() -> AsyncIterator[bytes]:
        yield b"<xml><ToUserName>"
        await asyncio.sleep(3)
        yield b"gh</ToUserName></xml>"

    started = time.monotonic()
    resp = await client.post("/wechat", params=signed_query(), data=trickle())
    assert resp.status == 400
    assert time.monotonic() - started < 2.0
    assert fake_rasa.received == []


@pytest.mark.parametrize("skew_s", [-301, 400, -86_400])
async def test_replayed_or_old_timestamps_are_forbidden(
    client: Client, fake_rasa: FakeRasa, skew_s: int
) -> None:
    query = signed_query(timestamp=int(time.time()) + skew_s)
    assert (await post(client, message_xml(), query))[0] == 403
    assert fake_rasa.received == []


async def test_slow_rasa_answers_success_then_through_the_customer_service_api(
    make_client: MakeClient, fake_rasa: FakeRasa, fake_api: FakeWeChatApi
) -> None:
    fake_rasa.delay_s = 6.0
    client = await make_client(wechat_passive_reply_s=0.5)
    started = time.monotonic()
    assert await post(client, message_xml()) == (200, "success")
    assert time.monotonic() - started < 2.0
    await fake_api.wait_sent(1, timeout_s=15)
    assert fake_api.sent == [{"touser": "oUser0001", "msgtype": "text", "text": {"content": ECHO}}]
    assert fake_api.token_fetches == 1
    assert all(b"\\u" not in raw for raw in fake_api.raw_bodies)


def delivered(bodies: list[str], fake_api: FakeWeChatApi) -> list[str]:
    """Every answer the user got: passive replies and customer-service messages."""
    return [reply_content(b) for b in bodies if b != "success"] + fake_api.texts()


async def test_concurrent_retries_call_rasa_once_and_answer_once_passively(
    client: Client, fake_rasa: FakeRasa, fake_api: FakeWeChatApi
) -> None:
    fake_rasa.delay_s = 0.3
    results = await asyncio.gather(*(post(client, message_xml()) for _ in range(3)))
    await asyncio.sleep(0.5)
    assert {status for status, _ in results} == {200}
    assert delivered([b for _, b in results], fake_api) == [ECHO]
    assert len(fake_rasa.received) == 1


async def test_concurrent_retries_of_a_slow_answer_get_it_once_through_the_api(
    make_client: MakeClient, fake_rasa: FakeRasa, fake_api: FakeWeChatApi
) -> None:
    fake_rasa.delay_s = 1.5
    client = await make_client(wechat_passive_reply_s=0.5)
    results = await asyncio.gather(*(post(client, message_xml()) for _ in range(3)))
    assert [b for _, b in results] == ["success"] * 3
    await fake_api.wait_sent(1)
    assert delivered([], fake_api) == [ECHO]
    assert len(fake_rasa.received) == 1


async def test_sequential_retries_are_answered_success(
    client: Client, fake_rasa: FakeRasa, fake_api: FakeWeChatApi
) -> None:
    bodies = [(await post(client, message_xml()))[1] for _ in range(3)]
    assert bodies[1:] == ["success", "success"]
    assert delivered(bodies, fake_api) == [ECHO]
    assert len(fake_rasa.received) == 1


async def test_events_are_deduplicated_by_sender_and_create_time(
    client: Client, fake_rasa: FakeRasa
) -> None:
    first = message_xml("event", create_time=1_700_000_000)
    later = message_xml("event", create_time=1_700_000_001)
    bodies = [(await post(client, xml))[1] for xml in (first, first, later)]
    assert bodies[1] == "success"
    assert reply_content(bodies[0]).startswith("echo: /greet")
    assert reply_content(bodies[2]).startswith("echo: /greet")
    assert len(fake_rasa.received) == 2


async def test_a_long_answer_is_split_and_sent_in_order_through_the_api(
    client: Client, fake_api: FakeWeChatApi
) -> None:
    question = "嘉定区的人才政策有哪些？" * 150  # about 5.4 KB, echoed back
    assert await post(client, message_xml(content=question)) == (200, "success")
    await fake_api.wait_sent(3)
    parts = fake_api.texts()
    assert len(parts) == 3
    assert all(len(p.encode()) <= MAX_TEXT_BYTES for p in parts)
    assert "".join(parts).replace("\n", "") == f"echo: {question}可回复：人才"


async def test_without_api_credentials_a_long_answer_is_truncated_passively(
    make_client: MakeClient, fake_api: FakeWeChatApi
) -> None:
    client = await make_client(wechat_app_secret=None)
    status, body = await post(client, message_xml(content="嘉定区的人才政策有哪些？" * 150))
    assert status == 200
    content = reply_content(body)
    assert len(content.encode()) <= MAX_TEXT_BYTES
    assert content.endswith(TRUNCATED_NOTE)
    await asyncio.sleep(0.3)
    assert fake_api.sent == []


def test_split_text_respects_the_byte_limit_and_keeps_everything() -> None:
    text = "长" * 1000 + "。" + "x" * 3000 + "\n\n" + "短句。" * 10
    parts = split_text(text, 2048)
    assert all(0 < len(p.encode()) <= 2048 for p in parts)
    assert "".join(parts).replace("\n", "") == text.replace("\n", "")
    assert split_text("你好") == ["你好"]
    assert split_text("   ") == []


async def test_shutdown_cancels_late_answers_cleanly(
    make_client: MakeClient, fake_rasa: FakeRasa, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wechat, "SHUTDOWN_GRACE_S", 0.2)
    fake_rasa.delay_s = 6.0
    client = await make_client(wechat_passive_reply_s=0.3)
    assert await post(client, message_xml()) == (200, "success")
    started = time.monotonic()
    await client.close()
    assert time.monotonic() - started < 3.0


@pytest.fixture
async def replicas(make_client: MakeClient, redis_url: str) -> Callable[..., Awaitable[Client]]:
    """Bot apps that share one real Redis under a fresh key prefix, like replicas do."""
    prefix = f"wechat-test-{uuid.uuid4().hex[:8]}:"

    async def replica(**overrides: Any) -> Client:
        return await make_client(redis_url=redis_url, redis_key_prefix=prefix, **overrides)

    return replica


async def test_two_replicas_sharing_redis_answer_a_message_once(
    replicas: Callable[..., Awaitable[Client]], fake_rasa: FakeRasa, fake_api: FakeWeChatApi
) -> None:
    fake_rasa.delay_s = 0.3
    first, second = await replicas(), await replicas()
    results = await asyncio.gather(post(first, message_xml()), post(second, message_xml()))
    await asyncio.sleep(0.5)
    assert delivered([b for _, b in results], fake_api) == [ECHO]
    assert len(fake_rasa.received) == 1


async def test_a_retry_on_another_replica_carries_the_answer_the_first_gave_up_on(
    replicas: Callable[..., Awaitable[Client]], fake_rasa: FakeRasa, fake_api: FakeWeChatApi
) -> None:
    # The first replica cannot use the API, so after its `success` only a retry can answer.
    fake_rasa.delay_s = 1.0
    first = await replicas(wechat_passive_reply_s=0.5, wechat_app_secret=None)
    second = await replicas(wechat_passive_reply_s=4.0)

    async def retry() -> tuple[int, str]:
        await asyncio.sleep(0.2)
        return await post(second, message_xml())

    results = await asyncio.gather(post(first, message_xml()), retry())
    assert results[0] == (200, "success")
    assert reply_content(results[1][1]) == ECHO
    await asyncio.sleep(0.3)
    assert fake_api.sent == []
    assert len(fake_rasa.received) == 1


@pytest.mark.stack
async def test_real_stack_answers_a_signed_plaintext_message_passively(
    stack: Stack, redis_url: str, aiohttp_client: ClientFactory
) -> None:
    settings = Settings(
        rasa_url=stack.rasa_url,
        action_server_url=stack.action_url,
        redis_url=redis_url,
        redis_key_prefix=f"wechat-e2e-{uuid.uuid4().hex[:8]}:",
        wechat_token=SecretStr(TOKEN),
        wechat_app_id=APP_ID,
    )
    client = await aiohttp_client(create_app(settings))
    status, body = await post(client, message_xml(content="嘉定一共有多少家特色产业园区？"))
    assert status == 200
    content = reply_content(body)
    assert "19家" in content
    assert "来源" in content

"""Fuzzing the WeChat webhook (`GET`/`POST /wechat`): every call gets a clear 4xx or a polite
answer, in time, and the bot logs no error.

The bot runs for real (real Redis, real HTTP) against the scripted fake Rasa and the fake
WeChat API; calls are signed and encrypted with wechatpy.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest
from defusedxml.ElementTree import fromstring
from hypothesis import event, given
from hypothesis import strategies as st
from pydantic import SecretStr
from wechatpy.crypto import WeChatCrypto

from bot.app import create_app
from bot.channels.wechat import TOO_LONG_TEXT, UNSUPPORTED_TEXT
from bot.launcher import free_port
from bot.settings import Settings
from tests.auxil.fake_rasa_replies import ScriptedRasa
from tests.auxil.fake_telegram import serve
from tests.auxil.fake_wechat import AES_KEY, APP_ID, APP_SECRET, TOKEN, FakeWeChatApi, sign
from tests.fuzz.checks import assert_handled
from tests.fuzz.driver import Driver, ErrorLogs, fuzz_settings, run_examples
from tests.fuzz.polite import COMMON_NOTICES, RASA_TEXTS, assert_polite, prefixes
from tests.fuzz.rawhttp import Response
from tests.fuzz.wechat_cases import Case, plaintext_calls, safe_calls, verification_calls

EXAMPLES = 10_000
MAX_TEXT_CHARS = 2000
SUCCESS = "success"
ALLOWED = prefixes(
    [*RASA_TEXTS, *COMMON_NOTICES, UNSUPPORTED_TEXT, TOO_LONG_TEXT.format(limit=MAX_TEXT_CHARS)]
)


@dataclass
class Rig:
    """The bot's address and its fakes."""

    host: str
    port: int
    rasa: ScriptedRasa
    api: FakeWeChatApi
    answered: dict[str, bool] = field(default_factory=dict)
    """Dedupe ids the bot has accepted (a call that repeats one is a retry), and whether a
    passive reply already carried the answer."""


@asynccontextmanager
async def wechat_bot(redis_url: str) -> AsyncIterator[Rig]:
    """Fake Rasa and WeChat API, then the bot with WeChat in safe-mode-capable form."""
    rasa, api = ScriptedRasa(), FakeWeChatApi()
    async with serve(rasa.app()) as rasa_server, serve(api.app()) as api_server:
        settings = Settings(
            rasa_url=str(rasa_server.make_url("")),
            rasa_retries=0,
            redis_url=redis_url,
            redis_key_prefix=f"fuzz-wechat-{uuid.uuid4().hex[:8]}:",
            action_server_url=f"http://127.0.0.1:{free_port()}",
            max_text_chars=MAX_TEXT_CHARS,
            wechat_token=SecretStr(TOKEN),
            wechat_app_id=APP_ID,
            wechat_app_secret=SecretStr(APP_SECRET),
            wechat_encoding_aes_key=SecretStr(AES_KEY),
            wechat_api_base_url=str(api_server.make_url("")),
            wechat_passive_reply_s=3.0,
        )
        async with serve(create_app(settings)) as bot:
            yield Rig(bot.host, bot.port or 0, rasa, api)


def check_answer(rig: Rig, case: Case, response: Response) -> None:
    """A 200 is the echoed `echostr`, `success`, or a polite passive reply to the sender."""
    if case.echostr is not None:
        assert response.text() == case.echostr
        return
    message = case.message
    assert message is not None
    body = response.text()
    # A retry may carry an answer the first call gave up on (docs/wechat.md), never a second.
    answered_before = rig.answered.get(message.dedupe_id, False)
    if not (message.msg_type == "event" and message.event != "subscribe"):
        rig.answered[message.dedupe_id] = answered_before or body != SUCCESS
    if body == SUCCESS:
        return
    assert not answered_before, f"{message.dedupe_id} was answered twice: {body[:200]!r}"
    assert not (message.msg_type == "event" and message.event != "subscribe"), body
    assert response.content_type == "application/xml", response
    if case.safe:
        body = decrypt_reply(body)
    fields = {child.tag: child.text or "" for child in fromstring(body)}
    assert fields["ToUserName"] == message.openid
    assert fields["FromUserName"] == message.account
    assert fields["MsgType"] == "text"
    assert_polite(fields["Content"], ALLOWED)


def decrypt_reply(envelope_xml: str) -> str:
    """The inner reply of a safe-mode answer, after checking its signature like WeChat does."""
    envelope = {child.tag: child.text or "" for child in fromstring(envelope_xml)}
    expected = sign(TOKEN, envelope["TimeStamp"], envelope["Nonce"], envelope["Encrypt"])
    assert envelope["MsgSignature"] == expected
    crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)
    return str(
        crypto.decrypt_message(
            {"Encrypt": envelope["Encrypt"]},
            envelope["MsgSignature"],
            envelope["TimeStamp"],
            envelope["Nonce"],
        )
    )


@pytest.mark.fuzz
async def test_every_wechat_call_gets_a_clear_4xx_or_a_polite_answer(
    redis_url: str, error_logs: ErrorLogs
) -> None:
    logs = error_logs
    ran = 0
    async with wechat_bot(redis_url) as rig:
        driver = Driver(asyncio.get_running_loop(), rig.host, rig.port)

        @fuzz_settings(EXAMPLES)
        @given(st.one_of(plaintext_calls(), safe_calls(), verification_calls()))
        def examples(case: Case) -> None:
            nonlocal ran
            ran += 1
            event(case.kind)
            mark = logs.mark()
            response = driver.send(case.request)
            assert_handled(case.request, response, case.expected)
            if response.status == 200:
                check_answer(rig, case, response)
            logs.check(mark)

        await run_examples(examples, driver)
        await asyncio.sleep(0.5)  # late answers still on their way to the API
    assert ran >= EXAMPLES
    logs.check()
    for text in rig.api.texts():
        assert text.strip()
    assert rig.rasa.received, "no message reached Rasa: the fuzzing missed the whole path"

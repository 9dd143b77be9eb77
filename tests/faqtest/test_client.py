"""The HTTP client of the bot: health, chat, and its exceptions."""

from __future__ import annotations

import pytest

from bot.faqtest.client import BotClient, parse_answer
from bot.faqtest.errors import (
    BotError,
    BotResponseError,
    BotTimeoutError,
    BotUnreachableError,
    FaqError,
)
from bot.launcher import free_port
from tests.faqtest.fake_bot import FakeBot


def test_the_hierarchy_has_one_root() -> None:
    for exc in (BotUnreachableError, BotTimeoutError, BotResponseError):
        assert issubclass(exc, BotError)
    assert issubclass(BotError, FaqError)


async def test_chat_returns_the_answer(bot_url: str, fake_bot: FakeBot) -> None:
    async with BotClient(bot_url) as client:
        answer = await client.chat("faq-x-1", "嘉定一共有多少家特色产业园区？")
        sender = client.sender_of("faq-x-1")
    assert sender == "fake-1"
    assert fake_bot.received == [{"sender": sender, "text": "嘉定一共有多少家特色产业园区？"}]
    assert answer.intent == "ask_park"
    assert answer.confidence == 0.95
    assert answer.entities == {"region": "嘉定区"}
    assert answer.sources == ("jiading-featured-parks-2023",)
    assert "19家" in answer.text
    assert answer.escalated is False


async def test_healthy_bot(bot_url: str) -> None:
    async with BotClient(bot_url + "/") as client:
        health = await client.health()
    assert health.ok
    assert health.failing == ()


async def test_degraded_bot_is_reachable_and_names_failing_checks(
    bot_url: str, fake_bot: FakeBot
) -> None:
    fake_bot.health_status = 503
    async with BotClient(bot_url) as client:
        health = await client.health()
    assert not health.ok
    assert health.failing == ("rasa (RasaUnavailableError)",)


async def test_nobody_listening_is_unreachable() -> None:
    async with BotClient(f"http://127.0.0.1:{free_port()}") as client:
        with pytest.raises(BotUnreachableError, match="unreachable"):
            await client.health()
        with pytest.raises(BotUnreachableError):
            await client.chat("s", "你好")


async def test_a_health_check_timeout_is_unreachable(bot_url: str, fake_bot: FakeBot) -> None:
    fake_bot.health_delay_s = 1.0
    async with BotClient(bot_url, health_timeout_s=0.1) as client:
        with pytest.raises(BotUnreachableError, match=r"did not answer .*/healthz within 0\.1s"):
            await client.health()


async def test_4xx_carries_the_bots_error_code_and_message(bot_url: str) -> None:
    async with BotClient(bot_url) as client:
        with pytest.raises(BotResponseError) as info:
            await client.chat("s", "422")
    assert str(info.value) == "bot answered 422 empty_text: text must not be empty"
    assert (info.value.status, info.value.code) == (422, "empty_text")


async def test_5xx_without_json_keeps_the_status_and_body(bot_url: str) -> None:
    async with BotClient(bot_url) as client:
        with pytest.raises(BotResponseError, match="bot answered 500 Internal Server Error"):
            await client.chat("s", "500")


async def test_an_answer_outside_the_contract_is_a_response_error(bot_url: str) -> None:
    async with BotClient(bot_url) as client:
        with pytest.raises(BotResponseError, match="breaks the chat contract"):
            await client.chat("s", "broken")


async def test_a_slow_answer_times_out(bot_url: str) -> None:
    async with BotClient(bot_url, timeout_s=0.2) as client:
        with pytest.raises(BotTimeoutError, match=r"no answer within 0\.2s"):
            await client.chat("s", "slow")


async def test_each_conversation_opens_its_own_session_and_keeps_it(
    bot_url: str, fake_bot: FakeBot
) -> None:
    async with BotClient(bot_url) as client:
        await client.chat("a", "你好")
        await client.chat("b", "你好")
        await client.chat("a", "我要转人工")
        senders = [client.sender_of("a"), client.sender_of("b")]
    assert fake_bot.opened == 2
    assert [r["sender"] for r in fake_bot.received] == [senders[0], senders[1], senders[0]]
    assert fake_bot.refused == 0


async def test_a_forgotten_session_is_replaced_and_the_message_sent_again(
    bot_url: str, fake_bot: FakeBot
) -> None:
    async with BotClient(bot_url) as client:
        await client.chat("a", "forget")
        answer = await client.chat("a", "你好")
        assert client.sender_of("a") == "fake-2"
    assert answer.intent == "greet"
    assert (fake_bot.opened, fake_bot.refused) == (2, 1)
    assert [r["sender"] for r in fake_bot.received] == ["fake-1", "fake-2"]


@pytest.mark.parametrize(
    "body",
    [
        [],
        {
            "replies": [{"text": 5}],
            "intent": {"name": "x", "confidence": 1},
            "entities": {},
            "sources": [],
            "escalated": False,
        },
        {
            "replies": [],
            "intent": {"name": "x", "confidence": 1},
            "entities": {},
            "sources": "doc",
            "escalated": False,
        },
        {
            "replies": [],
            "intent": {"name": "x", "confidence": 1},
            "entities": {},
            "sources": [],
            "escalated": "no",
        },
        {"replies": [], "intent": {"name": "x"}, "entities": {}, "sources": [], "escalated": False},
    ],
)
def test_parse_answer_rejects_contract_violations(body: object) -> None:
    with pytest.raises(BotResponseError):
        parse_answer(body)


def test_client_outside_async_with_is_a_programming_error() -> None:
    with pytest.raises(RuntimeError, match="outside `async with`"):
        _ = BotClient("http://x").session

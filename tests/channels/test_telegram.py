"""The Telegram channel, driven through the real python-telegram-bot against a fake Bot API."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from bot.app import create_app
from bot.channels import telegram
from bot.channels.telegram_render import MAX_CHARS, file_url, split_text, utf16_len, webhook_secret
from bot.chat import FORGOTTEN_TEXT
from bot.clients.rasa import Button, Reply
from bot.desk.service import DISABLED_TEXT
from bot.keys import CONVERSATIONS, SENDERS, SETTINGS
from bot.launcher import Stack, free_port
from bot.settings import Settings
from bot.state.conversations import ConversationId
from tests.auxil import fake_rasa_replies as scripted
from tests.auxil.fake_rasa_replies import ScriptedRasa
from tests.auxil.fake_telegram import (
    BOT_USERNAME,
    PHOTO,
    STICKER,
    TOKEN,
    VOICE,
    FakeTelegram,
    callback_update,
    command_update,
    mention_update,
    message_update,
    reply_to_bot_update,
    serve,
)

SECRET = "s3cret_Token-1"
CHAT = 42
GROUP = -1001234
WEBHOOK_URL = "https://bot.example.org/telegram/webhook"
BotClient = TestClient[web.Request, web.Application]


@dataclass
class Harness:
    """A running bot app wired to a fake Bot API and a scripted Rasa."""

    client: BotClient
    tg: FakeTelegram
    rasa: ScriptedRasa
    webhook: bool

    @property
    def app(self) -> web.Application:
        return self.client.app

    async def push(self, update: dict[str, Any]) -> None:
        """Deliver an update the way the mode does: POST to the webhook, or via getUpdates."""
        if not self.webhook:
            self.tg.queue(update)
            return
        resp = await self.client.post(
            telegram.WEBHOOK_PATH, json=update, headers={telegram.SECRET_HEADER: SECRET}
        )
        assert resp.status == 200, await resp.text()

    async def reply_to(self, update: dict[str, Any], count: int = 1) -> list[dict[str, Any]]:
        """Push `update` and return the messages sent because of it."""
        before = len(self.tg.sent())
        await self.push(update)
        await self.tg.wait_for("sendMessage", before + count)
        return self.tg.sent()[before:]


def settings_for(tg_url: str, rasa_url: str, *, webhook: bool, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "rasa_url": rasa_url,
        "redis_url": None,
        "rasa_retries": 0,
        "action_server_url": f"http://127.0.0.1:{free_port()}",
        "telegram_bot_token": TOKEN,
        "telegram_api_base_url": f"{tg_url}/bot",
        "telegram_webhook_url": WEBHOOK_URL if webhook else None,
        "telegram_webhook_secret": SECRET if webhook else None,
        **overrides,
    }
    return Settings(**values)


@asynccontextmanager
async def running(
    webhook: bool, tg: FakeTelegram | None = None, **overrides: Any
) -> AsyncIterator[Harness]:
    """Fake Telegram and Rasa, then the bot app; stopped in reverse order."""
    tg, rasa = tg or FakeTelegram(), ScriptedRasa()
    async with serve(tg.app()) as tg_server, serve(rasa.app()) as rasa_server:
        tg_url = str(tg_server.make_url("")).rstrip("/")
        settings = settings_for(tg_url, str(rasa_server.make_url("")), webhook=webhook, **overrides)
        async with TestClient(TestServer(create_app(settings))) as client:
            yield Harness(client, tg, rasa, webhook)


@pytest.fixture(autouse=True)
def one_quick_server_error_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Requests retry a 5xx once, at once; the start-up tests count on it."""
    monkeypatch.setattr(telegram, "SERVER_ERROR_RETRY_S", (0.01,))


@pytest.fixture
async def bot() -> AsyncIterator[Harness]:
    async with running(webhook=True) as harness:
        yield harness


@pytest.fixture(params=["webhook", "polling"])
async def any_bot(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    async with running(webhook=request.param == "webhook") as harness:
        yield harness


def keyboard_of(message: dict[str, Any]) -> list[list[tuple[str, str]]]:
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return [[(b["text"], b["callback_data"]) for b in row] for row in rows]


# -- set-up and modes --------------------------------------------------------------------


async def test_without_a_token_the_channel_is_off() -> None:
    settings = Settings(redis_url=None, telegram_bot_token=None, telegram_webhook_url=None)
    async with TestClient(TestServer(create_app(settings))) as client:
        resp = await client.post(telegram.WEBHOOK_PATH, json={"update_id": 1})
        assert resp.status == 404
        assert telegram.TELEGRAM not in client.app


async def test_webhook_mode_registers_the_public_url_with_its_secret(bot: Harness) -> None:
    (params,) = bot.tg.sent("setWebhook")
    assert params["url"] == WEBHOOK_URL
    assert params["secret_token"] == SECRET
    assert params["allowed_updates"] == ["message", "callback_query"]
    assert bot.tg.sent("getUpdates") == []


async def test_polling_mode_picks_up_queued_updates_and_stops_cleanly() -> None:
    async with running(webhook=False) as harness:
        assert harness.tg.sent("setWebhook") == []
        assert harness.tg.sent("deleteWebhook")  # PTB's bootstrap before polling
        (reply,) = await harness.reply_to(message_update(CHAT, "你好"))
        assert reply["text"] == "echo: 你好"
    polls = harness.tg.sent("getUpdates")
    # On shutdown PTB confirms what it fetched with one last, non-blocking getUpdates.
    assert int(polls[-1]["offset"]) > int(polls[0].get("offset") or 0)
    assert polls[-1]["timeout"] == "0"


@pytest.mark.parametrize("webhook", [True, False])
async def test_the_bot_starts_while_telegram_is_down_and_joins_when_it_is_back(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, webhook: bool
) -> None:
    monkeypatch.setattr(telegram, "START_RETRY_S", (0.05,))
    tg = FakeTelegram()
    for _ in range(3):
        tg.fail_once("getMe", 502)
    async with running(webhook=webhook, tg=tg) as harness:
        # The web chat does not wait for Telegram.
        opened = await (await harness.client.post("/api/chat/session")).json()
        resp = await harness.client.post(
            "/api/chat",
            json={"sender": opened["sender"], "text": "你好"},
            headers={"Authorization": f"Bearer {opened['token']}"},
        )
        assert (await resp.json())["replies"][0]["text"] == "echo: 你好"
        for _ in range(200):
            if "telegram" in harness.app[SENDERS]:
                break
            await asyncio.sleep(0.05)
        assert [c.status for c in tg.calls if c.method == "getMe"][:3] == [502, 502, 502]
        (reply,) = await harness.reply_to(message_update(CHAT, "你好"))
        assert reply["text"] == "echo: 你好"
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("Telegram channel not started (NetworkError)" in w for w in warnings)
    assert not any(TOKEN in r.getMessage() for r in caplog.records)


async def test_a_reply_survives_three_server_errors_in_a_row(
    monkeypatch: pytest.MonkeyPatch, bot: Harness
) -> None:
    monkeypatch.setattr(telegram, "SERVER_ERROR_RETRY_S", (0.01, 0.02, 0.04))
    for status in (502, 500, 503):
        bot.tg.fail_once("sendMessage", status)
    (reply,) = await bot.reply_to(message_update(CHAT, "你好"))
    assert reply["text"] == "echo: 你好"
    attempts = [c.status for c in bot.tg.calls if c.method == "sendMessage"]
    assert attempts == [502, 500, 503, 200]


async def test_an_update_that_arrives_before_the_channel_runs_is_refused_for_redelivery(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(telegram, "START_RETRY_S", (60.0,))
    tg = FakeTelegram()
    for _ in range(2):  # the request itself retries a network error once
        tg.fail_once("getMe", 502)
    async with running(webhook=True, tg=tg) as harness:
        resp = await harness.client.post(
            telegram.WEBHOOK_PATH,
            json=message_update(CHAT, "你好"),
            headers={telegram.SECRET_HEADER: SECRET},
        )
        assert resp.status == 503
        assert (await resp.json())["error"]["code"] == "telegram_starting"
        assert "telegram" not in harness.app[SENDERS]
    # Shut down while still waiting to retry: nothing was sent, nothing hangs.
    assert tg.sent("sendMessage") == []


# -- the webhook route -------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {telegram.SECRET_HEADER: "wrong"}])
async def test_webhook_with_a_wrong_or_missing_secret_is_refused(
    bot: Harness, headers: dict[str, str]
) -> None:
    resp = await bot.client.post(
        telegram.WEBHOOK_PATH, json=message_update(CHAT, "你好"), headers=headers
    )
    assert resp.status == 403
    assert (await resp.json())["error"]["code"] == "forbidden"
    await bot.tg.settle()
    assert bot.rasa.received == []


@pytest.mark.parametrize(
    "secret",
    [SECRET[:-1], SECRET + "x", SECRET.upper(), SECRET.lower(), f"{SECRET}{SECRET}", "秘密", TOKEN],
    ids=["prefix", "longer", "upper", "lower", "twice", "not-ascii", "bot-token"],
)
async def test_webhook_refuses_a_secret_that_is_nearly_right(bot: Harness, secret: str) -> None:
    resp = await bot.client.post(
        telegram.WEBHOOK_PATH,
        json=message_update(CHAT, "你好"),
        headers={telegram.SECRET_HEADER: secret},
    )
    assert resp.status == 403
    await bot.tg.settle()
    assert bot.rasa.received == []


async def test_without_a_configured_secret_the_webhook_wants_the_derived_one() -> None:
    async with running(webhook=True, telegram_webhook_secret=None) as harness:
        derived = webhook_secret(harness.app[SETTINGS])
        assert harness.tg.sent("setWebhook")[0]["secret_token"] == derived
        for wrong in ({}, {telegram.SECRET_HEADER: SECRET}, {telegram.SECRET_HEADER: TOKEN}):
            resp = await harness.client.post(
                telegram.WEBHOOK_PATH, json=message_update(CHAT, "你好"), headers=wrong
            )
            assert resp.status == 403
        resp = await harness.client.post(
            telegram.WEBHOOK_PATH,
            json=message_update(CHAT, "你好"),
            headers={telegram.SECRET_HEADER: derived},
        )
        assert resp.status == 200
        await harness.tg.wait_for("sendMessage")
        assert harness.tg.texts() == ["echo: 你好"]


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"\xff\xfe",
        b"[1, 2]",
        b'{"update_id": "1"}',
        b'{"message": {}}',
        b'{"update_id": 1, "message": 5}',
        b'{"update_id": 1, "message": {"text": "hi"}}',
        b'{"update_id": 1, "message": {"message_id": 1, "date": "x", "chat": {}}}',
    ],
)
async def test_webhook_with_a_bad_body_gets_a_json_400(bot: Harness, body: bytes) -> None:
    resp = await bot.client.post(
        telegram.WEBHOOK_PATH,
        data=body,
        headers={telegram.SECRET_HEADER: SECRET, "Content-Type": "application/json"},
    )
    assert resp.status == 400
    assert (await resp.json())["error"]["code"] in {"invalid_json", "invalid_update"}


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json; charset=bogus",
        "application/json; charset=undefined",
        "application/json; charset=latin-1",
        "text/plain",
    ],
)
async def test_webhook_reads_utf8_json_whatever_charset_the_request_names(
    bot: Harness, content_type: str
) -> None:
    # A charset Python cannot decode with used to end in a 503 (LookupError, UnicodeError).
    update = message_update(CHAT, "你好")
    resp = await bot.client.post(
        telegram.WEBHOOK_PATH,
        data=json.dumps(update, ensure_ascii=False).encode(),
        headers={telegram.SECRET_HEADER: SECRET, "Content-Type": content_type},
    )
    assert resp.status == 200
    await bot.tg.wait_for("sendMessage")
    assert bot.tg.texts() == ["echo: 你好"]


def _message_with(**fields: Any) -> dict[str, Any]:
    update = message_update(CHAT, "你好")
    update["message"].update(fields)
    return update


NOT_UPDATES = {
    "nested-too-deep": b"[" * 5000 + b"]" * 5000,
    "integer-too-long": b'{"update_id": ' + b"9" * 5000 + b"}",
    "lone-surrogate": json.dumps(message_update(CHAT, "你\ud800好")).encode(),
    "update-id-true": json.dumps({**message_update(CHAT, "你好"), "update_id": True}).encode(),
    "chat-id-true": json.dumps(_message_with(chat={"id": True, "type": "private"})).encode(),
    "chat-id-text": json.dumps(_message_with(chat={"id": "42", "type": "private"})).encode(),
    "chat-missing": json.dumps(_message_with(chat=None)).encode(),
    "date-overflow": json.dumps(_message_with(date=10**20)).encode(),
    "text-a-number": json.dumps(_message_with(text=5)).encode(),
    "from-id-text": json.dumps(
        _message_with(**{"from": {"id": "555", "is_bot": False, "first_name": "Li"}})
    ).encode(),
    "entity-offset-text": json.dumps(
        _message_with(entities=[{"type": "bot_command", "offset": "0", "length": 2}])
    ).encode(),
}


@pytest.mark.parametrize("body", NOT_UPDATES.values(), ids=NOT_UPDATES.keys())
async def test_webhook_refuses_a_body_that_is_no_update_with_a_400_not_an_error(
    bot: Harness, caplog: pytest.LogCaptureFixture, body: bytes
) -> None:
    # Each of these used to be a 503, or a handler failure with an apology to the user.
    resp = await bot.client.post(
        telegram.WEBHOOK_PATH,
        data=body,
        headers={telegram.SECRET_HEADER: SECRET, "Content-Type": "application/json"},
    )
    assert resp.status == 400
    assert (await resp.json())["error"]["code"] in {"invalid_json", "invalid_update"}
    await bot.tg.settle()
    assert bot.tg.sent() == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_redelivered_update_is_answered_once(bot: Harness) -> None:
    update = message_update(CHAT, "你好")
    await bot.reply_to(update)
    await bot.push(update)
    await bot.tg.settle()
    assert bot.tg.texts() == ["echo: 你好"]
    assert len(bot.rasa.received) == 1


# -- messages ----------------------------------------------------------------------------


async def test_text_goes_to_rasa_and_the_reply_comes_with_an_inline_keyboard(
    any_bot: Harness,
) -> None:
    (reply,) = await any_bot.reply_to(message_update(CHAT, "  你好  "))
    assert reply["chat_id"] == str(CHAT)
    assert reply["text"] == "echo: 你好"
    assert keyboard_of(reply) == [[("人才", "/ask_talent")]]
    (received,) = any_bot.rasa.received
    assert received["sender"] == f"telegram:{CHAT}"
    assert received["metadata"] == {"channel": "telegram", "script": "hans"}


async def test_typing_is_shown_before_the_reply(bot: Harness) -> None:
    await bot.reply_to(message_update(CHAT, "你好"))
    methods = [c.method for c in bot.tg.calls if c.method in {"sendChatAction", "sendMessage"}]
    assert methods == ["sendChatAction", "sendMessage"]
    assert bot.tg.sent("sendChatAction")[0] == {"chat_id": str(CHAT), "action": "typing"}


async def test_the_chat_address_is_stored_on_the_conversation(bot: Harness) -> None:
    await bot.reply_to(message_update(CHAT, "你好"))
    state = await bot.app[CONVERSATIONS].state(ConversationId("telegram", str(CHAT)))
    assert state["channel"] == "telegram"
    assert state["chat_id"] == str(CHAT)
    assert state["chat_type"] == "private"
    assert state["username"] == "li_user"
    assert state["display_name"] == "Li"


@pytest.mark.parametrize(
    ("command", "to_rasa", "text"),
    [
        ("/start", "/greet", scripted.GREETING),
        ("/help", "/help", scripted.HELP),
        ("/human", "/request_human", scripted.HANDOFF),
        ("/reset", "/restart", telegram.RESET_TEXT),
        ("/unknown", "/help", scripted.HELP),
    ],
)
async def test_commands_send_their_rasa_payload(
    bot: Harness, command: str, to_rasa: str, text: str
) -> None:
    # /human also gets the desk's answer: here no agents are configured, so it declines.
    human = command == "/human"
    replies = await bot.reply_to(command_update(CHAT, command), count=2 if human else 1)
    assert bot.rasa.messages == [to_rasa]
    assert replies[0]["text"] == text
    if human:
        assert replies[1]["text"] == DISABLED_TEXT


async def test_start_shows_the_four_topic_buttons_in_one_row(bot: Harness) -> None:
    (reply,) = await bot.reply_to(command_update(CHAT, "/start"))
    assert keyboard_of(reply) == [
        [
            ("人才", "/ask_talent"),
            ("资金", "/ask_funding"),
            ("园区", "/ask_park"),
            ("许可", "/ask_permit"),
        ]
    ]


async def test_topics_shows_the_topic_buttons_without_asking_rasa(bot: Harness) -> None:
    (reply,) = await bot.reply_to(command_update(CHAT, "/topics"))
    assert reply["text"] == telegram.TOPICS_TEXT
    assert [title for row in keyboard_of(reply) for title, _ in row] == [
        "人才",
        "资金",
        "园区",
        "许可",
    ]
    assert bot.rasa.received == []


async def test_forget_deletes_the_state_and_resets_the_rasa_tracker(bot: Harness) -> None:
    conv = ConversationId("telegram", str(CHAT))
    await bot.reply_to(message_update(CHAT, "你好"))
    assert await bot.app[CONVERSATIONS].history(conv)
    (reply,) = await bot.reply_to(command_update(CHAT, "/forget"))
    assert reply["text"] == FORGOTTEN_TEXT
    assert bot.rasa.resets == [f"telegram:{CHAT}"]
    assert await bot.app[CONVERSATIONS].history(conv) == []
    assert await bot.app[CONVERSATIONS].state(conv) == {}


async def test_a_button_press_is_answered_and_its_payload_reaches_rasa(any_bot: Harness) -> None:
    update = callback_update(CHAT, "/ask_park")
    (reply,) = await any_bot.reply_to(update)
    (answered,) = any_bot.tg.sent("answerCallbackQuery")
    assert answered["callback_query_id"] == update["callback_query"]["id"]
    assert any_bot.rasa.messages == ["/ask_park"]
    assert reply["text"] == "请问您想了解产业园区方面的什么问题？"


@pytest.mark.parametrize(
    "media", [{"sticker": STICKER}, {"photo": PHOTO}, {"voice": VOICE, "caption": "听听"}]
)
async def test_stickers_photos_and_voice_get_the_text_only_reply(
    bot: Harness, media: dict[str, Any]
) -> None:
    (reply,) = await bot.reply_to(message_update(CHAT, **media))
    assert reply["text"] == telegram.TEXT_ONLY_TEXT
    assert bot.rasa.received == []


async def test_a_too_long_message_is_refused_politely() -> None:
    async with running(webhook=True, max_text_chars=10) as harness:
        (reply,) = await harness.reply_to(message_update(CHAT, "长" * 11))
        assert reply["text"] == telegram.TOO_LONG_TEXT.format(limit=10)
        assert harness.rasa.received == []


async def test_a_long_reply_is_split_at_sentence_ends(bot: Harness) -> None:
    long_text = "".join(f"第{i}句话讲的是嘉定区的产业园区政策。" for i in range(600))
    assert len(long_text) > 2 * MAX_CHARS
    bot.rasa.script["长回答"] = [{"text": long_text, "buttons": scripted.TOPICS}]
    replies = await bot.reply_to(message_update(CHAT, "长回答"), count=3)
    await bot.tg.settle()
    assert len(bot.tg.sent()) == 3
    assert all(len(r["text"]) <= MAX_CHARS for r in replies)
    assert all(r["text"].endswith("。") for r in replies)
    assert "".join(r["text"] for r in replies) == long_text
    assert [bool(r.get("reply_markup")) for r in replies] == [False, False, True]


# -- groups ------------------------------------------------------------------------------


async def test_group_messages_are_answered_only_when_addressed(bot: Harness) -> None:
    await bot.push(message_update(GROUP, "大家好"))
    await bot.push(message_update(GROUP, sticker=STICKER))
    await bot.tg.settle()
    assert bot.tg.sent() == []
    assert bot.rasa.received == []
    (reply,) = await bot.reply_to(mention_update(GROUP, "嘉定有多少园区？"))
    assert reply["text"] == "echo: 嘉定有多少园区？"
    (reply,) = await bot.reply_to(reply_to_bot_update(GROUP, "那南湖呢？"))
    assert reply["text"] == "echo: 那南湖呢？"
    (reply,) = await bot.reply_to(mention_update(GROUP, ""))
    assert reply["text"] == scripted.HELP
    assert bot.rasa.messages == ["嘉定有多少园区？", "那南湖呢？", "/help"]
    assert {m["sender"] for m in bot.rasa.received} == {f"telegram:{GROUP}"}


async def test_a_mention_entity_that_splits_an_emoji_is_no_mention_and_no_error(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    # Telegram counts offsets in UTF-16 units: offset 1 is inside the emoji. Reading that
    # entity with PTB's parser raised UnicodeDecodeError, and the group got an apology.
    text = f"😀@{BOT_USERNAME} 你好"
    mention = {"type": "mention", "length": len(BOT_USERNAME) + 1}
    await bot.push(message_update(GROUP, text, entities=[{**mention, "offset": 1}]))
    await bot.tg.settle()
    assert bot.tg.sent() == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    (reply,) = await bot.reply_to(message_update(GROUP, text, entities=[{**mention, "offset": 2}]))
    assert reply["text"] == "echo: 😀  你好"


# -- ordering, rate limits and failures --------------------------------------------------


async def test_chats_run_concurrently_but_each_chat_stays_in_order(bot: Harness) -> None:
    bot.rasa.delays["慢"] = 0.5
    await bot.push(message_update(CHAT, "慢"))
    await bot.push(message_update(CHAT, "快"))
    await bot.push(message_update(CHAT + 1, "别人"))
    await bot.tg.wait_for("sendMessage", 3)
    assert bot.tg.texts() == ["echo: 别人", "echo: 慢", "echo: 快"]


async def test_a_429_retry_after_is_waited_out_and_the_message_delivered(bot: Harness) -> None:
    bot.tg.fail_once("sendMessage", 429, retry_after=1)
    started = time.monotonic()
    (reply,) = await bot.reply_to(message_update(CHAT, "你好"))
    assert time.monotonic() - started >= 1.0
    assert reply["text"] == "echo: 你好"
    statuses = [c.status for c in bot.tg.calls if c.method == "sendMessage"]
    assert statuses == [429, 200]


async def test_a_server_error_is_retried_once(bot: Harness) -> None:
    bot.tg.fail_once("sendMessage", 502)
    (reply,) = await bot.reply_to(message_update(CHAT, "你好"))
    assert reply["text"] == "echo: 你好"
    assert [c.status for c in bot.tg.calls if c.method == "sendMessage"] == [502, 200]


async def test_an_error_is_logged_with_its_traceback_and_the_user_gets_an_apology(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    bot.tg.fail_once("sendMessage", 400)  # a bad request is not retried: the handler fails
    (reply,) = await bot.reply_to(message_update(CHAT, "你好"))
    assert reply["text"] == telegram.SORRY_TEXT
    (record,) = [r for r in caplog.records if r.name == "bot.channels.telegram"]
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None


async def test_the_token_and_secret_never_reach_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for webhook in (True, False):
        async with running(webhook=webhook) as harness:
            await harness.reply_to(message_update(CHAT, "我的秘密问题"))
    messages = [r.getMessage() for r in caplog.records]
    assert any("Set Bot API URL" in m for m in messages)  # PTB did log its URL …
    assert not [m for m in messages if TOKEN in m or SECRET in m]  # … redacted
    info = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert not [m for m in info if "我的秘密问题" in m]


# -- pure helpers ------------------------------------------------------------------------


def test_split_text_prefers_sentence_ends_and_falls_back_to_a_hard_split() -> None:
    assert split_text("短句。") == ["短句。"]
    assert split_text("一二三。四五六！七八九", limit=5) == ["一二三。", "四五六！", "七八九"]
    assert split_text("第一行\n第二行", limit=5) == ["第一行", "第二行"]
    assert split_text("一二三四五六七", limit=3) == ["一二三", "四五六", "七"]
    assert split_text("   ") == []


def test_split_text_counts_like_telegram_with_emoji_as_two_units() -> None:
    chunks = split_text("😀" * 5000)
    assert all(utf16_len(c) <= MAX_CHARS for c in chunks)
    assert "".join(chunks) == "😀" * 5000


def test_buttons_without_text_still_get_a_message_and_long_payloads_are_dropped() -> None:
    from bot.channels.telegram_render import BUTTONS_ONLY_TEXT, messages

    reply = Reply("", (Button("好", "/ok"), Button("太长", "/" + "x" * 64)))
    ((text, markup),) = messages(reply)
    assert text == BUTTONS_ONLY_TEXT
    assert markup is not None
    assert [[b.callback_data for b in row] for row in markup.inline_keyboard] == [["/ok"]]


def test_the_file_url_follows_the_api_url() -> None:
    assert file_url("http://127.0.0.1:9/bot") == "http://127.0.0.1:9/file/bot"
    assert file_url("https://api.telegram.org/bot") == "https://api.telegram.org/file/bot"


def test_without_a_configured_secret_a_stable_one_is_derived_from_the_token() -> None:
    settings = Settings(telegram_bot_token=SecretStr(TOKEN), telegram_webhook_secret=None)
    secret = webhook_secret(settings)
    assert secret == webhook_secret(settings)
    assert TOKEN not in secret
    assert len(secret) == 64
    assert secret.isalnum()


# -- the real stack ----------------------------------------------------------------------


@pytest.mark.stack
async def test_a_telegram_question_is_answered_by_the_real_stack_with_a_source(
    stack: Stack, redis_url: str
) -> None:
    tg = FakeTelegram()
    async with serve(tg.app()) as tg_server:
        tg_url = str(tg_server.make_url("")).rstrip("/")
        settings = settings_for(
            tg_url, stack.rasa_url, webhook=True, redis_url=redis_url, rasa_timeout_s=30.0
        )
        async with TestClient(TestServer(create_app(settings))) as client:
            update = message_update(CHAT + 1000, "嘉定一共有多少家特色产业园区？")
            resp = await client.post(
                telegram.WEBHOOK_PATH,
                data=json.dumps(update),
                headers={telegram.SECRET_HEADER: SECRET, "Content-Type": "application/json"},
            )
            assert resp.status == 200
            await tg.wait_for("sendMessage", within_s=60)
    text = "\n".join(tg.texts())
    assert "19家" in text
    assert "来源" in text

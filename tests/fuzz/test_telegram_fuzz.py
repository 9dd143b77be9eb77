"""Fuzzing the Telegram webhook (`POST /telegram/webhook`): every call gets a clear 4xx or a
200, every update the bot takes is handled without an error, and what it says is polite.

The bot runs for real (real Redis, real HTTP, python-telegram-bot) against the fake Bot API
and the scripted fake Rasa.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest
from hypothesis import event, given
from pydantic import SecretStr
from telegram import Update
from telegram.ext import Application, ContextTypes, TypeHandler

from bot.app import create_app
from bot.channels.telegram import (
    RESET_TEXT,
    SORRY_TEXT,
    TELEGRAM,
    TEXT_ONLY_TEXT,
    TOO_LONG_TEXT,
    TOPICS_TEXT,
)
from bot.channels.telegram_render import BUTTONS_ONLY_TEXT
from bot.launcher import free_port
from bot.settings import Settings
from tests.auxil.fake_rasa_replies import ScriptedRasa
from tests.auxil.fake_telegram import TOKEN, FakeTelegram, serve
from tests.fuzz.checks import assert_handled
from tests.fuzz.driver import Driver, ErrorLogs, fuzz_settings, run_examples
from tests.fuzz.polite import COMMON_NOTICES, RASA_TEXTS, assert_polite, prefixes
from tests.fuzz.telegram_cases import SECRET, Case, webhook_calls

EXAMPLES = 10_000
MAX_TEXT_CHARS = 2000
PROCESSING_TIMEOUT_S = 5.0
ALLOWED = prefixes(
    [
        *RASA_TEXTS,
        *COMMON_NOTICES,
        RESET_TEXT,
        TOPICS_TEXT,
        TEXT_ONLY_TEXT,
        BUTTONS_ONLY_TEXT,
        TOO_LONG_TEXT.format(limit=MAX_TEXT_CHARS),
    ]
)


class Probe:
    """Sees each update once the bot's own handlers are done with it.

    A handler in a later group than the bot's runs after them (and after the error handler),
    so waiting for it means the update was handled, whatever the outcome.
    """

    def __init__(self) -> None:
        self.handled: Counter[int] = Counter()
        self._done: dict[int, asyncio.Event] = {}

    def attach(self, application: Application) -> None:  # type: ignore[type-arg]
        """Watch `application`'s updates."""
        application.add_handler(TypeHandler(Update, self._observe), group=1)

    async def _observe(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        self.handled[update.update_id] += 1
        self._event(update.update_id).set()

    def _event(self, update_id: int) -> asyncio.Event:
        return self._done.setdefault(update_id, asyncio.Event())

    async def wait(self, update_id: int) -> None:
        """Until the update was handled; a hang fails the example."""
        try:
            await asyncio.wait_for(self._event(update_id).wait(), PROCESSING_TIMEOUT_S)
        except TimeoutError:
            raise AssertionError(f"update {update_id} was not handled in time") from None


@dataclass
class Rig:
    """The bot's address, its fakes and what the run has seen."""

    host: str
    port: int
    tg: FakeTelegram
    rasa: ScriptedRasa
    probe: Probe
    accepted: set[int] = field(default_factory=set)
    """Update ids the bot took: a call repeating one is a redelivery."""


@asynccontextmanager
async def telegram_bot(redis_url: str) -> AsyncIterator[Rig]:
    """Fake Bot API and Rasa, then the bot in webhook mode."""
    tg, rasa = FakeTelegram(), ScriptedRasa()
    async with serve(tg.app()) as tg_server, serve(rasa.app()) as rasa_server:
        settings = Settings(
            rasa_url=str(rasa_server.make_url("")),
            rasa_retries=0,
            redis_url=redis_url,
            redis_key_prefix=f"fuzz-telegram-{uuid.uuid4().hex[:8]}:",
            action_server_url=f"http://127.0.0.1:{free_port()}",
            max_text_chars=MAX_TEXT_CHARS,
            telegram_bot_token=SecretStr(TOKEN),
            telegram_api_base_url=f"{str(tg_server.make_url('')).rstrip('/')}/bot",
            telegram_webhook_url="https://bot.example.org/telegram/webhook",
            telegram_webhook_secret=SecretStr(SECRET),
        )
        app = create_app(settings)
        async with serve(app) as bot:
            assert app[TELEGRAM].running, "the Telegram channel did not start"
            probe = Probe()
            probe.attach(app[TELEGRAM])
            yield Rig(bot.host, bot.port or 0, tg, rasa, probe)


def sent_since(tg: FakeTelegram, start: int) -> list[tuple[str, str]]:
    """(chat id, text) of the messages sent after call number `start`."""
    return [
        (str(call.params["chat_id"]), str(call.params["text"]))
        for call in tg.calls[start:]
        if call.method == "sendMessage"
    ]


def check_handling(rig: Rig, driver: Driver, case: Case, calls_before: int) -> None:
    """A new update is handled; its chat gets a polite answer (or none, when not addressed)."""
    assert case.update_id is not None
    if case.update_id in rig.accepted:
        return  # a redelivery: not handled again (counted at the end)
    rig.accepted.add(case.update_id)
    driver.run(rig.probe.wait(case.update_id))
    sent = sent_since(rig.tg, calls_before)
    for _, text in sent:
        assert SORRY_TEXT not in text, "the bot apologised for a failure"
    if case.chat_id is None:
        return
    texts = [text for chat, text in sent if chat == str(case.chat_id)]
    if case.replies is True:
        assert texts, f"no answer in chat {case.chat_id}"
    if case.replies is False:
        assert not texts, f"an answer to a message not meant for the bot: {texts}"
    if texts:
        assert_polite(texts[0], ALLOWED)


@pytest.mark.fuzz
async def test_every_telegram_call_gets_a_clear_4xx_or_is_handled_politely(
    redis_url: str, error_logs: ErrorLogs
) -> None:
    ran = 0
    async with telegram_bot(redis_url) as rig:
        driver = Driver(asyncio.get_running_loop(), rig.host, rig.port)

        @fuzz_settings(EXAMPLES)
        @given(webhook_calls())
        def examples(case: Case) -> None:
            nonlocal ran
            ran += 1
            event(case.kind)
            mark, calls_before = error_logs.mark(), len(rig.tg.calls)
            response = driver.send(case.request)
            assert_handled(case.request, response, case.expected)
            if response.status == 200:
                assert response.json() == {"ok": True}
                check_handling(rig, driver, case, calls_before)
            error_logs.check(mark)

        await run_examples(examples, driver)
    assert ran >= EXAMPLES
    error_logs.check()
    assert max(rig.probe.handled.values()) == 1, "an update was handled twice"
    assert rig.rasa.received, "no message reached Rasa: the fuzzing missed the whole path"

"""Telegram channel: python-telegram-bot running inside our aiohttp server.

Webhook mode when `TELEGRAM_WEBHOOK_URL` is set (Telegram POSTs updates to
`/telegram/webhook`, which checks the secret header and queues them); long polling otherwise.
Either way every text goes through `ChatService`, like the web chat's.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import itertools
import logging
import os
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeAlias

from aiohttp import web
from telegram import Bot, Update
from telegram.constants import ChatAction
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError, TimedOut
from telegram.ext import (
    AIORateLimiter,
    Application,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ExtBot,
    MessageHandler,
    filters,
)

from bot.channels import telegram_render as render
from bot.chat import HUMAN_PAYLOAD, ChatService, notice
from bot.clients.rasa import Button, Reply, Turn
from bot.desk.errors import DeliveryRejectedError, DeliveryRetryableError
from bot.errors import error_response, read_json
from bot.keys import CHAT, CONVERSATIONS, REDIS, SENDERS, SETTINGS
from bot.settings import Settings
from bot.state.conversations import ConversationId
from bot.state.dedupe import first_sighting
from bot.state.keys import Keys
from bot.state.redis import StateError

log = logging.getLogger(__name__)

TelegramApp: TypeAlias = Application[
    ExtBot[int], ContextTypes.DEFAULT_TYPE, dict[Any, Any], dict[Any, Any], dict[Any, Any], None
]
Context: TypeAlias = ContextTypes.DEFAULT_TYPE
TELEGRAM = web.AppKey("telegram", Application)
"""The running PTB application (set while the aiohttp app runs)."""

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 -- a header name
ALLOWED_UPDATES = (Update.MESSAGE, Update.CALLBACK_QUERY)
# Pauses between start-up attempts while Telegram cannot be reached; the last one repeats.
START_RETRY_S = (1.0, 2.0, 5.0, 15.0, 30.0, 60.0)
POLL_TIMEOUT_S = 10
TYPING_EVERY_S = 4.0
RATE_LIMIT_RETRIES = 3
SERVER_ERROR_RETRY_S = (1.0, 2.0, 4.0)
"""Pauses before each new try after a Telegram 5xx or a dropped connection."""
MAX_CONCURRENT_UPDATES = 256
WEB_APP = "web_app"  # bot_data key of our aiohttp application

# Rasa intent payloads (rasa_project/domain.yml; "/restart" is Rasa's built-in restart).
GREET_PAYLOAD = "/greet"
HELP_PAYLOAD = "/help"
RESTART_PAYLOAD = "/restart"
TOPIC_BUTTONS = (
    Button("人才", "/ask_talent"),
    Button("资金", "/ask_funding"),
    Button("园区", "/ask_park"),
    Button("许可", "/ask_permit"),
)
TOPICS_TEXT = "请选择您想了解的主题："
RESET_TEXT = "已开始新的对话，之前的上下文不再影响回答。"
TEXT_ONLY_TEXT = "目前只支持文字消息，请用文字提问。"
TOO_LONG_TEXT = "您的消息太长了，请控制在{limit}字以内。"
SORRY_TEXT = "抱歉，处理您的消息时出了点问题，请稍后再试。"


class RetryingRateLimiter(AIORateLimiter):
    """PTB's limiter (which waits out a 429's retry_after), plus retries after a 5xx."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        request = (callback, args, kwargs, endpoint, data, rate_limit_args)
        for pause in SERVER_ERROR_RETRY_S:
            try:
                return await super().process_request(*request)
            except (TimedOut, BadRequest):
                raise  # a timed-out message may have arrived; a bad request stays bad
            except NetworkError as exc:
                log.warning("Telegram %s failed (%s); trying again in %.0fs", endpoint, exc, pause)
                await asyncio.sleep(pause)
        return await super().process_request(*request)


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Handles chats concurrently, but each chat's updates one at a time and in order."""

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: Counter[int] = Counter()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        self._users[chat.id] += 1
        try:
            async with self._locks.setdefault(chat.id, asyncio.Lock()):
                await coroutine
        finally:
            self._users[chat.id] -= 1
            if not self._users[chat.id]:
                del self._users[chat.id], self._locks[chat.id]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""


def build_application(settings: Settings, token: str, web_app: web.Application) -> TelegramApp:
    """All the wiring in one place: bot, rate limiter, update processing and handlers."""
    builder = (
        Application.builder()
        .token(token)
        .base_url(settings.telegram_api_base_url)
        .base_file_url(render.file_url(settings.telegram_api_base_url))
        .rate_limiter(RetryingRateLimiter(max_retries=RATE_LIMIT_RETRIES))
        .concurrent_updates(ChatOrderedProcessor(MAX_CONCURRENT_UPDATES))
        .job_queue(None)
    )
    if settings.telegram_webhook_url:
        builder = builder.updater(None)  # updates arrive through our own aiohttp route
    application = builder.build()
    application.bot_data[WEB_APP] = web_app
    application.add_handlers(
        [
            CommandHandler("start", start),
            CommandHandler("help", help_command),
            CommandHandler("topics", topics),
            CommandHandler("human", human),
            CommandHandler("reset", reset),
            CommandHandler("forget", forget),
            MessageHandler(filters.COMMAND & filters.ChatType.PRIVATE, help_command),
            MessageHandler(filters.UpdateType.MESSAGE & filters.TEXT, on_text),
            MessageHandler(filters.UpdateType.MESSAGE & filters.ATTACHMENT, on_attachment),
            CallbackQueryHandler(on_button),
        ]
    )
    application.add_error_handler(on_error)
    return application


def setup(app: web.Application) -> None:
    """Register the channel's routes and lifecycle on `app` when it is configured."""
    settings = app[SETTINGS]
    if settings.telegram_bot_token is None:
        return
    # PTB 22 warns (PTBDeprecationWarning) whenever it builds a RetryAfter for a 429 unless
    # time periods are opted in to `timedelta`; we use none of them as ints, so opt in.
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    # httpx logs every request URL at INFO, and Bot API URLs contain the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    render.REDACT.secrets.add(settings.telegram_bot_token.get_secret_value())
    for name in ("telegram.Bot", "telegram.ext.ExtBot", "httpx", __name__):
        if render.REDACT not in logging.getLogger(name).filters:
            logging.getLogger(name).addFilter(render.REDACT)
    if settings.telegram_webhook_url:
        render.REDACT.secrets.add(render.webhook_secret(settings))
        app.router.add_post(WEBHOOK_PATH, webhook)
    app.cleanup_ctx.append(_lifecycle)


@asynccontextmanager
async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    token = settings.telegram_bot_token.get_secret_value() if settings.telegram_bot_token else ""
    application = build_application(settings, token, app)
    app[TELEGRAM] = application
    retrying: asyncio.Task[None] | None = None
    try:
        await _start_channel(app, application)
    except TelegramError as exc:
        # The web chat, WeChat and the desk do not need Telegram: run without it for now.
        log.warning(
            "Telegram channel not started (%s); the bot runs without it and keeps trying",
            type(exc).__name__,
        )
        retrying = asyncio.create_task(_keep_starting(app, application))
    try:
        yield
    finally:
        if retrying is not None:
            retrying.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await retrying
        app[SENDERS].pop("telegram", None)
        if application.updater and application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
        await application.shutdown()


async def _start_channel(app: web.Application, application: TelegramApp) -> None:
    """Log in, register the webhook or start polling, start handling updates."""
    settings = app[SETTINGS]
    await application.initialize()
    if settings.telegram_webhook_url:
        await application.bot.set_webhook(
            settings.telegram_webhook_url,
            secret_token=render.webhook_secret(settings),
            allowed_updates=ALLOWED_UPDATES,
        )
    elif application.updater and not application.updater.running:
        await application.updater.start_polling(
            timeout=POLL_TIMEOUT_S, allowed_updates=ALLOWED_UPDATES
        )
    await application.start()
    mode = "webhook" if settings.telegram_webhook_url else "polling"
    log.info("Telegram channel running as @%s (%s)", application.bot.username, mode)

    async def send(chat_id: str, text: str) -> None:
        await deliver(application.bot, chat_id, text)

    app[SENDERS]["telegram"] = send


async def _keep_starting(app: web.Application, application: TelegramApp) -> None:
    """Try again with growing pauses until the channel runs (cancelled at shutdown)."""
    pauses = itertools.chain(START_RETRY_S, itertools.repeat(START_RETRY_S[-1]))
    pause = next(pauses)
    for attempt in itertools.count(2):
        await asyncio.sleep(pause)
        try:
            await _start_channel(app, application)
        except TelegramError as exc:
            pause = next(pauses)
            log.warning(
                "Telegram channel not started (attempt %d, %s); next try in %.0f s",
                attempt,
                type(exc).__name__,
                pause,
            )
        else:
            return


async def deliver(bot: Bot, chat_id: str, text: str) -> None:
    """Send a desk message (an agent's reply, a notice) to a chat, for the delivery worker."""
    try:
        for part, markup in render.messages(Reply(text=text)):
            await bot.send_message(int(chat_id), part, reply_markup=markup)
    except (Forbidden, BadRequest) as exc:
        # Blocked by the user, or the chat is gone: retrying cannot help.
        raise DeliveryRejectedError(f"Telegram refused the message: {exc.message}") from exc
    except TelegramError as exc:
        raise DeliveryRetryableError(f"Telegram failed: {exc.message}") from exc


async def webhook(request: web.Request) -> web.Response:
    """Receive one update from Telegram: check the secret, queue the update, answer 200."""
    expected = render.webhook_secret(request.app[SETTINGS]).encode()
    given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "replace")
    if not hmac.compare_digest(given, expected):
        return error_response(403, "forbidden", "Wrong or missing secret token.")
    body = await read_json(request)
    if isinstance(body, web.Response):
        return body
    application = request.app[TELEGRAM]
    if not application.running:
        # Telegram redelivers an update it did not get a 200 for, so nothing is lost.
        return error_response(
            503, "telegram_starting", "The Telegram channel is starting; try again later."
        )
    update = render.parse_update(body, application.bot)
    if update is None:
        return error_response(400, "invalid_update", "The body is not a Telegram update.")
    if await _first_sighting(request.app, update.update_id):
        await application.update_queue.put(update)
    return web.json_response({"ok": True})


async def _first_sighting(app: web.Application, update_id: int) -> bool:
    """False for an update Telegram redelivered (a retry may reach any replica)."""
    keys = Keys(app[SETTINGS].redis_key_prefix)
    try:
        return await first_sighting(app[REDIS], keys, "telegram", str(update_id))
    except StateError as exc:
        log.warning("dedupe unavailable, handling the update anyway: %s", exc)
        return True


async def start(update: Update, context: Context) -> None:
    """Greet the user and offer the topics (Rasa's greeting)."""
    await _ask(update, context, GREET_PAYLOAD)


async def help_command(update: Update, context: Context) -> None:
    """Say what the bot can answer (Rasa's help reply)."""
    await _ask(update, context, HELP_PAYLOAD)


async def topics(update: Update, context: Context) -> None:
    """Show the four topic buttons."""
    await _send(update, context, Turn(replies=[Reply(TOPICS_TEXT, TOPIC_BUTTONS)]))


async def human(update: Update, context: Context) -> None:
    """Ask for a human agent."""
    await _ask(update, context, HUMAN_PAYLOAD)


async def reset(update: Update, context: Context) -> None:
    """Restart the dialogue (Rasa's /restart) but keep the message log."""
    turn = await _turn(update, context, RESTART_PAYLOAD)
    await _send(update, context, turn if turn.replies else notice(RESET_TEXT))


async def forget(update: Update, context: Context) -> None:
    """Delete everything stored about this chat."""
    conv = _conversation(update)
    if conv is not None:
        await _send(update, context, await _chat(context).forget(conv))


async def on_text(update: Update, context: Context) -> None:
    """Answer a text message (in groups only when it is addressed to the bot)."""
    if update.message is None:
        return
    text = render.addressed_text(update.message, context.bot.bot)
    if text is None:
        return
    if not text:  # just "@bot": say what it can do
        await _ask(update, context, HELP_PAYLOAD)
        return
    limit = _web(context)[SETTINGS].max_text_chars
    if len(text) > limit:
        await _send(update, context, notice(TOO_LONG_TEXT.format(limit=limit)))
        return
    await _ask(update, context, text)


async def on_attachment(update: Update, context: Context) -> None:
    """Say politely that only text is understood."""
    if update.message is None:
        return
    if render.addressed_text(update.message, context.bot.bot) is not None:
        await _send(update, context, notice(TEXT_ONLY_TEXT))


async def on_button(update: Update, context: Context) -> None:
    """Acknowledge a button press and send its payload on like a message."""
    query = update.callback_query
    if query is None:
        return
    await query.answer()
    if isinstance(query.data, str) and query.data:
        await _ask(update, context, query.data)


async def on_error(update: object, context: Context) -> None:
    """Log the failure with its traceback and give the user a short apology."""
    log.error("a Telegram update could not be handled", exc_info=context.error)
    chat = update.effective_chat if isinstance(update, Update) else None
    if chat is not None:
        with contextlib.suppress(TelegramError):
            await context.bot.send_message(chat.id, SORRY_TEXT)


def _web(context: Context) -> web.Application:
    app: web.Application = context.bot_data[WEB_APP]
    return app


def _chat(context: Context) -> ChatService:
    return _web(context)[CHAT]


def _conversation(update: Update) -> ConversationId | None:
    chat = update.effective_chat
    return ConversationId("telegram", str(chat.id)) if chat else None


async def _ask(update: Update, context: Context, text: str) -> None:
    await _send(update, context, await _turn(update, context, text))


async def _turn(update: Update, context: Context, text: str) -> Turn:
    conv = _conversation(update)
    if conv is None or update.effective_chat is None:
        return Turn()
    await _remember(update, context, conv)
    async with _typing(context.bot, update.effective_chat.id):
        return await _chat(context).handle(conv, text, {"channel": "telegram"})


async def _remember(update: Update, context: Context, conv: ConversationId) -> None:
    """Store the chat's address (and who wrote) on the conversation."""
    fields = {"channel": conv.channel, "chat_id": conv.chat_id}
    if update.effective_chat:
        fields["chat_type"] = update.effective_chat.type
    if user := update.effective_user:
        fields["display_name"] = user.full_name
        if user.username:
            fields["username"] = user.username
    try:
        await _web(context)[CONVERSATIONS].update(conv, **fields)
    except StateError as exc:
        log.warning("could not store the Telegram address: %s", exc)


async def _typing_once(bot: Bot, chat_id: int) -> None:
    with contextlib.suppress(TelegramError):  # cosmetic: never fail a turn over it
        await bot.send_chat_action(chat_id, ChatAction.TYPING)


@asynccontextmanager
async def _typing(bot: Bot, chat_id: int) -> AsyncIterator[None]:
    """Show "typing…" until the block exits (Telegram clears it after about 5 s)."""

    async def keep_typing() -> None:
        while True:
            await asyncio.sleep(TYPING_EVERY_S)
            await _typing_once(bot, chat_id)

    first = asyncio.create_task(_typing_once(bot, chat_id))
    repeat = asyncio.create_task(keep_typing())
    try:
        yield
    finally:
        repeat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await repeat
        await first  # so "typing…" never arrives after the reply


async def _send(update: Update, context: Context, turn: Turn) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    for reply in turn.replies:
        for text, markup in render.messages(reply):
            await context.bot.send_message(chat.id, text, reply_markup=markup)

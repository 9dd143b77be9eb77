"""Pure helpers of the Telegram channel: replies, keyboards, addressing, config, logs."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Sequence

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    Update,
    User,
)
from telegram.constants import ChatType, InlineKeyboardButtonLimit, MessageLimit

from bot.clients.rasa import Button, Reply
from bot.settings import Settings

MAX_CHARS = MessageLimit.MAX_TEXT_LENGTH  # 4096
MAX_CALLBACK_BYTES = InlineKeyboardButtonLimit.MAX_CALLBACK_DATA  # 64
SENTENCE_ENDS = "。！？\n"
SHORT_TITLE = 4
"""Buttons whose titles are this short (人才, 资金, …) share a row, four to a row."""
BUTTONS_ONLY_TEXT = "请选择："


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units: an emoji counts twice)."""
    return len(text.encode("utf-16-le")) // 2


def _fit(text: str, limit: int) -> int:
    """The longest prefix length of `text` (in characters) that is at most `limit` units."""
    n = min(len(text), limit)
    while (excess := utf16_len(text[:n]) - limit) > 0:
        n -= (excess + 1) // 2  # a character is one or two units
    return max(n, 1)


def split_text(text: str, limit: int = MAX_CHARS) -> list[str]:
    """Split `text` into messages of at most `limit`, at sentence ends where possible."""
    chunks: list[str] = []
    rest = text.strip()
    while utf16_len(rest) > limit:
        window = rest[: _fit(rest, limit)]
        end = max(window.rfind(mark) for mark in SENTENCE_ENDS)
        cut = end + 1 if end > 0 else len(window)  # no sentence end: hard split
        chunks.append(rest[:cut].strip())
        rest = rest[cut:].strip()
    if rest:
        chunks.append(rest)
    return [chunk for chunk in chunks if chunk]


def keyboard(buttons: Sequence[Button]) -> InlineKeyboardMarkup | None:
    """An inline keyboard whose buttons send their payload back as callback data."""
    usable = [b for b in buttons if 0 < len(b.payload.encode()) <= MAX_CALLBACK_BYTES]
    if not usable:
        return None
    per_row = 4 if all(len(b.title) <= SHORT_TITLE for b in usable) else 1
    rows = [usable[i : i + per_row] for i in range(0, len(usable), per_row)]
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.title, callback_data=b.payload) for b in row] for row in rows]
    )


def messages(reply: Reply) -> list[tuple[str, InlineKeyboardMarkup | None]]:
    """The Telegram messages for one reply; its keyboard goes with the last one."""
    chunks = split_text(reply.text) or ([BUTTONS_ONLY_TEXT] if reply.buttons else [])
    markup = keyboard(reply.buttons)
    return [(chunk, markup if i == len(chunks) - 1 else None) for i, chunk in enumerate(chunks)]


def _mentions(message: Message, username: str) -> list[str]:
    """The @mentions of the bot in the message's text or caption, as written."""
    wanted = f"@{username.lower()}"
    return [
        found
        for text, entities in (
            (message.text, message.entities),
            (message.caption, message.caption_entities),
        )
        if text
        for entity in entities
        if entity.type == MessageEntity.MENTION
        and (found := _entity_text(text, entity)).lower() == wanted
    ]


def _entity_text(text: str, entity: MessageEntity) -> str:
    """The text an entity covers. Telegram counts UTF-16 units; unlike PTB's parser this does
    not fail on an entity that splits a surrogate pair (the half becomes U+FFFD)."""
    units = text.encode("utf-16-le")
    start, end = entity.offset * 2, (entity.offset + entity.length) * 2
    return units[start:end].decode("utf-16-le", "replace")


def addressed_text(message: Message, bot: User) -> str | None:
    """The text meant for the bot, or None when a group message is not addressed to it.

    In private chats every message is. In groups, only messages that mention the bot
    (the mention is removed) or reply to one of its messages.
    """
    text = message.text or message.caption or ""
    if message.chat.type == ChatType.PRIVATE:
        return text.strip()
    mentions = _mentions(message, bot.username) if bot.username else []
    for mention in mentions:
        text = re.sub(re.escape(mention), " ", text, flags=re.IGNORECASE)
    replied = message.reply_to_message
    to_bot = (
        replied is not None and replied.from_user is not None and replied.from_user.id == bot.id
    )
    return text.strip() if mentions or to_bot else None


def parse_update(body: object, bot: Bot) -> Update | None:
    """The update in a webhook body, or None when the body is not a Telegram update."""
    if not isinstance(body, dict) or not _is_int(body.get("update_id")):
        return None
    try:
        update = Update.de_json(body, bot)
    # PTB builds objects without checking types: a wrong one fails anywhere in the tree
    # (a date too big for a timestamp raises OverflowError, deep nesting RecursionError).
    except (
        LookupError,
        TypeError,
        ValueError,
        AttributeError,
        OverflowError,
        OSError,
        RecursionError,
    ):
        return None
    return update if _well_typed(update) else None


def _is_int(value: object) -> bool:
    return type(value) is int  # JSON's true is an int to isinstance(), but no id


def _well_typed(update: Update) -> bool:
    """Whether the fields the handlers read have the Bot API's types (PTB keeps any JSON)."""
    query = update.callback_query
    if query is not None and not (isinstance(query.id, str) and _optional_str(query.data)):
        return False
    user = update.effective_user
    if user is not None and not _user_ok(user):
        return False
    message = update.effective_message
    replied = message.reply_to_message if message is not None else None
    return all(_message_ok(m) for m in (message, replied) if m is not None)


def _optional_str(*values: object) -> bool:
    return all(value is None or isinstance(value, str) for value in values)


def _user_ok(user: User) -> bool:
    return (
        _is_int(user.id)
        and isinstance(user.first_name, str)
        and _optional_str(user.last_name, user.username)
    )


def _message_ok(message: Message) -> bool:
    entities = (*message.entities, *message.caption_entities)
    return (
        message.chat is not None  # PTB lets a missing chat through
        and _is_int(message.chat.id)
        and isinstance(message.chat.type, str)
        and (message.from_user is None or _user_ok(message.from_user))
        and _optional_str(message.text, message.caption)
        and all(
            isinstance(e.type, str) and _is_int(e.offset) and _is_int(e.length) for e in entities
        )
    )


def webhook_secret(settings: Settings) -> str:
    """TELEGRAM_WEBHOOK_SECRET, or one derived from the token (stable across restarts)."""
    if settings.telegram_webhook_secret:
        return settings.telegram_webhook_secret.get_secret_value()
    token = settings.telegram_bot_token.get_secret_value() if settings.telegram_bot_token else ""
    # Telegram allows 1-256 of A-Z a-z 0-9 _ -: a hex digest fits.
    return hmac.new(token.encode(), b"bizbot telegram webhook", hashlib.sha256).hexdigest()


def file_url(base_url: str) -> str:
    """The file download base matching an API base: `…/bot` becomes `…/file/bot`."""
    return base_url.removesuffix("/bot") + "/file/bot" if base_url.endswith("/bot") else base_url


class Redact(logging.Filter):
    """Replaces secrets in log records (PTB logs its API URL, token included, at DEBUG)."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(secret in message for secret in self.secrets):
            for secret in self.secrets:
                message = message.replace(secret, "[redacted]")
            record.msg, record.args = message, None
        return True


REDACT = Redact()
"""One filter for the process, holding every Telegram secret `setup` has seen."""

"""A stand-in Telegram Bot API server, driven by the real python-telegram-bot client.

It implements the methods the channel calls, records every call (method and parameters),
serves queued updates to long polling, and can be told to fail a method once (429 with
`retry_after`, or a 5xx). Update builders for tests are at the bottom.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

TOKEN = "123:ABC"
BOT_ID = 123
BOT_USERNAME = "bizbot_test_bot"
BOT_USER = {"id": BOT_ID, "is_bot": True, "first_name": "BizBot", "username": BOT_USERNAME}
JSON_PARAMS = frozenset({"reply_markup", "allowed_updates", "entities", "link_preview_options"})
LONG_POLL_CAP_S = 1.0
"""getUpdates waits at most this long for an update, whatever timeout PTB asks for."""


@dataclass(frozen=True)
class Call:
    """One Bot API request: the method, its parameters and the status we answered."""

    method: str
    params: dict[str, Any]
    status: int = 200


@dataclass
class FakeTelegram:
    """Records calls and answers them like the Bot API would."""

    token: str = TOKEN
    calls: list[Call] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    failures: dict[str, list[tuple[int, int | None]]] = field(default_factory=dict)
    every: dict[str, tuple[int, list[tuple[int, int | None]]]] = field(default_factory=dict)
    """Per method: every n-th call fails, with the next failure of the list (cycling)."""
    per_chat: Counter[int] = field(default_factory=Counter)
    """Messages sent per chat (cheap to poll under load)."""
    down_chats: set[int] = field(default_factory=set)
    """Chats whose messages fail with 502 until removed from the set."""
    _counts: Counter[str] = field(default_factory=Counter)
    _new_update: asyncio.Event = field(default_factory=asyncio.Event)
    _message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))

    def app(self) -> web.Application:
        """The aiohttp app to serve; the token is part of the path, as with Telegram."""
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._dispatch)
        return app

    # -- driving the fake -------------------------------------------------------------

    def queue(self, update: dict[str, Any]) -> None:
        """Offer `update` to the next getUpdates."""
        self.updates.append(update)
        self._new_update.set()

    def fail_once(self, method: str, status: int, retry_after: int | None = None) -> None:
        """Answer the next call of `method` with `status` (429 carries `retry_after`)."""
        self.failures.setdefault(method, []).append((status, retry_after))

    def fail_every(self, method: str, n: int, *failures: tuple[int, int | None]) -> None:
        """From now on every `n`-th call of `method` fails, cycling through `failures`."""
        self.every[method] = (n, list(failures))

    def sent(self, method: str = "sendMessage") -> list[dict[str, Any]]:
        """Parameters of the successful calls of `method`, in order."""
        return [c.params for c in self.calls if c.method == method and c.status == 200]

    def texts(self) -> list[str]:
        """The texts of every message sent."""
        return [str(p["text"]) for p in self.sent()]

    async def wait_for(self, method: str, count: int = 1, within_s: float = 10.0) -> None:
        """Wait until `method` succeeded `count` times in total."""
        deadline = time.monotonic() + within_s
        while len(self.sent(method)) < count:
            if time.monotonic() > deadline:
                seen = [(c.method, c.status) for c in self.calls]
                raise AssertionError(f"{method} x{count} not called within {within_s}s: {seen}")
            await asyncio.sleep(0.02)

    async def settle(self, quiet_s: float = 0.3) -> None:
        """Wait until no call has arrived for `quiet_s` (to assert that nothing was sent)."""
        seen = -1
        while seen != len(self.calls):
            seen = len(self.calls)
            await asyncio.sleep(quiet_s)

    # -- the Bot API ---------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        params = await _params(request)
        failure = self.failures.get(method) or self._periodic(method, params)
        if failure:
            status, retry_after = failure.pop(0)
            self.calls.append(Call(method, params, status))
            extra = {"parameters": {"retry_after": retry_after}} if retry_after else {}
            return _error(status, f"fake failure {status}", **extra)
        handler = self._methods().get(method)
        if handler is None:
            return _error(404, "Not Found: method not found")
        self.calls.append(Call(method, params))
        return web.json_response({"ok": True, "result": await handler(params)})

    def _periodic(self, method: str, params: dict[str, Any]) -> list[tuple[int, int | None]]:
        if method == "sendMessage" and int(params.get("chat_id", 0)) in self.down_chats:
            return [(502, None)]
        self._counts[method] += 1
        n, cycle = self.every.get(method, (0, []))
        if not n or not cycle or self._counts[method] % n:
            return []
        cycle.append(cycle.pop(0))
        return [cycle[-1]]

    def _methods(self) -> dict[str, Callable[[dict[str, Any]], Awaitable[object]]]:
        return {
            "getMe": self._get_me,
            "setWebhook": _true,
            "deleteWebhook": _true,
            "getUpdates": self._get_updates,
            "sendMessage": self._send_message,
            "sendChatAction": _true,
            "answerCallbackQuery": _true,
        }

    async def _get_me(self, _: dict[str, Any]) -> object:
        return {**BOT_USER, "can_join_groups": True, "can_read_all_group_messages": False}

    async def _get_updates(self, params: dict[str, Any]) -> object:
        offset = int(params.get("offset") or 0)
        self.updates = [u for u in self.updates if u["update_id"] >= offset]
        if not self.updates and float(params.get("timeout") or 0) > 0:
            self._new_update.clear()
            timeout = min(float(params["timeout"]), LONG_POLL_CAP_S)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._new_update.wait()
        return list(self.updates)

    async def _send_message(self, params: dict[str, Any]) -> object:
        chat_id = int(params["chat_id"])
        self.per_chat[chat_id] += 1
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
            "from": BOT_USER,
            "text": params["text"],
        }


async def _true(_: dict[str, Any]) -> object:
    return True


async def _params(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        data: dict[str, Any] = await request.json()
        return data
    form = await request.post()
    params: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str)}
    for key in JSON_PARAMS & params.keys():
        params[key] = json.loads(params[key])
    return params


def _error(status: int, description: str, **extra: Any) -> web.Response:
    body = {"ok": False, "error_code": status, "description": description, **extra}
    return web.json_response(body, status=status)


# -- updates ---------------------------------------------------------------------------

_update_ids = itertools.count(1)


@contextlib.asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[TestServer]:
    """Serve a fake (or the bot) on a free loopback port, without an access log.

    The Bot API's paths contain the token, like Telegram's; logged, they would end up in
    the captured logs the token test inspects.
    """
    server = TestServer(app)
    await server.start_server(access_log=None)
    try:
        yield server
    finally:
        await server.close()


def _chat(chat_id: int) -> dict[str, Any]:
    if chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": "Li", "username": "li_user"}
    return {"id": chat_id, "type": "supergroup", "title": "Investors"}


def message_update(chat_id: int, text: str | None = None, **fields: Any) -> dict[str, Any]:
    """An update with a new message from user 555 in `chat_id` (negative: a group)."""
    message: dict[str, Any] = {
        "message_id": next(_update_ids),
        "date": int(time.time()),
        "chat": _chat(chat_id),
        "from": {"id": 555, "is_bot": False, "first_name": "Li", "username": "li_user"},
        **fields,
    }
    if text is not None:
        message["text"] = text
    return {"update_id": next(_update_ids), "message": message}


def command_update(chat_id: int, command: str) -> dict[str, Any]:
    """A message that is a bot command such as `/start`."""
    entity = {"type": "bot_command", "offset": 0, "length": len(command.split()[0])}
    return message_update(chat_id, command, entities=[entity])


def mention_update(chat_id: int, text: str) -> dict[str, Any]:
    """A group message that mentions the bot at the start: `@bot text`."""
    mention = f"@{BOT_USERNAME}"
    entity = {"type": "mention", "offset": 0, "length": len(mention)}
    return message_update(chat_id, f"{mention} {text}", entities=[entity])


def reply_to_bot_update(chat_id: int, text: str) -> dict[str, Any]:
    """A group message replying to one of the bot's messages."""
    replied = {"message_id": 1, "date": 0, "chat": _chat(chat_id), "from": BOT_USER, "text": "…"}
    return message_update(chat_id, text, reply_to_message=replied)


def callback_update(chat_id: int, data: str) -> dict[str, Any]:
    """A press of an inline button carrying `data` under one of the bot's messages."""
    bot_message = {"message_id": 7, "date": int(time.time()), "chat": _chat(chat_id), "text": "…"}
    query = {
        "id": f"cq{next(_update_ids)}",
        "from": {"id": 555, "is_bot": False, "first_name": "Li"},
        "chat_instance": "ci",
        "message": {**bot_message, "from": BOT_USER},
        "data": data,
    }
    return {"update_id": next(_update_ids), "callback_query": query}


STICKER = {
    "file_id": "stk",
    "file_unique_id": "stk-u",
    "type": "regular",
    "width": 512,
    "height": 512,
    "is_animated": False,
    "is_video": False,
}
PHOTO = [{"file_id": "ph", "file_unique_id": "ph-u", "width": 90, "height": 90}]
VOICE = {"file_id": "vc", "file_unique_id": "vc-u", "duration": 2}

"""The load the fault and scale-out tests run, as a user population would send it.

Each conversation sends its messages one at a time, waits for the answer, "reads" it for a
moment, and writes again, alternating between the bot replicas. Three channels:

- web: `POST /api/chat` with a session per conversation; the answer is the response.
- telegram: updates POSTed to the webhook the way Telegram does (redelivered until the bot
  answers 200); the answer is the bot's `sendMessage` to the fake Bot API.
- wechat: signed XML POSTed the way WeChat does (a retry of the same message after 5 s
  without an answer, to the other replica, at most three tries); the answer is the passive
  reply or customer-service messages to the fake WeChat API.

A `Tally` counts what happened; `verify_*` then checks the bot's Redis message log (every
message once, in order, one answer each) and what reached the fake channel.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree as ET

import aiohttp
from redis.asyncio import Redis

from bench.load import SECOND, load_questions
from bot.channels import telegram
from bot.chat import BUSY_TEXT, HUMAN_PAYLOAD
from bot.facts.script import to_traditional
from bot.state.keys import Keys
from tests.auxil.fake_telegram import FakeTelegram, message_update
from tests.auxil.fake_wechat import FakeWeChatApi, message_xml, signed_query
from tests.auxil.polling import until

LATE_S = 5.0
"""An answer after this long is late (WeChat's passive-reply window)."""
ANSWER_WAIT_S = 60.0
"""How long a user waits for an answer before counting the message lost."""
WECHAT_TRIES = 3
WECHAT_RETRY_AFTER_S = 5.0
TELEGRAM_REDELIVER_S = 0.5
PREFIX = "bizbot:"
BUSY_TEXTS = frozenset({BUSY_TEXT, to_traditional(BUSY_TEXT)})
_update_ids = itertools.count(50_000_000)
_msg_ids = itertools.count(70_000_000)


@dataclass
class Tally:
    """What one load run did, in the issue's terms."""

    name: str
    sent: int = 0
    answered: int = 0
    late: int = 0
    lost: int = 0
    duplicated: int = 0
    out_of_order: int = 0
    busy: int = 0
    """Answered by the front end's own notice (busy, hand-off offer), not by Rasa."""
    offers: int = 0
    """Busy notices that carried the hand-off button."""
    resent: int = 0
    """Requests the client sent again (a 503 from the web API, a WeChat or Telegram retry)."""
    restored_at: float | None = None
    """When the fault was repaired (monotonic clock)."""
    after_fault: int | None = None
    """Messages Rasa answered that were sent after the repair: service resumed by itself
    (counted by the web load only)."""
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        """The report's row."""
        return {
            "fault": self.name,
            "sent": self.sent,
            "answered": self.answered,
            "answered_late": self.late,
            "lost": self.lost,
            "duplicated": self.duplicated,
            "out_of_order": self.out_of_order,
            "busy_notices": self.busy,
            "resent": self.resent,
            "answered_after_repair": self.after_fault,
            "seconds": round(self.seconds, 1),
            "notes": self.notes[:5],
        }


@dataclass(frozen=True)
class Plan:
    """Conversations, messages each, how many talk at once and how long users think."""

    conversations: int = 200
    messages: int = 10
    concurrency: int = 40
    think_s: float = 0.3

    @property
    def total(self) -> int:
        """Messages the plan sends."""
        return self.conversations * self.messages


@functools.cache
def _questions() -> tuple[str, ...]:
    return tuple(load_questions())


def texts(count: int, offset: int) -> list[str]:
    """A conversation: questions from the retrieval set, follow-ups and small talk."""
    questions = _questions()
    out: list[str] = []
    for i in range(count):
        n = offset + i
        out.append(questions[n % len(questions)] if i % 2 == 0 else SECOND[n % len(SECOND)])
    return out


Conversation = Callable[[int, Tally], Coroutine[Any, Any, None]]
Fault = Callable[[], Coroutine[Any, Any, None]]


async def run(plan: Plan, tally: Tally, one: Conversation, fault: Fault | None) -> None:
    """Run `plan.conversations` conversations, `plan.concurrency` at once, beside `fault`."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(plan.conversations):
        queue.put_nowait(i)

    async def worker() -> None:
        while not queue.empty():
            await one(queue.get_nowait(), tally)

    started = time.monotonic()
    jobs = [asyncio.create_task(worker()) for _ in range(plan.concurrency)]
    if fault is not None:
        jobs.append(asyncio.create_task(fault()))
    await asyncio.gather(*jobs)
    tally.seconds = time.monotonic() - started


async def when_sent(tally: Tally, count: int) -> None:
    """Return once `count` messages have been sent."""
    await until(lambda: tally.sent >= count, within_s=3600)


# -- web -------------------------------------------------------------------------------


@dataclass
class WebUsers:
    """Conversations through `POST /api/chat`, alternating between replicas."""

    http: aiohttp.ClientSession
    bot_urls: Sequence[str]
    plan: Plan
    senders: dict[int, str] = field(default_factory=dict)
    sent_texts: dict[int, list[str]] = field(default_factory=dict)

    async def session(self, i: int) -> tuple[str, dict[str, str]]:
        """A web chat session (sender id and bearer header) from any replica."""
        url = self.bot_urls[i % len(self.bot_urls)]
        deadline = time.monotonic() + ANSWER_WAIT_S
        while True:
            # Redis may be down at this moment: the page would try again, and so do we.
            with_error: object = None
            try:
                async with self.http.post(f"{url}/api/chat/session") as resp:
                    if resp.status == 201:
                        body = await resp.json()
                        return body["sender"], {"Authorization": f"Bearer {body['token']}"}
                    with_error = resp.status
            except aiohttp.ClientError as exc:
                with_error = repr(exc)
            if time.monotonic() > deadline:
                raise AssertionError(f"no web session: {with_error}")
            await asyncio.sleep(0.5)

    async def conversation(self, i: int, tally: Tally) -> None:
        """Send one conversation's messages in order, each after the previous answer."""
        sender, auth = await self.session(i)
        self.senders[i] = sender
        sent = self.sent_texts.setdefault(i, [])
        for n, text in enumerate(texts(self.plan.messages, i)):
            url = self.bot_urls[(i + n) % len(self.bot_urls)]
            tally.sent += 1
            sent.append(text)
            start = time.monotonic()
            body = await self.send(url, sender, auth, text, tally)
            if not body.get("replies"):
                tally.lost += 1
                tally.notes.append(f"web {i}/{n}: {str(body)[:160]}")
            else:
                tally.answered += 1
                tally.late += time.monotonic() - start > LATE_S
                first = body["replies"][0]
                busy = first["text"] in BUSY_TEXTS
                rasa_answered = not busy
                tally.busy += busy
                tally.offers += busy and any(
                    b.get("payload") == HUMAN_PAYLOAD for b in first["buttons"]
                )
                # Escalated turns (a person was asked for) carry no intent by design.
                if not (busy or body.get("escalated") or (body.get("intent") or {}).get("name")):
                    tally.notes.append(f"web {i}/{n}: answered without intent: {body}"[:300])
                restored = tally.restored_at
                resumed = rasa_answered and restored is not None and start > restored
                tally.after_fault = (tally.after_fault or 0) + resumed
            await asyncio.sleep(self.plan.think_s)

    async def send(
        self, url: str, sender: str, auth: dict[str, str], text: str, tally: Tally
    ) -> dict[str, Any]:
        """POST one message; a 503 (the bot cannot check the session) is sent again."""
        deadline = time.monotonic() + ANSWER_WAIT_S
        while True:
            try:
                async with self.http.post(
                    f"{url}/api/chat", json={"sender": sender, "text": text}, headers=auth
                ) as resp:
                    body: dict[str, Any] = await resp.json(content_type=None)
                    if resp.status == 200:
                        return body
                    if resp.status != 503:
                        return {"error": resp.status, **body}
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                body = {"error": repr(exc)}
            if time.monotonic() > deadline:
                return body
            tally.resent += 1
            await asyncio.sleep(0.5)


async def verify_logs(
    redis: Redis, channel: str, chats: dict[int, str], sent: dict[int, list[str]], tally: Tally
) -> list[int]:
    """Duplicates and reordering in the bot's message logs; returns conversations with gaps.

    A gap (a message missing from the log) is allowed only while Redis itself was down.
    """
    keys = Keys(PREFIX)
    gaps: list[int] = []
    for i, chat_id in chats.items():
        raw = await redis.lrange(keys.log(channel, chat_id), 0, -1)
        log = [json.loads(item) for item in raw]
        users = [str(e["text"]) for e in log if e.get("role") == "user"]
        bots = [e for e in log if e.get("role") == "bot"]
        expected = sent.get(i, [])
        tally.duplicated += max(0, len(users) - len(expected)) + max(0, len(bots) - len(users))
        if len(users) < len(expected):
            gaps.append(i)
        if _subsequence(users, expected) is False:
            tally.out_of_order += 1
            tally.notes.append(f"{channel} {i}: log order {users} != sent {expected}")
    return gaps


def _subsequence(seen: list[str], sent: list[str]) -> bool:
    """True if `seen` is `sent` with some messages missing, in the same order."""
    it = iter(sent)
    return all(any(s == t for t in it) for s in seen)


# -- telegram --------------------------------------------------------------------------


@dataclass
class TelegramUsers:
    """Chats whose updates reach the webhook of alternating replicas."""

    http: aiohttp.ClientSession
    bot_urls: Sequence[str]
    fake: FakeTelegram
    secret: str
    plan: Plan
    base_chat: int
    sent_texts: dict[int, list[str]] = field(default_factory=dict)

    def chat(self, i: int) -> int:
        """Chat id of conversation `i`."""
        return self.base_chat + i

    def replies(self, chat_id: int) -> int:
        """Messages the bot delivered to `chat_id` so far."""
        return self.fake.per_chat[chat_id]

    async def deliver(self, update: dict[str, Any], i: int) -> None:
        """POST the update like Telegram: again until some replica answers 200."""
        deadline = time.monotonic() + ANSWER_WAIT_S
        for attempt in itertools.count():
            url = self.bot_urls[(i + attempt) % len(self.bot_urls)]
            try:
                async with self.http.post(
                    f"{url}{telegram.WEBHOOK_PATH}",
                    json=update,
                    headers={telegram.SECRET_HEADER: self.secret},
                ) as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"no replica took update {update['update_id']}")
            await asyncio.sleep(TELEGRAM_REDELIVER_S)

    async def conversation(self, i: int, tally: Tally) -> None:
        """Send the chat's messages in order; each waits for the bot's message back."""
        chat_id = self.chat(i)
        sent = self.sent_texts.setdefault(i, [])
        for n, text in enumerate(texts(self.plan.messages, i)):
            before = self.replies(chat_id)
            update = message_update(chat_id, text)
            update["update_id"] = next(_update_ids)
            tally.sent += 1
            sent.append(text)
            start = time.monotonic()
            await self.deliver(update, i + n)
            if not await until(lambda b=before: self.replies(chat_id) > b):  # type: ignore[misc]
                tally.lost += 1
                tally.notes.append(f"telegram {chat_id}/{n}: no reply")
            else:
                tally.answered += 1
                tally.late += time.monotonic() - start > LATE_S
            await asyncio.sleep(self.plan.think_s)

    async def verify(self, redis: Redis, tally: Tally) -> None:
        """Every logged answer reached the chat once, in order, and nothing else did."""
        keys = Keys(PREFIX)
        # Replies still in flight (a typing bot, a retry) get a moment to land.
        await asyncio.sleep(1.0)
        by_chat: dict[int, list[str]] = {}
        for params in self.fake.sent():
            by_chat.setdefault(int(params["chat_id"]), []).append(str(params["text"]))
        for i in self.sent_texts:
            chat_id = self.chat(i)
            raw = await redis.lrange(keys.log("telegram", str(chat_id)), 0, -1)
            entries = [json.loads(e) for e in raw]
            logged = [str(e["text"]) for e in entries if e["role"] == "bot"]
            # Long answers are split into several messages: compare the text, not the count.
            stream = _squash("".join(by_chat.get(chat_id, [])))
            for answer in map(_squash, logged):
                if stream.startswith(answer):
                    stream = stream[len(answer) :]
                else:
                    tally.lost += 1
                    tally.notes.append(f"telegram {chat_id}: {answer[:40]!r} not delivered")
            if stream:
                tally.duplicated += 1
                tally.notes.append(f"telegram {chat_id}: extra {stream[:80]!r}")


def _squash(text: str) -> str:
    return "".join(text.split())


# -- wechat ----------------------------------------------------------------------------


@dataclass
class WeChatUsers:
    """Followers whose messages reach alternating replicas, retried the way WeChat does."""

    http: aiohttp.ClientSession
    bot_urls: Sequence[str]
    fake: FakeWeChatApi
    redis: Redis
    plan: Plan
    run_id: str
    passive: Counter[str] = field(default_factory=Counter)
    api_expected: Counter[str] = field(default_factory=Counter)
    sent_texts: dict[int, list[str]] = field(default_factory=dict)
    retries: int = 0
    slowest_s: float = 0.0
    """The longest any webhook call took (WeChat gives up after 5 s)."""
    durations: list[float] = field(default_factory=list)

    def openid(self, i: int) -> str:
        """The follower of conversation `i`."""
        return f"o{self.run_id}{i:04d}"

    async def post(self, url: str, xml: str) -> str | None:
        """One webhook call; the passive reply's text, "" for none, None if it timed out."""
        timeout = aiohttp.ClientTimeout(total=WECHAT_RETRY_AFTER_S)
        start = time.monotonic()
        try:
            async with self.http.post(
                f"{url}/wechat", params=signed_query(), data=xml.encode(), timeout=timeout
            ) as resp:
                body = await resp.text()
                if resp.status != 200:
                    return None
        except (TimeoutError, aiohttp.ClientError):
            return None
        finally:
            took = time.monotonic() - start
            self.durations.append(took)
            self.slowest_s = max(self.slowest_s, took)
        if not body.startswith("<xml>"):
            return ""  # "success": the answer comes through the customer-service API
        content = ET.fromstring(body).findtext("Content")  # noqa: S314 -- our own bot's reply
        return content or ""

    async def conversation(self, i: int, tally: Tally) -> None:
        """Send the follower's messages in order; each waits for its answer to be delivered."""
        openid = self.openid(i)
        sent = self.sent_texts.setdefault(i, [])
        for n, text in enumerate(texts(self.plan.messages, i)):
            msg_id = str(next(_msg_ids))
            xml = message_xml(openid=openid, content=text, msg_id=msg_id)
            tally.sent += 1
            sent.append(text)
            start = time.monotonic()
            before = self.fake.per_user[openid]
            replies = await self.deliver(xml, i + n, again=n % 3 == 0)
            if len(replies) > 1:
                tally.duplicated += len(replies) - 1
                tally.notes.append(f"wechat {openid}/{n}: {len(replies)} passive replies")
            if replies:
                self.passive[openid] += 1
                tally.answered += 1
            elif await self._api_answer(openid, msg_id, before, start):
                tally.answered += 1
                tally.late += 1
            else:
                tally.lost += 1
                tally.notes.append(f"wechat {openid}/{n}: no answer")
            await asyncio.sleep(self.plan.think_s)

    async def deliver(self, xml: str, k: int, *, again: bool) -> list[str]:
        """Push one message like WeChat: retried on another replica after 5 s of silence.

        With `again`, a second copy also goes to the other replica a second later, as when
        WeChat did not see our first response. Returns the passive replies received.
        """
        replies: list[str] = []
        for attempt in range(WECHAT_TRIES):
            url = self.bot_urls[(k + attempt) % len(self.bot_urls)]
            calls = [self.post(url, xml)]
            if again and attempt == 0:
                other = self.bot_urls[(k + 1) % len(self.bot_urls)]
                calls.append(self._later(1.0, self.post(other, xml)))
                self.retries += 1
            results = await asyncio.gather(*calls)
            replies += [r for r in results if r]
            if any(r is not None for r in results):
                return replies
            self.retries += 1
        return replies

    @staticmethod
    async def _later(delay_s: float, call: Coroutine[Any, Any, str | None]) -> str | None:
        await asyncio.sleep(delay_s)
        return await call

    async def _api_answer(self, openid: str, msg_id: str, before: int, start: float) -> bool:
        """Wait for the answer's customer-service messages (its parts are in Redis)."""
        keys = Keys(PREFIX)
        while time.monotonic() - start < ANSWER_WAIT_S:
            raw = await self.redis.get(keys.wechat_answer(msg_id))
            if raw is not None:
                parts = len(json.loads(raw))
                if self.fake.per_user[openid] >= before + parts:
                    self.api_expected[openid] += parts
                    return True
            await asyncio.sleep(0.1)
        return False

    async def verify(self, tally: Tally) -> None:
        """No answer went out twice: passive replies plus API messages match the answers."""
        await asyncio.sleep(1.0)
        for i in self.sent_texts:
            openid = self.openid(i)
            extra = self.fake.per_user[openid] - self.api_expected[openid]
            if extra > 0:
                tally.duplicated += extra
                tally.notes.append(f"wechat {openid}: {extra} extra customer-service messages")

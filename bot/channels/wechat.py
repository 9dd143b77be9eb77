"""WeChat Official Account channel: signed webhooks, a passive reply within WeChat's 5 s,
else the customer-service API; each inbound message is answered once across replicas.

Delivery semantics are described in docs/wechat.md.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.channels.wechat_xml import (
    Cipher,
    Inbound,
    SignatureError,
    WeChatXmlError,
    check_fresh,
    check_signature,
    fit_text,
    parse_xml,
    read_body,
    text_reply,
    turn_text,
)
from bot.chat import BUSY_TEXT, ChatService
from bot.clients.wechat_api import WeChatApiError, WeChatClient, WeChatError
from bot.desk.errors import DeliveryRejectedError, DeliveryRetryableError
from bot.errors import error_response
from bot.keys import CHAT, CONVERSATIONS, HTTP, REDIS, SENDERS, SETTINGS
from bot.settings import Settings
from bot.state.conversations import ConversationId, Conversations
from bot.state.dedupe import DEDUPE_TTL_S, claim, first_sighting
from bot.state.keys import Keys
from bot.state.redis import StateError

log = logging.getLogger(__name__)
SYSTEM_BUSY = -1

CHANNEL = "wechat"
SUCCESS = "success"
WELCOME_PAYLOAD = "/greet"
UNSUPPORTED_TEXT = (
    "抱歉，目前只支持文字消息。请用文字描述您的问题，例如“嘉定有多少家特色产业园区？”"
)
TOO_LONG_TEXT = "您的消息太长了，请精简到{limit}字以内再发送。"
POLL_S = 0.1
SHUTDOWN_GRACE_S = 5.0


@dataclass(eq=False)
class _Job:
    """Hand-over between the request that saw a message first and its processing task."""

    parts: asyncio.Future[list[str]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    handler_done: asyncio.Event = field(default_factory=asyncio.Event)
    passive: bool = False


class WeChatBridge:
    """Answers WeChat's webhooks; keeps the background tasks that finish late answers."""

    def __init__(
        self,
        settings: Settings,
        redis: Redis,
        chat: ChatService,
        conversations: Conversations,
        cipher: Cipher | None,
        api: WeChatClient | None,
    ) -> None:
        if settings.wechat_token is None:
            raise ValueError("the WeChat bridge needs WECHAT_TOKEN")
        self._token = settings.wechat_token.get_secret_value()
        self._budget = settings.wechat_passive_reply_s
        self._max_chars = settings.max_text_chars
        self._redis = redis
        self._keys = Keys(settings.redis_key_prefix)
        self._chat = chat
        self._conversations = conversations
        self._cipher = cipher
        self._api = api
        self._tasks: set[asyncio.Task[None]] = set()

    async def verify(self, request: web.Request) -> web.Response:
        """GET: WeChat's server-URL check; echo `echostr` when the signature is good."""
        q = request.query
        timestamp, nonce = q.get("timestamp", ""), q.get("nonce", "")
        try:
            check_fresh(timestamp, nonce, time.time())
            check_signature(self._token, q.get("signature", ""), timestamp, nonce)
        except SignatureError as exc:
            log.warning("WeChat verification refused: %s", exc)
            return error_response(403, "invalid_signature", "Signature check failed.")
        return web.Response(text=q.get("echostr", ""))

    async def receive(self, request: web.Request) -> web.Response:
        """POST: one message or event, plaintext or safe (AES) mode."""
        deadline = asyncio.get_running_loop().time() + self._budget
        q = request.query
        safe = q.get("encrypt_type", "raw").lower() == "aes"
        try:
            msg = await self._inbound(request, safe)
        except SignatureError as exc:
            log.warning("WeChat request refused: %s", exc)
            return error_response(403, "invalid_signature", "Signature check failed.")
        except WeChatXmlError as exc:
            log.warning("WeChat request rejected: %s", exc)
            return error_response(400, "invalid_xml", "The body is not an acceptable WeChat XML.")
        content = await self._answer(msg, deadline)
        if content is None:
            return web.Response(text=SUCCESS)
        xml = text_reply(msg.from_user, msg.to_user, content, int(time.time()))
        if safe and self._cipher is not None:
            xml = self._cipher.encrypt(xml, q["nonce"], str(int(time.time())))
        return web.Response(text=xml, content_type="application/xml")

    async def _inbound(self, request: web.Request, safe: bool) -> Inbound:
        """Check freshness and signatures, read and decrypt the body; raises on anything bad."""
        q = request.query
        timestamp, nonce = q.get("timestamp", ""), q.get("nonce", "")
        check_fresh(timestamp, nonce, time.time())
        # Plaintext mode signs the query only; safe mode's msg_signature covers the body.
        if not safe or "signature" in q:
            check_signature(self._token, q.get("signature", ""), timestamp, nonce)
        fields = parse_xml(await read_body(request))
        if safe:
            if self._cipher is None:
                raise WeChatXmlError("safe mode is not configured (WECHAT_ENCODING_AES_KEY)")
            fields = self._cipher.decrypt(fields, q.get("msg_signature", ""), timestamp, nonce)
        return Inbound.from_fields(fields)

    async def close(self) -> None:
        """Let late answers finish for a moment, then cancel what is left."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=SHUTDOWN_GRACE_S)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def _answer(self, msg: Inbound, deadline: float) -> str | None:
        """The passive reply's content, or None to answer `success`."""
        if msg.msg_type == "event" and msg.event != "subscribe":
            return None  # unsubscribe, menu clicks, scans, …: nothing to say
        if not await self._first_sighting(msg.dedupe_id):
            log.info("WeChat retry of %s: not processing it again", msg.dedupe_id)
            return await self._await_other(msg, deadline)
        job = _Job()
        self._spawn(self._process(msg, job))
        try:
            remaining = max(0.0, deadline - asyncio.get_running_loop().time())
            try:
                parts = await asyncio.wait_for(asyncio.shield(job.parts), remaining)
            except TimeoutError:
                log.info("WeChat answer to %s is late: customer-service API", msg.dedupe_id)
                return None
            return await self._take_passive(msg, parts, job)
        finally:
            # The task delivers through the API unless this request took the answer.
            job.handler_done.set()

    async def _take_passive(self, msg: Inbound, parts: list[str], job: _Job | None) -> str | None:
        if not parts or len(parts) > 1:
            return None  # nothing to say, or several parts: the API keeps them in order
        if not await self._claim(msg.dedupe_id):
            return None
        if job is not None:
            job.passive = True
        return parts[0]

    async def _await_other(self, msg: Inbound, deadline: float) -> str | None:
        """A retry: wait (within its own budget) for the first request's answer."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    pipe.exists(self._claim_key(msg.dedupe_id))
                    pipe.get(self._answer_key(msg.dedupe_id))
                    delivered, answer = await pipe.execute()
            except RedisError as exc:
                log.warning("WeChat dedupe state unavailable: %s", exc)
                return None
            if delivered:
                return None
            if answer is not None:
                return await self._take_passive(msg, json.loads(answer), None)
            if loop.time() + POLL_S > deadline:
                return None
            await asyncio.sleep(POLL_S)

    async def _process(self, msg: Inbound, job: _Job) -> None:
        try:
            parts = await self._compute(msg)
        except Exception:
            log.exception("WeChat message %s failed", msg.dedupe_id)
            parts = fit_text(BUSY_TEXT, split=self._api is not None)
        try:
            answer = json.dumps(parts, ensure_ascii=False)
            await self._redis.set(self._answer_key(msg.dedupe_id), answer, ex=DEDUPE_TTL_S)
        except RedisError as exc:
            log.warning("could not share the WeChat answer with retries: %s", exc)
        job.parts.set_result(parts)
        await job.handler_done.wait()
        if job.passive or not parts:
            return
        if self._api is None:
            log.warning("late WeChat answer dropped: WECHAT_APP_ID/WECHAT_APP_SECRET not set")
            return
        if not await self._claim(msg.dedupe_id):
            return
        for part in parts:
            try:
                await self._api.send_text(msg.from_user, part)
            except WeChatError as exc:
                log.warning("WeChat customer-service message failed: %s", exc)
                return

    async def _compute(self, msg: Inbound) -> list[str]:
        conv = ConversationId(CHANNEL, msg.from_user)
        await self._remember(conv, channel=CHANNEL, openid=msg.from_user, app_id=msg.to_user)
        if msg.msg_type == "event":
            text = WELCOME_PAYLOAD  # subscribe: Rasa's greeting answers
        elif msg.text is None:
            return fit_text(UNSUPPORTED_TEXT, split=False)
        elif len(msg.text.strip()) > self._max_chars:
            return fit_text(TOO_LONG_TEXT.format(limit=self._max_chars), split=False)
        else:
            text = await self._button_payload(conv, msg.text.strip())
        turn = await self._chat.handle(conv, text, {"channel": CHANNEL})
        rendered, buttons = turn_text(turn)
        if buttons:
            await self._remember(conv, wechat_buttons=json.dumps(buttons, ensure_ascii=False))
        return fit_text(rendered, split=self._api is not None)

    async def _button_payload(self, conv: ConversationId, text: str) -> str:
        """A reply naming one of the last turn's buttons means that button's payload."""
        try:
            raw = (await self._conversations.state(conv)).get("wechat_buttons")
        except StateError:
            return text
        buttons = json.loads(raw) if raw else {}
        return str(buttons.get(text, text)) if isinstance(buttons, dict) else text

    async def _remember(self, conv: ConversationId, **fields: str) -> None:
        try:
            await self._conversations.update(conv, **fields)
        except StateError as exc:
            log.warning("could not store the WeChat address: %s", exc)

    async def _first_sighting(self, message_id: str) -> bool:
        try:
            return await first_sighting(self._redis, self._keys, CHANNEL, message_id)
        except StateError as exc:
            # Answering matters more than deduplication: go on, and say why in the log.
            log.warning("WeChat dedupe unavailable, processing anyway: %s", exc)
            return True

    async def _claim(self, message_id: str) -> bool:
        """True for exactly one delivery of the answer (passive or API), across replicas."""
        try:
            return await claim(self._redis, self._claim_key(message_id), DEDUPE_TTL_S)
        except StateError as exc:
            log.warning("WeChat delivery claim unavailable, delivering anyway: %s", exc)
            return True

    def _answer_key(self, message_id: str) -> str:
        return self._keys.wechat_answer(message_id)

    def _claim_key(self, message_id: str) -> str:
        return self._keys.wechat_delivery(message_id)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


BRIDGE = web.AppKey("wechat_bridge", WeChatBridge)


async def deliver(api: WeChatClient, openid: str, text: str) -> None:
    """Send a desk message as a customer-service message, for the delivery worker."""
    try:
        await api.send_text(openid, text)
    except WeChatApiError as exc:
        # -1 is "system busy"; other codes (45015: the user has not written for 48 hours,
        # 43004: unfollowed) will not change by retrying.
        error = DeliveryRetryableError if exc.errcode == SYSTEM_BUSY else DeliveryRejectedError
        raise error(f"WeChat refused the message (errcode {exc.errcode}: {exc.errmsg})") from exc
    except WeChatError as exc:
        raise DeliveryRetryableError(f"WeChat failed: {exc}") from exc


def setup(app: web.Application) -> None:
    """Register the channel's routes and lifecycle on `app` when it is configured."""
    settings = app[SETTINGS]
    if settings.wechat_token is None:
        return
    cipher = Cipher.from_settings(settings)  # a bad EncodingAESKey fails at startup

    async def bridge_ctx(app: web.Application) -> AsyncIterator[None]:
        api = None
        if settings.wechat_app_id and settings.wechat_app_secret:
            api = WeChatClient(
                app[HTTP],
                app[REDIS],
                Keys(settings.redis_key_prefix),
                base_url=settings.wechat_api_base_url,
                app_id=settings.wechat_app_id,
                app_secret=settings.wechat_app_secret.get_secret_value(),
            )
        bridge = WeChatBridge(settings, app[REDIS], app[CHAT], app[CONVERSATIONS], cipher, api)
        app[BRIDGE] = bridge
        if api is not None:
            client = api

            async def send(openid: str, text: str) -> None:
                await deliver(client, openid, text)

            app[SENDERS]["wechat"] = send
        yield
        app[SENDERS].pop("wechat", None)
        await bridge.close()

    async def verify(request: web.Request) -> web.Response:
        return await request.app[BRIDGE].verify(request)

    async def receive(request: web.Request) -> web.Response:
        return await request.app[BRIDGE].receive(request)

    app.cleanup_ctx.append(bridge_ctx)
    app.router.add_get("/wechat", verify)
    app.router.add_post("/wechat", receive)

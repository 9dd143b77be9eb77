"""The one path every channel takes: conversation lock, message log, Rasa, reply."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextlib import AsyncExitStack
from typing import Any

from bot.clients.rasa import Button, RasaClient, RasaError, Reply, Turn
from bot.facts.script import detect_script, to_simplified, to_traditional
from bot.state.conversations import ConversationId, Conversations, Role
from bot.state.ratelimit import RateLimiter
from bot.state.redis import StateError

log = logging.getLogger(__name__)

HUMAN_PAYLOAD = "/request_human"
BUSY_TEXT = "抱歉，服务暂时繁忙，请稍后再试。您的消息已记录；如需帮助，可以转人工客服。"
RATE_LIMITED_TEXT = "您发送消息太快了，请稍等几秒再试。"
FORGET_PHRASES = frozenset({"删除我的数据", "刪除我的數據", "/forget"})
FORGOTTEN_TEXT = "已删除我们保存的关于您的全部对话数据。之后的消息会作为新的对话开始。"


def notice(text: str, script: str = "hans", *, offer_human: bool = False) -> Turn:
    """A turn with one fixed reply from the front end itself, in the user's script."""
    buttons: tuple[Button, ...] = (
        (Button(title="转人工", payload=HUMAN_PAYLOAD),) if offer_human else ()
    )
    if script == "hant":
        text = to_traditional(text)
        buttons = tuple(Button(to_traditional(b.title), b.payload) for b in buttons)
    return Turn(replies=[Reply(text=text, buttons=buttons)])


def busy_turn(script: str = "hans") -> Turn:
    """The reply when Rasa cannot answer: say so plainly and offer a human."""
    return notice(BUSY_TEXT, script, offer_human=True)


class ChatService:
    """Handles one user message for any channel."""

    def __init__(
        self, rasa: RasaClient, conversations: Conversations, limiter: RateLimiter
    ) -> None:
        self._rasa = rasa
        self._conversations = conversations
        self._limiter = limiter

    async def forget(self, conv: ConversationId) -> Turn:
        """Delete what we hold about the user: our keys and their Rasa tracker."""
        try:
            await self._conversations.forget(conv)
        except StateError as exc:
            log.warning("could not delete conversation state: %s", exc)
            return busy_turn()
        try:
            await self._rasa.reset_tracker(conv.sender)
        except RasaError as exc:
            log.warning("could not reset the Rasa tracker: %s", exc)
            return busy_turn()
        return notice(FORGOTTEN_TEXT)

    async def allowed(self, conv: ConversationId) -> bool:
        """Whether the user's rate limit lets this message through (fails open)."""
        try:
            return await self._limiter.allow(conv.channel, conv.chat_id)
        except StateError as exc:
            log.warning("rate limiter unavailable, letting the message through: %s", exc)
            return True

    async def handle(
        self, conv: ConversationId, text: str, metadata: Mapping[str, Any] | None = None
    ) -> Turn:
        """Answer `text` in conversation `conv`; never raises for Rasa or Redis outages."""
        script = detect_script(text)
        if text.strip() in FORGET_PHRASES:
            return await self.forget(conv)
        if not await self.allowed(conv):
            return notice(RATE_LIMITED_TEXT, script)
        async with AsyncExitStack() as stack:
            stateful = await self._enter_turn(stack, conv)
            if stateful:
                stateful = await self._record(conv, "user", text)
            # NLU is trained on Simplified text; the actions answer in the user's own script.
            nlu_text = to_simplified(text) if script == "hant" else text
            try:
                turn = await self._rasa.send(
                    conv.sender, nlu_text, {**(metadata or {}), "script": script}
                )
            except RasaError as exc:
                log.warning("Rasa failed for a %s message: %s", conv.channel, exc)
                turn = busy_turn(script)
            if stateful:
                await self._record(
                    conv,
                    "bot",
                    "\n".join(r.text for r in turn.replies),
                    sources=turn.sources,
                    intent=turn.intent,
                )
            return turn
        raise AssertionError("unreachable")  # pragma: no cover

    async def _enter_turn(self, stack: AsyncExitStack, conv: ConversationId) -> bool:
        try:
            await stack.enter_async_context(self._conversations.turn(conv))
        except StateError as exc:
            # Answering matters more than ordering: go on without state, and say why in the log.
            log.warning("conversation state unavailable, answering without it: %s", exc)
            return False
        return True

    async def _update(self, conv: ConversationId, fields: dict[str, str]) -> None:
        try:
            await self._conversations.update(conv, **fields)
        except StateError as exc:
            log.warning("could not update conversation state: %s", exc)

    async def _record(self, conv: ConversationId, role: Role, text: str, **extra: Any) -> bool:
        try:
            await self._conversations.record(conv, role, text, **extra)
        except StateError as exc:
            log.warning("could not record a %s message: %s", role, exc)
            return False
        return True

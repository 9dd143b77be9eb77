"""The one path every channel takes: conversation lock, message log, desk or Rasa, reply."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from contextlib import AsyncExitStack
from typing import Any

from bot.clients.rasa import (
    Button,
    RasaClient,
    RasaError,
    RasaServerError,
    RasaTimeoutError,
    RasaUnavailableError,
    Reply,
    Turn,
)
from bot.desk.errors import DeskDisabledError, DeskError
from bot.desk.service import DISABLED_TEXT, Desk
from bot.desk.unanswered import Unanswered, UnansweredLog
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
ERROR_HANDOFF_TEXT = "抱歉，机器人助手暂时出了问题，已为您转给人工客服。"
UNANSWERED_EVENTS = ("fallback", "not_in_sources")


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
        self,
        rasa: RasaClient,
        conversations: Conversations,
        limiter: RateLimiter,
        desk: Desk,
        unanswered: UnansweredLog,
    ) -> None:
        self._rasa = rasa
        self._conversations = conversations
        self._limiter = limiter
        self._desk = desk
        self._unanswered = unanswered

    async def forget(self, conv: ConversationId) -> Turn:
        """Delete what we hold about the user: our keys, their tickets and their Rasa tracker."""
        try:
            said = [
                e["text"] for e in await self._conversations.history(conv) if e["role"] == "user"
            ]
            await self._unanswered.forget(conv.channel, said)
            await self._desk.forget(conv)
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
            ticket_id = await self._active_ticket(conv) if stateful else None
            if ticket_id is not None:
                turn = await self._to_desk(ticket_id, text, script)
            else:
                turn = await self._to_rasa(conv, text, script, metadata, stateful=stateful)
            if stateful and turn.replies:
                await self._record(
                    conv,
                    "bot",
                    "\n".join(r.text for r in turn.replies),
                    sources=turn.sources,
                    intent=turn.intent,
                )
            return turn
        raise AssertionError("unreachable")  # pragma: no cover

    async def _to_rasa(
        self,
        conv: ConversationId,
        text: str,
        script: str,
        metadata: Mapping[str, Any] | None,
        *,
        stateful: bool,
    ) -> Turn:
        # NLU is trained on Simplified text; the actions answer in the user's own script.
        nlu_text = to_simplified(text) if script == "hant" else text
        try:
            turn = await self._rasa.send(
                conv.sender, nlu_text, {**(metadata or {}), "script": script}
            )
        except (RasaUnavailableError, RasaTimeoutError, RasaServerError) as exc:
            # An outage affects every user at once: offer a person rather than opening a
            # ticket for each of them, and the bot answers again as soon as Rasa is back.
            log.warning("Rasa unavailable for a %s message: %s", conv.channel, exc)
            return busy_turn(script)
        except RasaError as exc:
            log.warning("Rasa failed for a %s message: %s", conv.channel, exc)
            if not stateful or not self._desk.enabled:
                return busy_turn(script)
            # A person answers instead of the broken bot (one of the desk's triggers).
            turn = notice(ERROR_HANDOFF_TEXT, script)
            turn.escalated, turn.handoff_reason = True, "internal_error"
        if turn.escalated and stateful:
            await self._escalate(conv, turn, text, script)
        await self._note_unanswered(conv, text, turn)
        return turn

    async def _to_desk(self, ticket_id: str, text: str, script: str) -> Turn:
        """The user's message goes to their ticket, not to Rasa."""
        try:
            queued = await self._desk.user_message(ticket_id, text)
        except (DeskError, StateError) as exc:
            log.warning("could not add a message to ticket %s: %s", ticket_id, exc)
            return busy_turn(script)
        turn = notice(queued, script) if queued else Turn()
        turn.escalated = True
        return turn

    async def _escalate(self, conv: ConversationId, turn: Turn, text: str, script: str) -> None:
        try:
            _, queued = await self._desk.escalate(
                conv, trigger=text, reason=turn.handoff_reason or "request_human", script=script
            )
        except DeskDisabledError:
            turn.replies.append(notice(DISABLED_TEXT, script).replies[0])
            return
        except (DeskError, StateError) as exc:
            log.warning("could not open a ticket: %s", exc)
            turn.replies.append(busy_turn(script).replies[0])
            return
        turn.replies.append(Reply(text=queued))

    async def _note_unanswered(self, conv: ConversationId, text: str, turn: Turn) -> None:
        reason = next((e for e in turn.events if e in UNANSWERED_EVENTS), None)
        if reason is None:
            return
        entry = Unanswered(
            question=text, ts=time.time(), channel=conv.channel, intent=turn.intent, reason=reason
        )
        try:
            await self._unanswered.record(entry)
        except StateError as exc:
            log.warning("could not record an unanswered question: %s", exc)

    async def _active_ticket(self, conv: ConversationId) -> str | None:
        try:
            return await self._desk.active_ticket(conv)
        except StateError as exc:
            log.warning("desk state unavailable, answering with the bot: %s", exc)
            return None

    async def _enter_turn(self, stack: AsyncExitStack, conv: ConversationId) -> bool:
        try:
            await stack.enter_async_context(self._conversations.turn(conv))
        except StateError as exc:
            # Answering matters more than ordering: go on without state, and say why in the log.
            log.warning("conversation state unavailable, answering without it: %s", exc)
            return False
        return True

    async def _record(self, conv: ConversationId, role: Role, text: str, **extra: Any) -> bool:
        try:
            await self._conversations.record(conv, role, text, **extra)
        except StateError as exc:
            log.warning("could not record a %s message: %s", role, exc)
            return False
        return True

"""The one path every channel takes: conversation lock, message log, Rasa, reply."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextlib import AsyncExitStack
from typing import Any

from bot.clients.rasa import Button, RasaClient, RasaError, Reply, Turn
from bot.facts.script import detect_script, to_simplified, to_traditional
from bot.state.conversations import ConversationId, Conversations, Role
from bot.state.redis import StateError

log = logging.getLogger(__name__)

HUMAN_PAYLOAD = "/request_human"
BUSY_TEXT = "抱歉，服务暂时繁忙，请稍后再试。您的消息已记录；如需帮助，可以转人工客服。"


def busy_turn(script: str = "hans") -> Turn:
    """The reply when Rasa cannot answer: say so plainly and offer a human."""
    text, title = BUSY_TEXT, "转人工"
    if script == "hant":
        text, title = to_traditional(text), to_traditional(title)
    return Turn(replies=[Reply(text=text, buttons=(Button(title=title, payload=HUMAN_PAYLOAD),))])


class ChatService:
    """Handles one user message for any channel."""

    def __init__(self, rasa: RasaClient, conversations: Conversations) -> None:
        self._rasa = rasa
        self._conversations = conversations

    async def handle(
        self, conv: ConversationId, text: str, metadata: Mapping[str, Any] | None = None
    ) -> Turn:
        """Answer `text` in conversation `conv`; never raises for Rasa or Redis outages."""
        async with AsyncExitStack() as stack:
            stateful = await self._enter_turn(stack, conv)
            if stateful:
                stateful = await self._record(conv, "user", text)
            # NLU is trained on Simplified text; the actions answer in the user's own script.
            script = detect_script(text)
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

    async def _record(self, conv: ConversationId, role: Role, text: str, **extra: Any) -> bool:
        try:
            await self._conversations.record(conv, role, text, **extra)
        except StateError as exc:
            log.warning("could not record a %s message: %s", role, exc)
            return False
        return True

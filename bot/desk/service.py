"""The desk's domain layer: escalate, route user messages to tickets, claim, reply, close."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError, WatchError

from bot.clients.rasa import RasaClient, RasaError
from bot.desk.agents import Agent
from bot.desk.errors import DeskDisabledError, TicketConflictError, TicketForbiddenError
from bot.desk.hours import DeskHours
from bot.desk.outbox import Delivery, Kind, Outbox
from bot.desk.tickets import Ticket, TicketEvent, TicketStore
from bot.facts.script import to_traditional
from bot.state.conversations import ConversationId, Conversations
from bot.state.keys import Keys
from bot.state.redis import StateUnavailableError

log = logging.getLogger(__name__)

IDEMPOTENCY_TTL_S = 86_400

QUEUED_TEXT = (
    "已为您创建人工客服工单 {id}。您目前排在第 {position} 位，客服接入后会直接在这里回复您。"
)
STILL_QUEUED_TEXT = "您的消息已转给人工客服（工单 {id}）。您目前排在第 {position} 位，请稍候。"
CLAIMED_TEXT = "人工客服已接入，请直接在这里和客服对话。"
CLOSED_TEXT = "人工客服已结束本次对话。现在由机器人助手继续为您服务，有问题可以直接问我。"
TEAM_TEXT = "新工单 {id}（{channel}）：{trigger}"
DISABLED_TEXT = "抱歉，目前没有开通人工客服，无法为您转接。您可以换个说法再问我一次。"


def localise(text: str, script: str) -> str:
    """The desk's fixed texts are Simplified; users who write Traditional get Traditional."""
    return to_traditional(text) if script == "hant" else text


class Desk:
    """Everything the bot and the console do to tickets goes through here."""

    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        tickets: TicketStore,
        outbox: Outbox,
        conversations: Conversations,
        rasa: RasaClient,
        hours: DeskHours,
        *,
        enabled: bool,
        transcript_turns: int,
        team_chat: str | None = None,
    ) -> None:
        self._redis = redis
        self._keys = keys
        self.tickets = tickets
        self.outbox = outbox
        self._conversations = conversations
        self._rasa = rasa
        self.hours = hours
        self.enabled = enabled
        self._transcript_turns = transcript_turns
        self._team_chat = team_chat

    async def active_ticket(self, conv: ConversationId) -> str | None:
        """The open or claimed ticket that has this conversation, if any."""
        return await self.tickets.active_for(conv)

    async def escalate(
        self, conv: ConversationId, *, trigger: str, reason: str, script: str
    ) -> tuple[Ticket, str]:
        """Open a ticket, pause Rasa, and return the ticket with the user's queue notice."""
        if not self.enabled:
            raise DeskDisabledError("no desk agents are configured")
        state = await self._conversations.state(conv)
        history = await self._conversations.history(conv)
        transcript = [_turn(entry) for entry in history[-self._transcript_turns :]]
        ticket = await self.tickets.create(
            conv,
            display_name=state.get("display_name") or state.get("username") or "",
            trigger=trigger,
            reason=reason,
            script=script,
            transcript=transcript,
        )
        try:
            await self._rasa.pause(conv.sender)
        except RasaError as exc:
            # The front end keeps the user's messages away from Rasa either way.
            log.warning("could not pause the Rasa conversation of ticket %s: %s", ticket.id, exc)
        log.info("ticket %s opened (%s, %s)", ticket.id, conv.channel, reason)
        if self._team_chat:
            # The desk team's Telegram group hears of each new ticket (no ticket event: the
            # group is not the user).
            text = TEAM_TEXT.format(id=ticket.id, channel=ticket.channel, trigger=trigger)
            await self.outbox.enqueue(Delivery.new("", "telegram", self._team_chat, text, "notice"))
        return ticket, await self._queue_notice(ticket, QUEUED_TEXT)

    async def user_message(self, ticket_id: str, text: str) -> str | None:
        """Append the user's message to the ticket; the notice to show them, if any."""
        await self.tickets.add_event(ticket_id, "message", author="user", text=text)
        ticket = await self.tickets.get(ticket_id)
        if ticket.status != "open":
            return None  # an agent has the conversation: the bot stays quiet
        return await self._queue_notice(ticket, STILL_QUEUED_TEXT)

    async def claim(self, ticket_id: str, actor: Agent) -> Ticket:
        """The agent takes the ticket; the user is told a person is on."""
        ticket, claimed_now = await self.tickets.claim(ticket_id, actor)
        if claimed_now:
            await self._notify(ticket, CLAIMED_TEXT)
        return ticket

    async def reply(
        self, ticket_id: str, actor: Agent, text: str, idempotency_key: str | None
    ) -> tuple[Delivery, bool]:
        """Queue the agent's reply for delivery; returns it and whether it is new.

        The idempotency key, the ticket event and the outbox entry are written in one
        transaction, so a retried request neither loses nor duplicates the reply.
        """
        ticket = await self.tickets.get(ticket_id)
        if ticket.status == "closed":
            raise TicketConflictError(f"ticket {ticket.id} is closed")
        if ticket.status == "open" or (ticket.assignee != actor.name and not actor.admin):
            raise TicketForbiddenError(f"claim ticket {ticket.id} before replying")
        delivery = Delivery.new(ticket.id, ticket.channel, ticket.chat_id, text, "reply")
        if idempotency_key is None:
            async with self._transaction() as pipe:
                self._queue_reply(pipe, ticket, actor, delivery)
            return delivery, True
        earlier = await self._reply_once(
            self._keys.desk_idempotency(ticket.id, idempotency_key), ticket, actor, delivery
        )
        if earlier is not None:
            return replace(delivery, id=earlier), False
        return delivery, True

    async def close(self, ticket_id: str, actor: Agent) -> Ticket:
        """Close the ticket, give the conversation back to Rasa and tell the user."""
        ticket, closed_now = await self.tickets.close(ticket_id, actor)
        if closed_now:
            try:
                await self._rasa.resume(ticket.conversation.sender)
            except RasaError as exc:
                log.warning(
                    "could not resume the Rasa conversation of ticket %s: %s", ticket.id, exc
                )
            await self._notify(ticket, CLOSED_TEXT)
            log.info("ticket %s closed by %s", ticket.id, actor.name)
        return ticket

    async def retry(self, ticket_id: str, delivery_id: str) -> None:
        """Send a failed delivery again (the console's retry button)."""
        ticket = await self.tickets.get(ticket_id)  # an unknown ticket is a 404
        events = await self.tickets.events(ticket_id)
        queued = next(
            (e for e in events if e.data.get("delivery_id") == delivery_id and "text" in e.data),
            None,
        )
        state = await self.outbox.state(delivery_id)
        if queued is None or state is None:
            raise TicketConflictError(f"ticket {ticket_id} has no delivery {delivery_id}")
        if state.status != "failed":
            raise TicketConflictError(f"delivery {delivery_id} is {state.status}, not failed")
        kind: Kind = "reply" if queued.type == "reply" else "notice"
        await self.outbox.enqueue(
            Delivery(
                delivery_id, ticket.id, ticket.channel, ticket.chat_id, queued.data["text"], kind
            ),
            reset=True,
        )
        await self.tickets.add_event(ticket.id, "delivery_retry_requested", delivery_id=delivery_id)

    async def forget(self, conv: ConversationId) -> int:
        """Delete the user's tickets and the messages queued for them (for `/forget`)."""
        await self.outbox.forget(await self.tickets.ids_of(conv))
        return await self.tickets.forget(conv)

    async def thread(self, ticket_id: str) -> tuple[Ticket, list[TicketEvent]]:
        """The ticket and its events, for the console."""
        return await self.tickets.get(ticket_id), await self.tickets.events(ticket_id)

    async def _queue_notice(self, ticket: Ticket, template: str) -> str:
        position = await self.tickets.position(ticket.id) or 1
        text = template.format(id=ticket.id, position=position)
        closed = self.hours.closed_notice(datetime.now(UTC))
        if closed:
            text = f"{text}\n{closed}"
        return localise(text, ticket.script)

    async def _notify(self, ticket: Ticket, text: str) -> None:
        delivery = Delivery.new(
            ticket.id, ticket.channel, ticket.chat_id, localise(text, ticket.script), "notice"
        )
        async with self._transaction() as pipe:
            self.tickets.queue_event(
                pipe,
                ticket.id,
                "notice",
                _now(),
                {"delivery_id": delivery.id, "text": delivery.text},
            )
            self.outbox.queue(pipe, delivery)

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Pipeline]:
        """A MULTI/EXEC pipeline that runs when the block ends."""
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                yield pipe
                await pipe.execute()
        except RedisError as exc:
            raise StateUnavailableError("Redis is unavailable") from exc

    async def _reply_once(
        self, key: str, ticket: Ticket, agent: Agent, delivery: Delivery
    ) -> str | None:
        """Record the reply unless `key` was used: then the earlier delivery id."""
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                while True:
                    try:
                        await pipe.watch(key)
                        existing = await pipe.get(key)
                        if existing:
                            return str(existing)
                        pipe.multi()  # type: ignore[no-untyped-call]
                        pipe.set(key, delivery.id, ex=IDEMPOTENCY_TTL_S)
                        self._queue_reply(pipe, ticket, agent, delivery)
                        await pipe.execute()
                    except WatchError:
                        continue  # the same key arrived concurrently: read what it wrote
                    else:
                        return None
        except RedisError as exc:
            raise StateUnavailableError("Redis is unavailable") from exc

    def _queue_reply(
        self, pipe: Pipeline, ticket: Ticket, actor: Agent, delivery: Delivery
    ) -> None:
        self.tickets.queue_event(
            pipe,
            ticket.id,
            "reply",
            _now(),
            {"author": actor.name, "delivery_id": delivery.id, "text": delivery.text},
        )
        self.outbox.queue(pipe, delivery)


def _now() -> float:
    return datetime.now(UTC).timestamp()


def _turn(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A transcript entry: who, what, when, and the sources of the bot's answers."""
    turn = {"role": entry.get("role", ""), "text": entry.get("text", ""), "ts": entry.get("ts", 0)}
    if entry.get("sources"):
        turn["sources"] = list(entry["sources"])
    if entry.get("intent"):
        turn["intent"] = entry["intent"]
    return turn

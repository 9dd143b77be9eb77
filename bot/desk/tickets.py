"""Tickets in Redis: a hash per ticket, its own event stream, the queue and the live feed."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError, WatchError

from bot.desk.agents import Agent
from bot.desk.errors import TicketConflictError, TicketForbiddenError, TicketNotFoundError
from bot.state.conversations import ConversationId
from bot.state.keys import Keys
from bot.state.redis import StateUnavailableError, as_strs, entries

Status = Literal["open", "claimed", "closed"]
STATUSES: tuple[Status, ...] = ("open", "claimed", "closed")
FEED_LENGTH = 10_000
HANDOFF_FIELD = "handoff"


@dataclass(frozen=True, slots=True)
class Ticket:
    """One escalated conversation."""

    id: str
    channel: str
    chat_id: str
    display_name: str
    created: float
    status: Status
    assignee: str
    trigger: str
    reason: str
    script: str
    transcript: list[dict[str, Any]] = field(default_factory=list)
    claimed: float | None = None
    closed: float | None = None

    @property
    def conversation(self) -> ConversationId:
        """The user's conversation."""
        return ConversationId(self.channel, self.chat_id)

    def to_json(self) -> dict[str, Any]:
        """The ticket as the desk API shows it."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class TicketEvent:
    """One entry of a ticket's event stream."""

    id: str
    ticket_id: str
    type: str
    ts: float
    data: dict[str, str]

    def to_json(self) -> dict[str, Any]:
        """The event as the desk API and the live feed show it."""
        return {
            "id": self.id,
            "ticket_id": self.ticket_id,
            "type": self.type,
            "ts": self.ts,
            **self.data,
        }


def _ticket(raw: Mapping[str, str]) -> Ticket:
    status: str = raw.get("status", "open")
    return Ticket(
        id=raw["id"],
        channel=raw.get("channel", ""),
        chat_id=raw.get("chat_id", ""),
        display_name=raw.get("display_name", ""),
        created=float(raw.get("created", 0)),
        status=status if status in STATUSES else "open",
        assignee=raw.get("assignee", ""),
        trigger=raw.get("trigger", ""),
        reason=raw.get("reason", ""),
        script=raw.get("script", "hans"),
        transcript=json.loads(raw.get("transcript") or "[]"),
        claimed=float(raw["claimed"]) if raw.get("claimed") else None,
        closed=float(raw["closed"]) if raw.get("closed") else None,
    )


def event_from_entry(entry_id: str, fields: Mapping[str, str]) -> TicketEvent:
    """Read a stream entry written by `TicketStore.add_event`."""
    data = {k: v for k, v in fields.items() if k not in ("ticket_id", "type", "ts")}
    return TicketEvent(
        id=entry_id,
        ticket_id=fields.get("ticket_id", ""),
        type=fields.get("type", ""),
        ts=float(fields.get("ts", 0)),
        data=data,
    )


class TicketStore:
    """Creates, reads and moves tickets through open -> claimed -> closed."""

    def __init__(self, redis: Redis, keys: Keys, *, retention_s: int) -> None:
        self._redis = redis
        self._keys = keys
        self._retention = retention_s
        self.feed_key = keys.desk_events()

    async def create(
        self,
        conv: ConversationId,
        *,
        display_name: str,
        trigger: str,
        reason: str,
        script: str,
        transcript: Sequence[Mapping[str, Any]],
    ) -> Ticket:
        """Open a ticket and mark the conversation as handed off, in one transaction."""
        now = time.time()
        try:
            number = await self._redis.incr(self._keys.desk_seq())
            ticket = Ticket(
                id=f"T{number:05d}",
                channel=conv.channel,
                chat_id=conv.chat_id,
                display_name=display_name,
                created=now,
                status="open",
                assignee="",
                trigger=trigger,
                reason=reason,
                script=script,
                transcript=[dict(t) for t in transcript],
            )
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hset(self._keys.ticket(ticket.id), mapping=self._fields(ticket))  # type: ignore[arg-type]
                pipe.zadd(self._keys.desk_queue(), {ticket.id: now})
                pipe.zadd(self._keys.desk_tickets(), {ticket.id: now})
                pipe.sadd(self._keys.user_tickets(conv.channel, conv.chat_id), ticket.id)
                pipe.expire(self._keys.user_tickets(conv.channel, conv.chat_id), self._retention)
                # The hand-off flag and the ticket appear together, or neither does.
                pipe.hset(
                    self._keys.conversation(conv.channel, conv.chat_id), HANDOFF_FIELD, ticket.id
                )
                self.queue_event(pipe, ticket.id, "created", now, {"reason": reason})
                await pipe.execute()
        except RedisError as exc:
            raise StateUnavailableError("Redis is unavailable") from exc
        return ticket

    async def get(self, ticket_id: str) -> Ticket:
        """The ticket, or `TicketNotFoundError`."""
        try:
            raw = as_strs(await self._redis.hgetall(self._keys.ticket(ticket_id)))
        except RedisError as exc:
            raise StateUnavailableError("Redis is unavailable") from exc
        if not raw:
            raise TicketNotFoundError(f"no ticket {ticket_id}")
        return _ticket(raw)

    async def find(
        self, statuses: Sequence[Status] = STATUSES, *, limit: int = 200
    ) -> list[Ticket]:
        """Newest first, filtered by status; ids whose hash expired are dropped from the index."""
        try:
            ids = [
                str(i) for i in await self._redis.zrevrange(self._keys.desk_tickets(), 0, limit - 1)
            ]
            async with self._redis.pipeline(transaction=False) as pipe:
                for ticket_id in ids:
                    pipe.hgetall(self._keys.ticket(ticket_id))
                rows = [as_strs(row) for row in await pipe.execute()]
            gone = [tid for tid, raw in zip(ids, rows, strict=True) if not raw]
            if gone:
                await self._redis.zrem(self._keys.desk_tickets(), *gone)
        except RedisError as exc:
            raise StateUnavailableError("Redis is unavailable") from exc
        return [t for t in (_ticket(raw) for raw in rows if raw) if t.status in statuses]

    async def active_for(self, conv: ConversationId) -> str | None:
        """The id of the conversation's open or claimed ticket, if any."""
        try:
            value = await self._redis.hget(
                self._keys.conversation(conv.channel, conv.chat_id), HANDOFF_FIELD
            )
        except RedisError as exc:
            raise StateUnavailableError("Redis is unavailable") from exc
        return str(value) if value else None

    async def position(self, ticket_id: str) -> int | None:
        """1-based place in the queue of unclaimed tickets, or None when not queued."""
        try:
            rank: int | None = await self._redis.zrank(self._keys.desk_queue(), ticket_id)  # type: ignore[assignment]
        except RedisError as exc:
            raise StateUnavailableError("Redis is unavailable") from exc
        return None if rank is None else rank + 1

    async def claim(self, ticket_id: str, actor: Agent) -> tuple[Ticket, bool]:
        """open -> claimed by `actor`; returns the ticket and whether this call claimed it.

        Claiming one's own ticket again is a no-op.
        """

        def change(ticket: Ticket, pipe: Pipeline) -> bool:
            if ticket.status == "claimed" and ticket.assignee == actor.name:
                return False
            if ticket.status != "open":
                who = f"by {ticket.assignee}" if ticket.status == "claimed" else ""
                raise TicketConflictError(
                    f"ticket {ticket.id} is already {ticket.status} {who}".strip()
                )
            now = time.time()
            pipe.hset(
                self._keys.ticket(ticket.id),
                mapping={"status": "claimed", "assignee": actor.name, "claimed": f"{now:.3f}"},
            )
            pipe.zrem(self._keys.desk_queue(), ticket.id)
            self.queue_event(pipe, ticket.id, "claimed", now, {"agent": actor.name})
            return True

        return await self._transition(ticket_id, change)

    async def close(self, ticket_id: str, actor: Agent) -> tuple[Ticket, bool]:
        """-> closed; returns the ticket and whether this call closed it.

        An agent may close an unclaimed ticket or their own; only an admin may close a ticket
        another agent claimed.
        """

        def change(ticket: Ticket, pipe: Pipeline) -> bool:
            if ticket.status == "closed":
                return False
            if ticket.status == "claimed" and ticket.assignee != actor.name and not actor.admin:
                raise TicketForbiddenError(
                    f"ticket {ticket.id} is claimed by {ticket.assignee}; only they or an admin "
                    "can close it"
                )
            now = time.time()
            pipe.hset(
                self._keys.ticket(ticket.id), mapping={"status": "closed", "closed": f"{now:.3f}"}
            )
            pipe.zrem(self._keys.desk_queue(), ticket.id)
            self.queue_event(pipe, ticket.id, "closed", now, {"agent": actor.name})
            return True

        return await self._transition(ticket_id, change, release_handoff=True)

    async def add_event(self, ticket_id: str, type_: str, **data: str) -> TicketEvent:
        """Append to the ticket's stream and to the live feed."""
        now = time.time()
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                self.queue_event(pipe, ticket_id, type_, now, data)
                results = await pipe.execute()
        except RedisError as exc:
            raise StateUnavailableError("Redis is unavailable") from exc
        return TicketEvent(
            id=str(results[0]), ticket_id=ticket_id, type=type_, ts=now, data=dict(data)
        )

    async def events(self, ticket_id: str) -> list[TicketEvent]:
        """The ticket's events, oldest first."""
        try:
            found = entries(await self._redis.xrange(self._keys.ticket_events(ticket_id)))
        except RedisError as exc:
            raise StateUnavailableError("Redis is unavailable") from exc
        return [event_from_entry(entry_id, fields) for entry_id, fields in found]

    async def ids_of(self, conv: ConversationId) -> list[str]:
        """The ids of the user's tickets."""
        try:
            members = await self._redis.smembers(
                self._keys.user_tickets(conv.channel, conv.chat_id)
            )
        except RedisError as exc:
            raise StateUnavailableError("Redis is unavailable") from exc
        return sorted(str(i) for i in members)

    async def forget(self, conv: ConversationId) -> int:
        """Delete every ticket of the user (for `/forget`); returns how many."""
        user_key = self._keys.user_tickets(conv.channel, conv.chat_id)
        try:
            ids = [str(i) for i in await self._redis.smembers(user_key)]
            if ids:
                async with self._redis.pipeline(transaction=True) as pipe:
                    for ticket_id in ids:
                        pipe.delete(
                            self._keys.ticket(ticket_id), self._keys.ticket_events(ticket_id)
                        )
                    pipe.zrem(self._keys.desk_queue(), *ids)
                    pipe.zrem(self._keys.desk_tickets(), *ids)
                    pipe.delete(user_key)
                    await pipe.execute()
        except RedisError as exc:
            raise StateUnavailableError("Redis is unavailable") from exc
        return len(ids)

    async def _transition(
        self,
        ticket_id: str,
        change: Callable[[Ticket, Pipeline], bool],
        *,
        release_handoff: bool = False,
    ) -> tuple[Ticket, bool]:
        """Apply `change` atomically; the ticket after it, and whether it changed anything.

        Optimistic locking: two agents clicking at once must not both win the ticket, and
        `change` runs again on the fresh state when another write got in first.
        """
        key = self._keys.ticket(ticket_id)
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                while True:
                    current = None
                    try:
                        await pipe.watch(key)
                        raw = as_strs(await pipe.hgetall(key))
                        if not raw:
                            raise TicketNotFoundError(f"no ticket {ticket_id}")
                        ticket = _ticket(raw)
                        conv_key = self._keys.conversation(ticket.channel, ticket.chat_id)
                        if release_handoff:
                            await pipe.watch(key, conv_key)
                            current = await pipe.hget(conv_key, HANDOFF_FIELD)
                        pipe.multi()  # type: ignore[no-untyped-call]
                        changed = change(ticket, pipe)
                        if changed:
                            user_key = self._keys.user_tickets(ticket.channel, ticket.chat_id)
                            pipe.expire(user_key, self._retention)
                        if changed and release_handoff and current == ticket.id:
                            pipe.hdel(conv_key, HANDOFF_FIELD)
                        if not changed:
                            await pipe.reset()  # type: ignore[no-untyped-call]
                            return ticket, False
                        await pipe.execute()
                        break
                    except WatchError:
                        continue
        except RedisError as exc:
            raise StateUnavailableError("Redis is unavailable") from exc
        return await self.get(ticket_id), True

    def queue_event(
        self, pipe: Pipeline, ticket_id: str, type_: str, ts: float, data: Mapping[str, str]
    ) -> None:
        """Add an event to `pipe`, so callers can make it part of their own transaction."""
        head = {"ticket_id": ticket_id, "type": type_, "ts": f"{ts:.3f}"}
        event: dict[str, str] = {**head, **data}
        pipe.xadd(self._keys.ticket_events(ticket_id), event)  # type: ignore[arg-type]
        # The feed only says which ticket changed: no message text, so `/forget` (which
        # deletes the tickets) leaves nothing personal behind in it.
        pipe.xadd(self._keys.desk_events(), head, maxlen=FEED_LENGTH, approximate=True)  # type: ignore[arg-type]
        # Personal data expires: a ticket is kept DESK_RETENTION_DAYS after its last event.
        pipe.expire(self._keys.ticket(ticket_id), self._retention)
        pipe.expire(self._keys.ticket_events(ticket_id), self._retention)

    @staticmethod
    def _fields(ticket: Ticket) -> dict[str, str]:
        return {
            "id": ticket.id,
            "channel": ticket.channel,
            "chat_id": ticket.chat_id,
            "display_name": ticket.display_name,
            "created": f"{ticket.created:.3f}",
            "status": ticket.status,
            "assignee": ticket.assignee,
            "trigger": ticket.trigger,
            "reason": ticket.reason,
            "script": ticket.script,
            "transcript": json.dumps(ticket.transcript, ensure_ascii=False),
        }

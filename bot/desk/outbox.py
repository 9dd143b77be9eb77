"""The outbox: messages for users' channels, in a Redis stream read by a consumer group.

An entry is acknowledged only when its message was delivered or given up as failed, so a
bot that dies mid-delivery leaves it pending for another worker (or itself, restarted).
Each delivery also has a state hash that works as its claim: a redelivered entry whose
message already went out is acknowledged without sending it again.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Literal

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError, ResponseError

from bot.state.keys import Keys
from bot.state.redis import StateUnavailableError, as_strs, entries, read_entries

GROUP = "delivery"
Kind = Literal["reply", "notice"]
DeliveryStatus = Literal["pending", "sending", "delivered", "failed"]
STREAM_LENGTH = 50_000
FORGET_PAGE = 1_000

# Take the claim unless it is delivered, or another worker's lease on it is still running.
_CLAIM = """
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'delivered' then return 'delivered' end
if status == 'sending' then
  local lease = tonumber(redis.call('HGET', KEYS[1], 'lease') or '0')
  if lease > tonumber(ARGV[1]) then return 'busy' end
end
local lease = tostring(tonumber(ARGV[1]) + tonumber(ARGV[2]))
redis.call('HSET', KEYS[1], 'status', 'sending', 'lease', lease)
return tostring(redis.call('HINCRBY', KEYS[1], 'attempts', 1))
"""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message for one user: an agent's reply or a desk notice."""

    id: str
    ticket_id: str
    channel: str
    chat_id: str
    text: str
    kind: Kind = "notice"

    @classmethod
    def new(cls, ticket_id: str, channel: str, chat_id: str, text: str, kind: Kind) -> Delivery:
        """A delivery with a fresh id."""
        return cls(uuid.uuid4().hex, ticket_id, channel, chat_id, text, kind)

    def fields(self) -> dict[str, str]:
        """The stream entry's fields."""
        return {
            "id": self.id,
            "ticket_id": self.ticket_id,
            "channel": self.channel,
            "chat_id": self.chat_id,
            "text": self.text,
            "kind": self.kind,
        }

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> Delivery:
        """Read a stream entry written by `fields`."""
        kind: Kind = "reply" if fields.get("kind") == "reply" else "notice"
        return cls(
            id=fields["id"],
            ticket_id=fields.get("ticket_id", ""),
            channel=fields.get("channel", ""),
            chat_id=fields.get("chat_id", ""),
            text=fields.get("text", ""),
            kind=kind,
        )


@dataclass(frozen=True, slots=True)
class DeliveryState:
    """Where one delivery stands."""

    status: DeliveryStatus
    attempts: int
    error: str


class Outbox:
    """Enqueue deliveries; read, claim and settle them (used by `DeliveryWorker`)."""

    def __init__(self, redis: Redis, keys: Keys, *, retention_s: int) -> None:
        self._redis = redis
        self._keys = keys
        self._stream = keys.desk_outbox()
        self._retention = retention_s
        self._claim = redis.register_script(_CLAIM)

    async def ensure_group(self) -> None:
        """Create the consumer group (and the stream) if they do not exist yet."""
        try:
            await self._redis.xgroup_create(self._stream, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise StateUnavailableError(f"cannot create the outbox group: {exc}") from exc
        except RedisError as exc:
            raise StateUnavailableError("Redis is unavailable") from exc

    async def enqueue(self, delivery: Delivery, *, reset: bool = False) -> None:
        """Queue a delivery; `reset` starts a failed one's attempts again (a manual retry)."""
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                self.queue(pipe, delivery, reset=reset)
                await pipe.execute()
        except RedisError as exc:
            raise StateUnavailableError("Redis is unavailable") from exc

    def queue(self, pipe: Pipeline, delivery: Delivery, *, reset: bool = False) -> None:
        """Add the enqueueing to `pipe`, so callers can make it part of their transaction."""
        state_key = self._keys.desk_delivery(delivery.id)
        if reset:
            pipe.hset(state_key, mapping={"status": "pending", "attempts": 0, "error": ""})
        else:
            pipe.hsetnx(state_key, "status", "pending")
        pipe.expire(state_key, self._retention)
        pipe.xadd(self._stream, delivery.fields(), maxlen=STREAM_LENGTH, approximate=True)  # type: ignore[arg-type]
        # Entries hold a chat id and a message: none outlives the desk's retention.
        oldest_ms = int((time.time() - self._retention) * 1000)
        pipe.xtrim(self._stream, minid=f"{max(oldest_ms, 0)}-0", approximate=True)

    async def forget(self, ticket_ids: Collection[str]) -> int:
        """Delete the outbox entries of these tickets (for `/forget`); returns how many."""
        wanted, doomed, start = set(ticket_ids), [], "-"
        try:
            while True:
                page = entries(
                    await self._redis.xrange(self._stream, start, "+", count=FORGET_PAGE)
                )
                doomed += [entry_id for entry_id, f in page if f.get("ticket_id") in wanted]
                if len(page) < FORGET_PAGE:
                    break
                start = f"({page[-1][0]}"
            if doomed:
                await self._redis.xdel(self._stream, *doomed)
        except RedisError as exc:
            raise StateUnavailableError("Redis is unavailable") from exc
        return len(doomed)

    async def read(self, consumer: str, *, count: int, block_ms: int) -> list[tuple[str, Delivery]]:
        """New entries for this consumer (blocks up to `block_ms`)."""
        try:
            result = await self._redis.xreadgroup(
                GROUP, consumer, {self._stream: ">"}, count=count, block=block_ms
            )
        except ResponseError as exc:
            if "NOGROUP" in str(exc):  # the stream was deleted (FLUSHALL): start again
                await self.ensure_group()
                return []
            raise StateUnavailableError(f"cannot read the outbox: {exc}") from exc
        except RedisError as exc:
            raise StateUnavailableError("Redis is unavailable") from exc
        return [
            (entry_id, Delivery.from_fields(fields)) for entry_id, fields in read_entries(result)
        ]

    async def reclaim(
        self, consumer: str, *, idle_ms: int, count: int
    ) -> list[tuple[str, Delivery]]:
        """Entries left pending longer than `idle_ms` (failed attempts, dead workers)."""
        try:
            result = await self._redis.xautoclaim(
                self._stream, GROUP, consumer, min_idle_time=idle_ms, start_id="0-0", count=count
            )
        except ResponseError as exc:
            if "NOGROUP" in str(exc):
                await self.ensure_group()
                return []
            raise StateUnavailableError(f"cannot reclaim outbox entries: {exc}") from exc
        except RedisError as exc:
            raise StateUnavailableError("Redis is unavailable") from exc
        return [(entry_id, Delivery.from_fields(fields)) for entry_id, fields in entries(result[1])]

    async def claim(self, delivery_id: str, *, lease_s: float) -> int | None:
        """Take the delivery: its attempt number, or None when delivered or leased elsewhere."""
        try:
            result = await self._claim(
                keys=[self._keys.desk_delivery(delivery_id)], args=[f"{time.time():.3f}", lease_s]
            )
        except RedisError as exc:
            raise StateUnavailableError("Redis is unavailable") from exc
        text = str(result)
        return None if text in ("delivered", "busy") else int(text)

    async def settle(
        self, entry_id: str, delivery_id: str, status: DeliveryStatus, error: str = ""
    ) -> None:
        """Record the outcome; delivered and failed entries leave the pending list."""
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hset(
                    self._keys.desk_delivery(delivery_id),
                    mapping={"status": status, "error": error},
                )
                if status in ("delivered", "failed"):
                    # Deleted once settled: the text stays only in the ticket, which /forget
                    # and the retention period remove.
                    pipe.xack(self._stream, GROUP, entry_id)
                    pipe.xdel(self._stream, entry_id)
                await pipe.execute()
        except RedisError as exc:
            raise StateUnavailableError("Redis is unavailable") from exc

    async def ack(self, entry_id: str) -> None:
        """Drop an entry whose delivery another entry already settled."""
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.xack(self._stream, GROUP, entry_id)
                pipe.xdel(self._stream, entry_id)
                await pipe.execute()
        except RedisError as exc:
            raise StateUnavailableError("Redis is unavailable") from exc

    async def state(self, delivery_id: str) -> DeliveryState | None:
        """Where the delivery stands, or None if unknown."""
        return (await self.states([delivery_id]))[delivery_id]

    async def states(self, delivery_ids: Sequence[str]) -> dict[str, DeliveryState | None]:
        """Where each delivery stands (None if unknown), in one round trip."""
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for delivery_id in delivery_ids:
                    pipe.hgetall(self._keys.desk_delivery(delivery_id))
                rows = [as_strs(row) for row in await pipe.execute()]
        except RedisError as exc:
            raise StateUnavailableError("Redis is unavailable") from exc
        return {
            delivery_id: _state(raw) if raw else None
            for delivery_id, raw in zip(delivery_ids, rows, strict=True)
        }


def _state(raw: dict[str, str]) -> DeliveryState:
    status = raw.get("status", "pending")
    known: tuple[DeliveryStatus, ...] = ("pending", "sending", "delivered", "failed")
    return DeliveryState(
        status=next((s for s in known if s == status), "pending"),
        attempts=int(raw.get("attempts") or 0),
        error=raw.get("error", ""),
    )

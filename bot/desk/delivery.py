"""The delivery worker: takes outbox entries and sends them through the user's channel."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable

from bot.desk.errors import DeliveryError, DeliveryRejectedError, DeliveryRetryableError
from bot.desk.outbox import Delivery, Outbox
from bot.desk.tickets import TicketStore
from bot.state.redis import StateError

log = logging.getLogger(__name__)

Sender = Callable[[str, str], Awaitable[None]]
"""Sends `text` to `chat_id` on one channel; raises `DeliveryError` subclasses."""

LEASE_S = 60.0
BATCH = 10
BLOCK_MS = 500


class DeliveryWorker:
    """Delivers each outbox entry once, retrying channel failures, reporting the outcome."""

    def __init__(
        self,
        outbox: Outbox,
        tickets: TicketStore,
        senders: dict[str, Sender],
        *,
        attempts: int,
        retry_s: float,
    ) -> None:
        self._outbox = outbox
        self._tickets = tickets
        self._senders = senders
        self._attempts = attempts
        self._retry_s = retry_s
        self._consumer = f"bot-{uuid.uuid4().hex[:12]}"
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """Finish the current batch and return from `run` (within about `BLOCK_MS`)."""
        self._stopping.set()

    async def run(self) -> None:
        """Deliver until stopped; Redis outages pause the loop instead of ending it."""
        last_reclaim = 0.0
        while not self._stopping.is_set():
            try:
                await self._outbox.ensure_group()
                while not self._stopping.is_set():
                    batch = await self._outbox.read(self._consumer, count=BATCH, block_ms=BLOCK_MS)
                    if time.monotonic() - last_reclaim >= self._retry_s / 2:
                        last_reclaim = time.monotonic()
                        batch += await self._outbox.reclaim(
                            self._consumer, idle_ms=int(self._retry_s * 1000), count=BATCH
                        )
                    for entry_id, delivery in batch:
                        await self.deliver(entry_id, delivery)
            except StateError as exc:
                log.warning("delivery paused, Redis unavailable: %s", exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), 1.0)

    async def deliver(self, entry_id: str, delivery: Delivery) -> None:
        """One attempt at one entry; a failure stays pending until retried or given up."""
        attempt = await self._outbox.claim(delivery.id, lease_s=LEASE_S)
        if attempt is None:
            # Delivered already (a redelivered entry, or a manual retry raced the worker).
            state = await self._outbox.state(delivery.id)
            if state is not None and state.status == "delivered":
                await self._outbox.ack(entry_id)
            return
        try:
            sender = self._senders.get(delivery.channel)
            if sender is None:
                raise DeliveryRetryableError(f"the {delivery.channel} channel is not running")
            await sender(delivery.chat_id, delivery.text)
        except DeliveryError as exc:
            await self._failed(entry_id, delivery, attempt, exc)
            return
        await self._outbox.settle(entry_id, delivery.id, "delivered")
        await self._event(delivery, "delivered", attempts=str(attempt))

    async def _failed(
        self, entry_id: str, delivery: Delivery, attempt: int, exc: DeliveryError
    ) -> None:
        final = isinstance(exc, DeliveryRejectedError) or attempt >= self._attempts
        error = str(exc) or type(exc).__name__
        log.warning(
            "delivery %s to %s failed (attempt %d/%d%s): %s",
            delivery.id,
            delivery.channel,
            attempt,
            self._attempts,
            ", giving up" if final else "",
            error,
        )
        await self._outbox.settle(entry_id, delivery.id, "failed" if final else "pending", error)
        await self._event(
            delivery,
            "delivery_failed" if final else "delivery_retry",
            attempts=str(attempt),
            error=error,
        )

    async def _event(self, delivery: Delivery, type_: str, **data: str) -> None:
        if delivery.ticket_id:
            await self._tickets.add_event(
                delivery.ticket_id, type_, delivery_id=delivery.id, kind=delivery.kind, **data
            )

"""Client for the Rasa server's REST channel and HTTP API."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import aiohttp

log = logging.getLogger(__name__)

META_KEY = "bizbot"
"""Key of the custom payload our actions attach to every turn (see rasa_project/actions)."""
SILENT_PAYLOADS = frozenset({"/restart"})
"""Messages Rasa handles with a built-in action, which may say nothing and attach no payload."""


class RasaError(Exception):
    """Base class for every failure talking to Rasa."""


class RasaUnavailableError(RasaError):
    """Rasa could not be reached (connection refused or reset) after the retries."""


class RasaActionsMissingError(RasaUnavailableError):
    """Rasa answered without running our custom actions: the action server is down."""


class RasaTimeoutError(RasaError):
    """Rasa did not answer within the configured timeout."""


class RasaResponseError(RasaError):
    """Rasa answered with an error status or a body we cannot read."""


class RasaServerError(RasaResponseError):
    """Rasa answered 5xx: its own stores (Redis) or process failed, for everyone alike."""


@dataclass(frozen=True, slots=True)
class Button:
    """A quick-reply button."""

    title: str
    payload: str


@dataclass(frozen=True, slots=True)
class Reply:
    """One bot message."""

    text: str
    buttons: tuple[Button, ...] = ()


@dataclass(slots=True)
class Turn:
    """Everything Rasa said for one user message, plus the metadata our actions attached."""

    replies: list[Reply] = field(default_factory=list)
    intent: str = ""
    confidence: float = 0.0
    entities: dict[str, str] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    escalated: bool = False
    handoff_reason: str = ""
    events: list[str] = field(default_factory=list)


def parse_turn(messages: object) -> Turn:
    """Fold the REST channel's message list into one `Turn`."""
    if not isinstance(messages, list):
        raise RasaResponseError("Rasa's webhook did not return a list")
    turn = Turn()
    for message in messages:
        if not isinstance(message, Mapping):
            raise RasaResponseError("Rasa's webhook returned a non-object message")
        custom = message.get("custom")
        if isinstance(custom, Mapping) and isinstance(custom.get(META_KEY), Mapping):
            _merge_meta(turn, custom[META_KEY])
            continue
        text = message.get("text")
        buttons = tuple(
            Button(title=str(b.get("title", "")), payload=str(b.get("payload", "")))
            for b in message.get("buttons") or ()
            if isinstance(b, Mapping)
        )
        if isinstance(text, str) and (text or buttons):
            turn.replies.append(Reply(text=text, buttons=buttons))
    return turn


def _merge_meta(turn: Turn, meta: Mapping[str, Any]) -> None:
    intent = meta.get("intent")
    if isinstance(intent, Mapping):
        turn.intent = str(intent.get("name") or turn.intent)
        turn.confidence = float(intent.get("confidence") or 0.0)
    entities = meta.get("entities")
    if isinstance(entities, Mapping):
        turn.entities.update({str(k): str(v) for k, v in entities.items() if v is not None})
    for source in meta.get("sources") or ():
        if str(source) not in turn.sources:
            turn.sources.append(str(source))
    turn.escalated = turn.escalated or bool(meta.get("escalated"))
    handoff = meta.get("handoff")
    if isinstance(handoff, Mapping) and handoff.get("reason"):
        turn.handoff_reason = str(handoff["reason"])
    turn.events.extend(str(e) for e in meta.get("events") or ())


class RasaClient:
    """Talks to one Rasa server over a shared `aiohttp.ClientSession`."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        *,
        timeout_s: float,
        retries: int,
        token: str | None = None,
        backoff_s: float = 0.2,
        max_in_flight: int = 4,
    ) -> None:
        self._session = session
        self._base = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout_s, connect=min(timeout_s, 3.0))
        self._retries = retries
        self._backoff = backoff_s
        self._params = {"token": token} if token else {}
        # Rasa handles a message mostly on one CPU-bound event loop. Given more messages at
        # once it interleaves them and the slowest wait many seconds; a first-come,
        # first-served queue here keeps the wait fair (docs/performance.md).
        self._in_flight = asyncio.Semaphore(max_in_flight)

    async def send(self, sender: str, text: str, metadata: Mapping[str, Any] | None = None) -> Turn:
        """Send one user message through the REST channel and return Rasa's turn."""
        body = {"sender": sender, "message": text, "metadata": dict(metadata or {})}
        try:
            # The wait for a slot is bounded like the call itself.
            async with asyncio.timeout(self._timeout.total):
                await self._in_flight.acquire()
        except TimeoutError as exc:
            raise RasaTimeoutError("Rasa is saturated: no free slot in time") from exc
        try:
            data = await self._request("POST", "/webhooks/rest/webhook", json=body, retry=True)
        finally:
            self._in_flight.release()
        turn = parse_turn(data)
        # Every other turn runs our actions, which always attach their payload. When the
        # action server is down, Rasa logs the failure and answers 200 with nothing.
        if not turn.replies and not turn.intent and text not in SILENT_PAYLOADS:
            raise RasaActionsMissingError("Rasa answered without running our actions")
        return turn

    async def reset_tracker(self, sender: str) -> None:
        """Replace the conversation's tracker events with none (Rasa's HTTP API)."""
        await self._request(
            "PUT", f"/conversations/{quote(sender, safe='')}/tracker/events", json=[], retry=True
        )

    async def append_events(self, sender: str, events: list[dict[str, Any]]) -> None:
        """Append events to the conversation's tracker (Rasa's HTTP API)."""
        await self._request(
            "POST",
            f"/conversations/{quote(sender, safe='')}/tracker/events",
            json=events,
            retry=True,
        )

    async def pause(self, sender: str) -> None:
        """Pause the conversation: a human has it (`ConversationPaused`)."""
        await self.append_events(sender, [{"event": "pause"}])

    async def resume(self, sender: str) -> None:
        """Give the conversation back to the bot (`ConversationResumed`)."""
        await self.append_events(sender, [{"event": "resume"}])

    async def version(self) -> str:
        """Return Rasa's version (used by health checks)."""
        data = await self._request("GET", "/version", retry=False)
        if not isinstance(data, Mapping):
            raise RasaResponseError("Rasa's /version did not return an object")
        return str(data.get("version", "unknown"))

    async def _request(self, method: str, path: str, *, json: object = None, retry: bool) -> object:
        # Only connection failures are retried: the message never reached Rasa, so a retry
        # cannot answer it twice. A timeout may mean Rasa is still working on it.
        attempts = self._retries + 1 if retry else 1
        for attempt in range(attempts):
            try:
                async with self._session.request(
                    method,
                    self._base + path,
                    json=json,
                    params=self._params,
                    timeout=self._timeout,
                ) as resp:
                    if resp.status >= 500:
                        raise RasaServerError(f"Rasa answered {resp.status} on {path}")
                    if resp.status >= 400:
                        raise RasaResponseError(f"Rasa answered {resp.status} on {path}")
                    try:
                        return await resp.json(content_type=None)
                    except ValueError as exc:
                        raise RasaResponseError(f"Rasa sent invalid JSON on {path}") from exc
            except (aiohttp.ClientConnectionError, ConnectionError) as exc:
                if isinstance(exc, aiohttp.ServerTimeoutError):
                    raise RasaTimeoutError(f"Rasa timed out on {path}") from exc
                if attempt + 1 >= attempts:
                    raise RasaUnavailableError(f"Rasa is unreachable at {self._base}") from exc
                log.warning("Rasa connection failed (attempt %d/%d)", attempt + 1, attempts)
                await asyncio.sleep(self._backoff * 2**attempt)
            except TimeoutError as exc:
                raise RasaTimeoutError(f"Rasa timed out on {path}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

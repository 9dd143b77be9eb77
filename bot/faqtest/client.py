"""HTTP client of the bot under test: `GET /healthz` and `POST /api/chat` (README contract).

Each conversation is a web chat session: the first message under a conversation name opens
one (`POST /api/chat/session`, the bot picks the sender id), later ones send its token.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import aiohttp

from bot.channels.contract import SessionRefusedError, WebSession, open_session
from bot.faqtest.errors import BotResponseError, BotTimeoutError, BotUnreachableError
from bot.faqtest.models import Answer

CHAT_TIMEOUT_S = 30.0
HEALTH_TIMEOUT_S = 10.0
CONNECT_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class Health:
    """What `/healthz` said: any answer means the bot is reachable."""

    status: int
    failing: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True for a 200 (every dependency of the bot answers)."""
        return self.status == 200


class BotClient:
    """Talks to one bot over one `aiohttp.ClientSession`; use as `async with`."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = CHAT_TIMEOUT_S,
        health_timeout_s: float = HEALTH_TIMEOUT_S,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        connect = min(timeout_s, CONNECT_TIMEOUT_S)
        self._chat_timeout = aiohttp.ClientTimeout(total=timeout_s, connect=connect)
        self._health_timeout = aiohttp.ClientTimeout(total=health_timeout_s, connect=connect)
        self._session: aiohttp.ClientSession | None = None
        self._conversations: dict[str, WebSession] = {}

    async def __aenter__(self) -> Self:
        self._session = aiohttp.ClientSession()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        """The shared session (only inside `async with`)."""
        if self._session is None:
            raise RuntimeError("BotClient is used outside `async with`")
        return self._session

    async def health(self) -> Health:
        """`GET /healthz`; BotUnreachableError if nothing answers in time."""
        url = f"{self.base_url}/healthz"
        try:
            async with self.session.get(url, timeout=self._health_timeout) as resp:
                body = await resp.json(content_type=None) if resp.status == 503 else None
                return Health(resp.status, _failing_checks(body))
        except TimeoutError:
            raise BotUnreachableError(
                f"the bot at {self.base_url} did not answer {url} within "
                f"{self._health_timeout.total:g}s"
            ) from None
        except ValueError:
            return Health(503, ("(unreadable /healthz body)",))
        except aiohttp.ClientError as exc:
            raise BotUnreachableError(f"the bot at {self.base_url} is unreachable: {exc}") from None

    def sender_of(self, conversation: str) -> str | None:
        """The sender id the bot picked for a conversation name (None before its first turn)."""
        opened = self._conversations.get(conversation)
        return opened.sender if opened is not None else None

    async def chat(self, conversation: str, text: str) -> Answer:
        """Send one message in the conversation named `conversation` and return the answer.

        The first message of a name opens a session for it. Like the web page, a 401 (the
        session was deleted by `/forget`, or expired) opens a new one and sends again, once.
        """
        for renew in (False, True):
            if renew or conversation not in self._conversations:
                self._conversations[conversation] = await self._open()
            status, reason, raw = await self._post(self._conversations[conversation], text)
            if status != 401:
                break
        if status >= 400:
            raise _error_response(status, reason, raw)
        return parse_answer(_decode(raw, status))

    async def _open(self) -> WebSession:
        url = f"{self.base_url}/api/chat/session"
        with self._failures(url):
            try:
                return await open_session(
                    self.session, self.base_url, client_timeout=self._chat_timeout
                )
            except SessionRefusedError as exc:
                raise BotResponseError(
                    f"bot answered {exc} (POST {url})", status=exc.status, code=exc.code
                ) from None

    async def _post(self, conversation: WebSession, text: str) -> tuple[int, str, bytes]:
        url = f"{self.base_url}/api/chat"
        body = {"sender": conversation.sender, "text": text}
        with self._failures(url):
            async with self.session.post(
                url, json=body, headers=conversation.headers, timeout=self._chat_timeout
            ) as resp:
                return resp.status, resp.reason or "", await resp.read()

    @contextmanager
    def _failures(self, url: str) -> Iterator[None]:
        """aiohttp's errors as ours: timeout, unreachable, or a broken response."""
        try:
            yield
        except TimeoutError:
            raise BotTimeoutError(
                f"no answer within {self._chat_timeout.total:g}s (POST {url})"
            ) from None
        except (aiohttp.ClientConnectorError, aiohttp.InvalidURL) as exc:
            raise BotUnreachableError(f"the bot at {self.base_url} is unreachable: {exc}") from None
        except aiohttp.ClientError as exc:
            # The connection was made but broke (server disconnected, bad payload).
            raise BotResponseError(f"{type(exc).__name__}: {exc}") from None


def _decode(raw: bytes, status: int) -> object:
    try:
        return json.loads(raw)
    except ValueError:
        raise BotResponseError(
            f"bot answered {status} with a body that is not JSON: {raw[:200]!r}", status=status
        ) from None


def _error_response(status: int, reason: str, raw: bytes) -> BotResponseError:
    try:
        data = _decode(raw, status)
    except BotResponseError:
        data = None
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        code, message = str(error.get("code", "")), str(error.get("message", ""))
        return BotResponseError(
            f"bot answered {status} {code}: {message}", status=status, code=code
        )
    body = raw[:200].decode("utf-8", "replace")
    return BotResponseError(f"bot answered {status} {reason}: {body}".rstrip(": "), status=status)


def _failing_checks(body: object) -> tuple[str, ...]:
    checks = body.get("checks") if isinstance(body, Mapping) else None
    if not isinstance(checks, Mapping):
        return ()
    return tuple(
        f"{name} ({check.get('error', 'failing')})"
        for name, check in checks.items()
        if isinstance(check, Mapping) and not check.get("ok")
    )


def parse_answer(data: object) -> Answer:
    """Check a 200 body against the chat contract and reduce it to an `Answer`."""
    try:
        return _parse(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BotResponseError(f"the answer breaks the chat contract ({exc!r}): {data!r}") from None


def _parse(data: Any) -> Answer:
    replies, intent, entities = data["replies"], data["intent"], data["entities"]
    if not isinstance(replies, list) or not isinstance(data["sources"], list):
        raise TypeError("replies and sources must be arrays")
    if not isinstance(entities, dict) or not isinstance(data["escalated"], bool):
        raise TypeError("entities must be an object and escalated a boolean")
    return Answer(
        replies=tuple(_str(r["text"]) for r in replies),
        intent=_str(intent["name"]),
        confidence=float(intent["confidence"]),
        entities={str(k): str(v) for k, v in entities.items()},
        sources=tuple(_str(s) for s in data["sources"]),
        escalated=data["escalated"],
    )


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {value!r}")
    return value

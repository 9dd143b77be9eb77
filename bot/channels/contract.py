"""The `/api/chat` contract shared by every channel and every test.

A web chat client first opens a session (`POST /api/chat/session`): the server picks the
sender id and a bearer token. Every message then carries the token (`Authorization: Bearer`),
and so does the pushed-message stream (`?token=`, as EventSource cannot set headers).
`open_session` is the client side of that first step, used by every client in the repo.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass
from typing import Annotated, Any

import aiohttp
from pydantic import BaseModel, ConfigDict, StringConstraints

from bot.clients.rasa import Turn

SENDER_MAX = 128
TOKEN_MAX = 256
SESSION_PATH = "/api/chat/session"
SESSION_WAIT_S = 60.0
RETRY_AFTER_MAX_S = 10.0
Sender = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=SENDER_MAX)
]


class ChatRequest(BaseModel):
    """`{"sender": str, "text": str}`; text length is checked against settings separately."""

    model_config = ConfigDict(extra="ignore", strict=True)

    sender: Sender
    text: Annotated[str, StringConstraints(strip_whitespace=True)]


@dataclass(frozen=True, slots=True)
class WebSession:
    """A web chat session: the sender id the server picked and the bearer token for it."""

    sender: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        """The `Authorization` header of every `/api/chat` request of this session."""
        return {"Authorization": f"Bearer {self.token}"}

    def events_params(self) -> dict[str, str]:
        """The query of the session's pushed-message stream (`GET /api/chat/events`)."""
        return {"sender": self.sender, "token": self.token}


class SessionRefusedError(Exception):
    """The bot did not open a session: its status, error code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}".strip(": "))
        self.status = status
        self.code = code


def turn_to_json(turn: Turn) -> dict[str, Any]:
    """Render a turn in the contract's response shape."""
    return {
        "replies": [
            {
                "text": r.text,
                "buttons": [{"title": b.title, "payload": b.payload} for b in r.buttons],
            }
            for r in turn.replies
        ],
        "intent": {"name": turn.intent, "confidence": round(turn.confidence, 4)},
        "entities": dict(turn.entities),
        "sources": list(turn.sources),
        "escalated": turn.escalated,
    }


async def open_session(
    http: aiohttp.ClientSession,
    base_url: str,
    *,
    wait_s: float = SESSION_WAIT_S,
    client_timeout: aiohttp.ClientTimeout | None = None,
) -> WebSession:
    """`POST /api/chat/session` on the bot at `base_url`.

    While the bot answers 429 (too many new sessions from this address) it waits as long as
    `Retry-After` says (at most 10 s at a time) and asks again, for `wait_s` in all. Any other
    answer than 201 raises SessionRefusedError; aiohttp's errors and TimeoutError pass through.
    """
    url = f"{base_url.rstrip('/')}{SESSION_PATH}"
    deadline = time.monotonic() + wait_s
    while True:
        async with http.post(url, timeout=client_timeout) as resp:
            status, retry_after = resp.status, resp.headers.get("Retry-After", "")
            try:
                data = await resp.json(content_type=None)
            except ValueError:
                data = None
        if status == 201 and isinstance(data, dict):
            sender, token = data.get("sender"), data.get("token")
            if isinstance(sender, str) and isinstance(token, str) and sender and token:
                return WebSession(sender, token)
        error = data.get("error") if isinstance(data, dict) else None
        code = str(error.get("code", "")) if isinstance(error, dict) else ""
        message = str(error.get("message", "")) if isinstance(error, dict) else ""
        pause = _retry_after(retry_after)
        if status != 429 or time.monotonic() + pause > deadline:
            raise SessionRefusedError(status, code or "no_session", message or str(data)[:200])
        await asyncio.sleep(pause)


def _retry_after(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = 1.0
    if not math.isfinite(seconds):
        seconds = 1.0
    return min(max(seconds, 0.1), RETRY_AFTER_MAX_S)

"""A tiny client of the `/api/chat` contract for end-to-end tests.

Tests name their conversations (`ask(base, "dlg-region", ...)`); the bot picks the real
sender id. The first message of a name opens a web chat session (`POST /api/chat/session`),
later ones reuse it; `session(base, name)` gives the session (its `.sender` is what the bot,
Rasa and the logs see).
"""

from __future__ import annotations

from typing import Any

import aiohttp

from bot.channels.contract import WebSession, open_session

TIMEOUT = aiohttp.ClientTimeout(total=30)
_SESSIONS: dict[tuple[str, str], WebSession] = {}


async def session(base: str, name: str, *, renew: bool = False) -> WebSession:
    """The web chat session of the conversation `name` on the bot at `base`."""
    if renew or (base, name) not in _SESSIONS:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
            _SESSIONS[base, name] = await open_session(http, base)
    return _SESSIONS[base, name]


async def ask(base: str, sender: str, text: str) -> dict[str, Any]:
    """POST one message in the conversation `sender` and return the contract response.

    Like the page, a 401 (the session was deleted by /forget, or expired) opens a new one.
    """
    async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
        for renew in (False, True):
            current = await session(base, sender, renew=renew)
            async with http.post(
                f"{base}/api/chat",
                json={"sender": current.sender, "text": text},
                headers=current.headers,
            ) as resp:
                if resp.status == 401 and not renew:
                    continue
                assert resp.status == 200, await resp.text()
                data: dict[str, Any] = await resp.json()
                return data
    raise AssertionError("unreachable")


def reply_text(data: dict[str, Any]) -> str:
    """All reply texts of a turn, joined."""
    return "\n".join(r["text"] for r in data["replies"])


def button_payloads(data: dict[str, Any]) -> list[str]:
    """Every button payload of a turn."""
    return [b["payload"] for r in data["replies"] for b in r["buttons"]]

"""A tiny client of the `/api/chat` contract for end-to-end tests."""

from __future__ import annotations

from typing import Any

import aiohttp


async def ask(base: str, sender: str, text: str) -> dict[str, Any]:
    """POST one message and return the decoded contract response."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{base}/api/chat",
            json={"sender": sender, "text": text},
            timeout=aiohttp.ClientTimeout(total=30),
        ) as resp,
    ):
        assert resp.status == 200, await resp.text()
        data: dict[str, Any] = await resp.json()
        return data


def reply_text(data: dict[str, Any]) -> str:
    """All reply texts of a turn, joined."""
    return "\n".join(r["text"] for r in data["replies"])


def button_payloads(data: dict[str, Any]) -> list[str]:
    """Every button payload of a turn."""
    return [b["payload"] for r in data["replies"] for b in r["buttons"]]

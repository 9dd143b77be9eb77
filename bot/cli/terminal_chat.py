"""`bizbot chat`: a terminal client of the `/api/chat` contract.

It opens a web chat session first (`POST /api/chat/session`: the bot picks the sender id and
a token) and sends the token with every message; a 401 (expired, or after `/forget`) opens a
new session, as the web page does.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from rich.console import Console

from bot.channels.contract import SessionRefusedError, WebSession, open_session


async def _send(
    http: aiohttp.ClientSession, url: str, session: WebSession, text: str
) -> tuple[int, Any]:
    async with http.post(
        f"{url.rstrip('/')}/api/chat",
        json={"sender": session.sender, "text": text},
        headers=session.headers,
    ) as resp:
        try:
            return resp.status, await resp.json(content_type=None)
        except ValueError:
            return resp.status, None


def _show(console: Console, data: Any) -> None:
    for reply in data["replies"]:
        console.print(f"[cyan]bot>[/] {reply['text']}", highlight=False)
        if reply["buttons"]:
            titles = " · ".join(b["title"] for b in reply["buttons"])
            console.print(f"     [dim][{titles}][/]")
    intent = data["intent"]
    console.print(
        f"     [dim]intent={intent['name']} ({intent['confidence']:.2f}) "
        f"sources={data['sources']}[/]",
        highlight=False,
    )


async def run(url: str, console: Console) -> int:
    """Read lines, send them, print the replies; returns the exit code."""
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        try:
            session = await open_session(http, url)
            console.print(f"[dim]Connected to {url} as {session.sender}. Ctrl-D to quit.[/]")
            while True:
                try:
                    text = (await asyncio.to_thread(input, "你> ")).strip()
                except (EOFError, KeyboardInterrupt):
                    console.print()
                    return 0
                if not text:
                    continue
                status, data = await _send(http, url, session, text)
                if status == 401:
                    session = await open_session(http, url)
                    console.print(f"[dim]New session as {session.sender}.[/]")
                    status, data = await _send(http, url, session, text)
                if status >= 400 or not isinstance(data, dict):
                    error = data.get("error", {}) if isinstance(data, dict) else {}
                    console.print(f"[red]{error.get('message', status)}[/]")
                    continue
                _show(console, data)
        except (aiohttp.ClientError, TimeoutError) as exc:
            console.print(f"[red]The bot at {url} is unreachable ({type(exc).__name__}).[/]")
            return 2
        except SessionRefusedError as exc:
            console.print(f"[red]The bot at {url} did not open a chat session ({exc}).[/]")
            return 2

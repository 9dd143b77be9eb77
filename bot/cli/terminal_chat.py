"""`bizbot chat`: a terminal client of the `/api/chat` contract."""

from __future__ import annotations

import asyncio
import uuid

import aiohttp
from rich.console import Console


async def run(url: str, console: Console) -> int:
    """Read lines, send them, print the replies; returns the exit code."""
    sender = f"cli-{uuid.uuid4().hex[:12]}"
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        console.print(f"[dim]Connected to {url} as {sender}. Ctrl-D to quit.[/]")
        while True:
            try:
                text = (await asyncio.to_thread(input, "你> ")).strip()
            except (EOFError, KeyboardInterrupt):
                console.print()
                return 0
            if not text:
                continue
            try:
                async with session.post(
                    f"{url.rstrip('/')}/api/chat", json={"sender": sender, "text": text}
                ) as resp:
                    data = await resp.json(content_type=None)
            except (aiohttp.ClientError, TimeoutError) as exc:
                console.print(f"[red]The bot at {url} is unreachable ({type(exc).__name__}).[/]")
                return 2
            if resp.status >= 400:
                console.print(f"[red]{data.get('error', {}).get('message', resp.reason)}[/]")
                continue
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

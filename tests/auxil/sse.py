"""Reading Server-Sent Events in tests, from an aiohttp client response."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import aiohttp


@dataclass(frozen=True)
class Event:
    """One SSE event."""

    id: str
    name: str
    data: Any


async def read_events(
    resp: aiohttp.ClientResponse, count: int, within_s: float = 10.0
) -> list[Event]:
    """Read `count` events (comments and keepalives skipped), or fail after `within_s`."""
    found: list[Event] = []

    async def read() -> None:
        fields: dict[str, str] = {}
        while len(found) < count:
            raw = await resp.content.readline()
            if not raw:
                raise AssertionError(f"the stream ended after {len(found)} event(s)")
            line = raw.decode().rstrip("\n")
            if not line:
                if "data" in fields:
                    found.append(
                        Event(
                            fields.get("id", ""),
                            fields.get("event", "message"),
                            json.loads(fields["data"]),
                        )
                    )
                fields = {}
            elif not line.startswith(":"):
                key, _, value = line.partition(": ")
                fields[key] = value

    try:
        await asyncio.wait_for(read(), within_s)
    except TimeoutError:
        raise AssertionError(
            f"only {len(found)} of {count} events within {within_s}s: {found}"
        ) from None
    return found

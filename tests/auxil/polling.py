"""Waiting for state another loop, thread or process changes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

DEFAULT_WITHIN_S = 60.0


async def until(done: Callable[[], bool], within_s: float = DEFAULT_WITHIN_S) -> bool:
    """Poll `done` (state another loop or process changes) until true; False at the deadline."""
    deadline = time.monotonic() + within_s
    while not done():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True

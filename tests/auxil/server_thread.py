"""Serve fake upstream apps (Telegram, WeChat) from a thread, for fixtures wider than a test.

pytest-asyncio gives each test its own event loop, but the fault suite's stack (and the fakes
its bot processes talk to) lives for the whole package. The fakes therefore run on their own
loop in a daemon thread; tests read what they recorded and drive them through `call`.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

from aiohttp import web

from bot.launcher import free_port

T = TypeVar("T")
START_TIMEOUT_S = 10.0


class ServerThread:
    """One event loop in a thread serving aiohttp apps on free loopback ports."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._runners: list[web.AppRunner] = []

    def start(self) -> None:
        """Start the loop's thread."""
        self._thread.start()

    def call(self, factory: Callable[[], Awaitable[T]], timeout: float = 30.0) -> T:
        """Run `factory()` on the thread's loop and wait for its result."""

        async def run() -> T:
            return await factory()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout)

    def serve(self, app_factory: Callable[[], web.Application]) -> str:
        """Serve the app `app_factory()` builds (on the thread's loop); returns its base URL."""
        port = free_port()

        async def start() -> None:
            # No access log: the Bot API's paths carry the token.
            runner = web.AppRunner(app_factory(), access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            self._runners.append(runner)

        self.call(start, START_TIMEOUT_S)
        return f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        """Stop the servers, then the loop."""

        async def cleanup() -> None:
            for runner in reversed(self._runners):
                await runner.cleanup()

        with contextlib.suppress(TimeoutError):
            self.call(cleanup, START_TIMEOUT_S)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(START_TIMEOUT_S)
        self.loop.close()


@contextlib.contextmanager
def server_thread() -> Iterator[ServerThread]:
    """A running `ServerThread`, stopped on exit."""
    servers = ServerThread()
    servers.start()
    try:
        yield servers
    finally:
        servers.stop()

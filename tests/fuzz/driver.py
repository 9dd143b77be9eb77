"""Hypothesis against a live app: examples run in a worker thread, requests on the test's loop.

Hypothesis drives a plain function, so the async test starts the app and its fakes, then
hands a sync `@given` function to `run_examples`, which runs it in a thread. Each example
sends its request to the loop with `Driver.send`; a response that does not come within
`REQUEST_TIMEOUT_S` fails the example as a hang.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, settings

from tests.fuzz import rawhttp
from tests.fuzz.rawhttp import Request, Response

T = TypeVar("T")

REQUEST_TIMEOUT_S = 10.0
"""Longer than any legitimate answer (WeChat's passive-reply budget is under 5 s), far below
a hang."""
GRACE_S = 2.0


def fuzz_settings(examples: int) -> settings:
    """Deterministic runs of `examples` inputs, without per-example deadlines or a database."""
    return settings(
        max_examples=examples,
        deadline=None,  # the driver's own timeout is the hang check
        derandomize=True,  # the same inputs on every run and machine
        database=None,
        print_blob=False,
        suppress_health_check=[
            HealthCheck.too_slow,  # every example is a real HTTP round trip
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
            HealthCheck.filter_too_much,
        ],
    )


@dataclass(frozen=True)
class Driver:
    """Sends requests to the app's server from the hypothesis thread."""

    loop: asyncio.AbstractEventLoop
    host: str
    port: int
    timeout_s: float = REQUEST_TIMEOUT_S
    connection: rawhttp.Connection = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "connection", rawhttp.Connection(self.host, self.port))

    def send(self, request: Request) -> Response:
        """The app's response to `request` (on a kept-alive connection); a hang fails the
        example."""
        try:
            return self.run(self.connection.send(request, self.timeout_s))
        except Exception:
            # A failed exchange may leave the connection mid-response: start afresh.
            self.run(self.connection.close())
            raise

    def send_from(self, address: str, request: Request) -> Response:
        """The response to `request` sent on its own connection from `address` (a loopback
        address such as 127.0.0.2), for limits the app keeps per client address."""
        return self.run(
            rawhttp.send(self.host, self.port, request, self.timeout_s, local_addr=(address, 0))
        )

    async def close(self) -> None:
        """Close the kept-alive connection (on the app's loop, after the examples)."""
        await self.connection.close()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the app's loop and wait for its result."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(self.timeout_s + GRACE_S)
        except TimeoutError as exc:
            future.cancel()
            raise AssertionError(f"no answer within {self.timeout_s} s: a hang") from exc


async def run_examples(examples: Callable[[], None], driver: Driver | None = None) -> None:
    """Run a `@given` function in a thread while this loop keeps serving the app; then close
    `driver`'s connection, however the examples ended."""
    try:
        await asyncio.to_thread(examples)
    finally:
        if driver is not None:
            await driver.close()


class ErrorLogs:
    """Fails the example during which the app logged at ERROR or above."""

    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        self._caplog = caplog

    def mark(self) -> int:
        """A position to check from."""
        return len(self._caplog.records)

    def check(self, since: int = 0) -> None:
        """No record at ERROR or above after `since`."""
        errors = [r for r in self._caplog.records[since:] if r.levelno >= logging.ERROR]
        if errors:
            shown = "; ".join(f"{r.name}: {r.getMessage()} {_exception(r)}" for r in errors[:3])
            raise AssertionError(f"the app logged {len(errors)} error(s): {shown}")


def _exception(record: logging.LogRecord) -> str:
    if not record.exc_info or record.exc_info[1] is None:
        return ""
    return f"({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"

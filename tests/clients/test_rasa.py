"""The Rasa client: how many messages it has at Rasa at once, and its errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.clients.rasa import (
    RasaActionsMissingError,
    RasaClient,
    RasaResponseError,
    RasaTimeoutError,
    RasaUnavailableError,
)
from tests.auxil.fake_rasa import FakeRasa

ServerFactory = Callable[[web.Application], Awaitable[TestServer]]


@asynccontextmanager
async def client_of(
    fake: FakeRasa, aiohttp_server: ServerFactory, *, timeout_s: float, max_in_flight: int
) -> AsyncIterator[RasaClient]:
    """A Rasa client, without retries, talking to `fake` served on a free port."""
    server = await aiohttp_server(fake.app())
    async with aiohttp.ClientSession() as session:
        yield RasaClient(
            session,
            str(server.make_url("")),
            timeout_s=timeout_s,
            retries=0,
            max_in_flight=max_in_flight,
        )


async def test_at_most_max_in_flight_messages_reach_rasa_and_all_are_answered(
    aiohttp_server: ServerFactory,
) -> None:
    fake = FakeRasa(delay_s=0.05)
    async with client_of(fake, aiohttp_server, timeout_s=5, max_in_flight=2) as rasa:
        turns = await asyncio.gather(*(rasa.send(f"u{i}", f"m{i}") for i in range(10)))
    assert [t.replies[0].text for t in turns] == [f"echo: m{i}" for i in range(10)]
    assert fake.most_in_flight == 2


async def test_a_message_that_waits_too_long_for_a_slot_times_out(
    aiohttp_server: ServerFactory,
) -> None:
    # One slot, 0.4 s per message, 0.6 s allowed: the first two are answered (the second
    # waited 0.4 s); the third would wait 0.8 s and gives up at 0.6 s.
    fake = FakeRasa(delay_s=0.4)
    async with client_of(fake, aiohttp_server, timeout_s=0.6, max_in_flight=1) as rasa:
        results = await asyncio.gather(
            *(rasa.send(f"u{i}", "hi") for i in range(3)), return_exceptions=True
        )
    assert [type(r).__name__ for r in results] == ["Turn", "Turn", "RasaTimeoutError"]
    assert isinstance(results[2], RasaTimeoutError)
    assert "saturated" in str(results[2])
    assert len(fake.received) == 2


@pytest.mark.parametrize("max_in_flight", [1, 4])
async def test_a_failed_message_frees_its_slot(
    aiohttp_server: ServerFactory, max_in_flight: int
) -> None:
    fake = FakeRasa(status=500)
    async with client_of(fake, aiohttp_server, timeout_s=1, max_in_flight=max_in_flight) as rasa:
        for _ in range(max_in_flight + 2):
            with pytest.raises(RasaResponseError, match="500"):
                await rasa.send("u", "hi")
        fake.status = 200
        assert (await rasa.send("u", "hi")).replies


async def test_a_turn_without_our_actions_means_the_action_server_is_down(
    aiohttp_server: ServerFactory,
) -> None:
    fake = FakeRasa(actions_down=True)
    async with client_of(fake, aiohttp_server, timeout_s=5, max_in_flight=1) as rasa:
        with pytest.raises(RasaActionsMissingError) as caught:
            await rasa.send("u1", "嘉定有哪些园区")
        # Rasa's built-in restart says nothing by design.
        restarted = await rasa.send("u1", "/restart")
    assert isinstance(caught.value, RasaUnavailableError)
    assert restarted.replies == []

"""Session fixtures: one real Redis and one live stack for the whole test run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.launcher import Stack, start_stack
from tests.auxil.processes import redis_server


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server (AOF on) on a free port, for the whole session."""
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture(scope="session")
def stack(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Trained model, Rasa server, action server, real Redis and the bot, started once."""
    running = start_stack(tmp_path_factory.mktemp("stack"), redis_url)
    yield running
    running.group.stop()

"""Fixtures of the faq-test tests: the example suites and a fake bot served over HTTP."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
import typer
from aiohttp import web
from aiohttp.test_utils import TestServer
from typer.testing import CliRunner, Result

from bot.cli.faq import register
from tests.faqtest.fake_bot import FakeBot

DATA = Path(__file__).with_name("data")
ServerFactory = Callable[[web.Application], Awaitable[TestServer]]
ENV = {"COLUMNS": "200", "NO_COLOR": "1"}


def make_app() -> typer.Typer:
    """A stand-in for bizbot's main app, with `faq-test` registered the real way."""
    app = typer.Typer(pretty_exceptions_enable=False)

    @app.callback()
    def main() -> None:
        """Makes `faq-test` a named subcommand, as in `bizbot faq-test`."""

    register(app)
    return app


def invoke(*args: str) -> Result:
    """Run `faq-test ARGS...` and return typer's result (stdout and stderr apart)."""
    return CliRunner().invoke(make_app(), ["faq-test", *args], env=ENV)


def last_line(result: Result) -> str:
    """The last line of stdout: CI tools read `N passed, N failed` there."""
    return result.stdout.rstrip("\n").splitlines()[-1]


@pytest.fixture
def fake_bot() -> FakeBot:
    return FakeBot()


@pytest.fixture
async def bot_url(aiohttp_server: ServerFactory, fake_bot: FakeBot) -> str:
    """Base URL of the fake bot (no trailing slash)."""
    server = await aiohttp_server(fake_bot.app())
    return str(server.make_url("")).rstrip("/")

"""`bizbot faq-test` through typer's CliRunner, against the fake bot (no live stack)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as SafeET
import pytest
from typer.testing import Result

from bot import launcher
from bot.cli import faq
from bot.faqtest import client, runner
from bot.launcher import free_port
from tests.faqtest.fake_bot import FakeBot

from .conftest import DATA, invoke, last_line

FAKE = DATA / "fake"
LAST_LINE = re.compile(r"\d+ passed, \d+ failed")


async def invoke_async(*args: str) -> Result:
    # The fake bot lives on the test's event loop; the command runs its own loop, in a thread.
    return await asyncio.to_thread(invoke, *args)


async def test_all_passing_exits_0(bot_url: str) -> None:
    result = await invoke_async(str(FAKE), "--url", bot_url, "--tags", "smoke,qa")
    assert result.exit_code == 0, result.output
    assert last_line(result) == "3 passed, 0 failed"


async def test_a_failing_case_exits_1_and_shows_expected_and_got(bot_url: str) -> None:
    result = await invoke_async(str(FAKE), "--url", bot_url, "--concurrency", "2")
    assert result.exit_code == 1, result.output
    assert LAST_LINE.fullmatch(last_line(result))
    assert last_line(result) == "3 passed, 1 failed"
    out = result.stdout
    assert "FAILED wrong-intent" in out
    assert "user:      你好" in out
    assert "reply:     您好！<b>我是小助手</b>" in out
    assert "intent:    greet (0.97)" in out
    assert "entities:  {}" in out
    assert "sources:   []" in out
    assert "escalated: false" in out
    assert "✗ intent: expected goodbye, got greet (0.97)" in out
    assert "FAILED hello" not in out


@pytest.mark.parametrize(("rate", "code"), [("0.75", 0), ("0.8", 1)])
async def test_min_pass_rate(bot_url: str, rate: str, code: int) -> None:
    result = await invoke_async(str(FAKE), "--url", bot_url, "--min-pass-rate", rate)
    assert result.exit_code == code, result.output
    assert last_line(result) == "3 passed, 1 failed"
    assert f"--min-pass-rate {rate}" in result.stdout


async def test_reports_are_written(bot_url: str, tmp_path: Path) -> None:
    paths = {k: tmp_path / "out" / f"report.{k}" for k in ("json", "xml", "html")}
    result = await invoke_async(
        str(FAKE / "basics.yml"),
        str(FAKE / "failing.yml"),
        "--url",
        bot_url,
        "--json",
        str(paths["json"]),
        "--junit",
        str(paths["xml"]),
        "--html",
        str(paths["html"]),
    )
    assert result.exit_code == 1, result.output
    assert json.loads(paths["json"].read_text("utf-8"))["summary"]["failed"] == 1
    junit = SafeET.parse(paths["xml"]).getroot()
    assert junit is not None
    assert junit.get("failures") == "1"
    assert "data:image/png;base64," in paths["html"].read_text("utf-8")
    assert f"wrote {paths['html']}" in result.stderr
    assert last_line(result) == "3 passed, 1 failed"


async def test_degraded_bot_warns_and_runs(bot_url: str, fake_bot: FakeBot) -> None:
    fake_bot.health_status = 503
    result = await invoke_async(str(FAKE / "basics.yml"), "--url", bot_url)
    assert result.exit_code == 0, result.output
    assert "warning:" in result.stderr
    assert "503" in result.stderr
    assert "rasa (RasaUnavailableError)" in result.stderr


async def test_a_4xx_for_a_turn_fails_that_case_not_the_run(bot_url: str, tmp_path: Path) -> None:
    suite = tmp_path / "errors.yml"
    suite.write_text(
        "version: 1\ncases:\n- id: rejected\n  turns: [{user: '422'}]\n"
        "- id: fine\n  turns: [{user: 你好, intent: greet}]\n",
        "utf-8",
    )
    result = await invoke_async(str(suite), "--url", bot_url)
    assert result.exit_code == 1, result.output
    assert "error:     bot answered 422 empty_text: text must not be empty" in result.stdout
    assert last_line(result) == "1 passed, 1 failed"


def test_unreachable_bot_exits_2_without_traceback() -> None:
    result = invoke(str(FAKE), "--url", f"http://127.0.0.1:{free_port()}")
    assert result.exit_code == 2
    assert "error:" in result.stderr
    assert "unreachable" in result.stderr
    assert "Traceback" not in result.output
    assert not LAST_LINE.search(result.stdout)


async def test_malformed_file_exits_2_and_runs_nothing(bot_url: str, fake_bot: FakeBot) -> None:
    bad = DATA / "bad" / "wrong-type.yml"
    result = await invoke_async(str(FAKE), str(bad), "--url", bot_url)
    assert result.exit_code == 2
    assert fake_bot.received == []
    assert "no case ran" in result.stderr
    assert f"{bad}:6: case flag-as-text: turns[0].escalated:" in result.stderr
    assert "Traceback" not in result.output


def test_every_bad_file_is_listed() -> None:
    result = invoke(str(DATA / "bad"))
    assert result.exit_code == 2
    assert "in 9 case file(s)" in result.stderr
    for name in ("syntax-error.yml:7:", "not-a-mapping.yml:1:", "duplicate-id.yml:6:"):
        assert name in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tags", "nope"], "no case selected with tags nope"),
        (["--tags", ", ,"], "at least one tag"),
        (["--concurrency", "0"], "--concurrency"),
        (["--min-pass-rate", "1.5"], "--min-pass-rate"),
        (["--url", "127.0.0.1:8080"], "http://"),
        (["--timeout", "0"], "--timeout"),
        (["--nope"], "No such option"),
    ],
)
def test_unusable_options_exit_2(args: list[str], message: str) -> None:
    result = invoke(str(FAKE), *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_missing_path_exits_2(tmp_path: Path) -> None:
    result = invoke(str(tmp_path / "absent.yml"))
    assert result.exit_code == 2
    assert "absent.yml: no such file or directory" in result.stderr


def test_no_path_is_a_usage_error() -> None:
    assert invoke().exit_code == 2


async def test_serve_stack_runs_against_the_started_stack_and_stops_it(
    bot_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Any] = []

    @contextlib.contextmanager
    def fake_stack(log_dir: Path, redis_url: str | None, **kwargs: Any) -> Iterator[launcher.Stack]:
        calls.append(("start", log_dir, redis_url))
        kwargs["progress"]("Rasa ready in 1.0s")
        try:
            yield launcher.Stack(bot_url, "", "", redis_url, launcher.Group(log_dir))
        finally:
            calls.append(("stop",))

    monkeypatch.setattr(launcher, "local_stack", fake_stack)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    dead = f"http://127.0.0.1:{free_port()}"
    result = await invoke_async(str(FAKE / "basics.yml"), "--url", dead, "--serve-stack")
    assert result.exit_code == 0, result.output
    assert [c[0] for c in calls] == ["start", "stop"]
    assert calls[0][1].parts[-2:] == ("var", "faq-stack")
    assert calls[0][2] == "redis://127.0.0.1:1/0"
    assert "Rasa ready in 1.0s" in result.stderr
    assert last_line(result) == "3 passed, 0 failed"


def test_serve_stack_launch_error_exits_2(monkeypatch: pytest.MonkeyPatch) -> None:
    @contextlib.contextmanager
    def broken(*_: Any, **__: Any) -> Iterator[launcher.Stack]:
        raise launcher.LaunchError("rasa_project/models/bizbot.tar.gz is missing: run `make train`")
        yield  # pragma: no cover

    monkeypatch.setattr(launcher, "local_stack", broken)
    result = invoke(str(FAKE), "--serve-stack")
    assert result.exit_code == 2
    assert "the stack did not start" in result.stderr
    assert "make train" in result.stderr
    assert "Traceback" not in result.output


def test_cli_defaults_match_the_library() -> None:
    # The CLI repeats them so that importing it stays cheap (bot.faqtest loads aiohttp).
    assert faq.DEFAULT_CONCURRENCY == runner.DEFAULT_CONCURRENCY
    assert faq.DEFAULT_TIMEOUT_S == client.CHAT_TIMEOUT_S

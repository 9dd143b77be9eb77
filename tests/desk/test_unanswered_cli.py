"""`bizbot unanswered list|export` through typer's CliRunner, against a real Redis."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from bot.cli.unanswered import app
from bot.desk.unanswered import FALLBACK, NOT_IN_SOURCES, Unanswered, UnansweredLog
from bot.faqtest.cases import load_file
from bot.launcher import free_port
from bot.state.keys import Keys
from bot.state.redis import open_redis

T0 = 1_717_200_000.0  # 2024-06-01 00:00 UTC
QUESTIONS = [
    ("嘉定區有哪些人才補貼政策", "wechat", "nlu_fallback", FALLBACK),
    ("嘉定区有哪些人才补贴政策？", "web", "nlu_fallback", FALLBACK),
    ("嘉定区有哪些人材补贴政策", "web", "ask_funding", NOT_IN_SOURCES),
    ("南湖区的营业执照怎么办理？", "telegram", "ask_permit", NOT_IN_SOURCES),
    ("食堂几点开门", "web", "nlu_fallback", FALLBACK),
]


@pytest.fixture
def prefix() -> str:
    return f"t{uuid.uuid4().hex[:8]}:"


@pytest.fixture
def logged(redis_url: str, prefix: str) -> str:
    """A log holding QUESTIONS; returns the key prefix."""

    async def fill() -> None:
        async with open_redis(redis_url) as redis:
            log = UnansweredLog(redis, Keys(prefix))
            for minute, (text, channel, intent, reason) in enumerate(QUESTIONS):
                await log.record(Unanswered(text, T0 + 60 * minute, channel, intent, reason))

    asyncio.run(fill())
    return prefix


def _run(url: str, prefix: str, *args: str) -> Result:
    env = {"REDIS_URL": url, "REDIS_KEY_PREFIX": prefix, "COLUMNS": "200", "NO_COLOR": "1"}
    return CliRunner().invoke(app, list(args), env=env)


def test_list_shows_groups_with_variants_channels_and_last_seen(
    redis_url: str, logged: str
) -> None:
    result = _run(redis_url, logged, "list")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    row = next(line for line in lines if "人才补贴政策？" in line)
    assert "│     3 │" in row
    assert "嘉定區有哪些人才補貼政策" in result.stdout
    assert "web 2, wechat 1" in row
    assert "nlu_fallback" in row
    assert "2024-06-01 00:02 UTC" in row
    assert "3 group(s)" in result.stdout


def test_list_json_is_machine_readable(redis_url: str, logged: str) -> None:
    result = _run(redis_url, logged, "list", "--json", "--limit", "2")
    assert result.exit_code == 0, result.output
    groups = json.loads(result.stdout)
    # Only the two newest questions: the licence and the canteen.
    assert [g["representative"] for g in groups] == ["食堂几点开门", "南湖区的营业执照怎么办理？"]
    assert groups[1]["channels"] == {"telegram": 1}
    assert groups[1]["reasons"] == {NOT_IN_SOURCES: 1}


def test_list_of_an_empty_log_says_so(redis_url: str, prefix: str) -> None:
    result = _run(redis_url, prefix, "list")
    assert result.exit_code == 0
    assert "No unanswered questions" in result.stdout


def test_export_writes_cases_the_faq_loader_accepts(
    redis_url: str, logged: str, tmp_path: Path
) -> None:
    out = tmp_path / "unanswered.yml"
    result = _run(redis_url, logged, "export", str(out))
    assert result.exit_code == 0, result.output
    assert "wrote 3 case(s) (5 question(s))" in result.stdout
    cases = load_file(out)
    assert [(c.id, c.turns[0].user) for c in cases] == [
        ("unanswered-001", "嘉定区有哪些人才补贴政策？"),
        ("unanswered-002", "食堂几点开门"),
        ("unanswered-003", "南湖区的营业执照怎么办理？"),
    ]


def test_export_min_count_keeps_only_frequent_groups(
    redis_url: str, logged: str, tmp_path: Path
) -> None:
    out = tmp_path / "frequent.yml"
    result = _run(redis_url, logged, "export", str(out), "--min-count", "2")
    assert result.exit_code == 0, result.output
    assert [c.id for c in load_file(out)] == ["unanswered-001"]


def test_export_with_nothing_to_export_writes_no_file(
    redis_url: str, logged: str, tmp_path: Path
) -> None:
    out = tmp_path / "none.yml"
    result = _run(redis_url, logged, "export", str(out), "--min-count", "10")
    assert result.exit_code == 0
    assert "Nothing to export" in result.stdout
    assert not out.exists()


def test_export_to_an_unwritable_path_is_a_clear_error(
    redis_url: str, logged: str, tmp_path: Path
) -> None:
    result = _run(redis_url, logged, "export", str(tmp_path / "missing" / "out.yml"))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: cannot write")


@pytest.mark.parametrize("command", [["list"], ["export", "out.yml"]])
def test_unset_redis_url_exits_2_with_one_line(command: list[str], prefix: str) -> None:
    result = _run("", prefix, *command)
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stderr.startswith("error: REDIS_URL is not set")
    assert "Traceback" not in result.output


def test_unreachable_redis_is_a_clear_error_without_the_password(prefix: str) -> None:
    url = f"redis://:hunter2@127.0.0.1:{free_port()}/0"
    result = _run(url, prefix, "list")
    assert result.exit_code == 2
    assert f"error: cannot reach Redis at 127.0.0.1:{url.rsplit(':', 1)[1][:-2]}" in result.stderr
    assert "hunter2" not in result.output
    assert "Traceback" not in result.output


def test_a_url_that_is_not_redis_is_a_clear_error(prefix: str) -> None:
    result = _run("localhost:6379", prefix, "list")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: REDIS_URL is not a usable Redis URL")

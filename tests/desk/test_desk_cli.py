"""`bizbot desk token ...` through typer's CliRunner, invoking `bot.cli.desk.app` directly."""

from __future__ import annotations

import re

from typer.testing import CliRunner, Result

from bot.cli.desk import app
from bot.desk.agents import Agent, AgentDirectory

ENV = {"COLUMNS": "80", "NO_COLOR": "1"}
# Four-space indented lines hold the values to copy; the entry is the one with colons.
INDENTED = re.compile(r"^ {4}(\S+)$", re.MULTILINE)


def _run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env=ENV)


def _token_and_entry(output: str) -> tuple[str, str]:
    token, entry = INDENTED.findall(output)
    return token, entry


def test_token_prints_a_new_token_and_an_entry_that_authenticates_it() -> None:
    result = _run("token", "alice")
    assert result.exit_code == 0, result.output
    token, entry = _token_and_entry(result.output)
    assert "shown only this once" in result.output
    assert "DESK_AGENTS" in result.output
    assert entry.startswith("alice:agent:")
    assert token not in entry
    assert AgentDirectory.parse(entry).authenticate(token) == Agent("alice", admin=False)


def test_token_with_admin_makes_an_admin_entry() -> None:
    result = _run("token", "root.ops", "--admin")
    assert result.exit_code == 0, result.output
    token, entry = _token_and_entry(result.output)
    assert entry.startswith("root.ops:admin:")
    assert AgentDirectory.parse(entry).authenticate(token) == Agent("root.ops", admin=True)


def test_every_run_makes_a_different_token() -> None:
    first, _ = _token_and_entry(_run("token", "bob").output)
    second, _ = _token_and_entry(_run("token", "bob").output)
    assert first != second


def test_long_entries_are_not_wrapped_in_a_narrow_terminal() -> None:
    result = CliRunner().invoke(app, ["token", "x" * 32], env={"COLUMNS": "40"})
    _, entry = _token_and_entry(result.output)
    assert len(entry) == 32 + len(":agent:") + 64


def test_an_invalid_name_exits_2_with_the_naming_rule() -> None:
    result = _run("token", "al ice")
    assert result.exit_code == 2
    assert "1-32 characters" in result.output
    assert INDENTED.findall(result.output) == []


def test_token_without_a_name_is_a_usage_error() -> None:
    result = _run("token")
    assert result.exit_code == 2
    assert "NAME" in result.output


def test_the_app_without_arguments_shows_help_listing_token() -> None:
    result = _run()
    assert "token" in result.output

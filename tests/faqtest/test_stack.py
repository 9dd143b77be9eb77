"""`bizbot faq-test` against the real stack (trained model, Rasa, actions, Redis, bot)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.launcher import Stack

from .conftest import DATA, invoke, last_line

pytestmark = pytest.mark.stack
SUITE = DATA / "stack-smoke.yml"


def test_the_suite_passes_except_the_case_written_to_fail(stack: Stack, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    result = invoke(str(SUITE), "--url", stack.bot_url, "--json", str(report))
    assert result.exit_code == 1, result.output
    assert last_line(result) == "5 passed, 1 failed", result.output
    cases = {c["id"]: c for c in json.loads(report.read_text("utf-8"))["cases"]}
    failed = [cid for cid, c in cases.items() if not c["passed"]]
    assert failed == ["expected-to-fail"], result.output
    [turn] = cases["expected-to-fail"]["turns"]
    assert turn["intent"] == "greet"
    assert turn["failures"][0].startswith("intent: expected goodbye, got greet")
    assert "FAILED expected-to-fail" in result.stdout
    # Each case ran in its own conversation.
    assert len({c["sender"] for c in cases.values()}) == len(cases)


def test_tags_leaving_out_the_failing_case_exit_0(stack: Stack) -> None:
    result = invoke(str(SUITE), "--url", stack.bot_url, "--tags", "smoke", "--concurrency", "2")
    assert result.exit_code == 0, result.output
    assert last_line(result) == "5 passed, 0 failed"

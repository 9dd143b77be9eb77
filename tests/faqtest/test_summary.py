"""Counting a run, and the exit code with --min-pass-rate."""

from __future__ import annotations

import pytest

from bot.faqtest.models import Answer, Case, CaseResult, Expect, TurnResult
from bot.faqtest.summary import Summary, exit_code, summarize


def result(tags: tuple[str, ...], *turns: tuple[str | None, str | None, bool]) -> CaseResult:
    """Turns as (expected intent, predicted intent or None for an error, passed)."""
    out = []
    for want, got, ok in turns:
        answer = Answer(intent=got) if got is not None else None
        error = None if got is not None else "bot answered 500"
        failures = () if ok or got is None else ("intent: …",)
        out.append(TurnResult(Expect(user="q", intent=want), answer, failures, error))
    case = Case(id="c", turns=tuple(t.expect for t in out), tags=tags)
    return CaseResult(case=case, turns=tuple(out))


RESULTS = [
    result(("qa",), ("ask_park", "ask_park", True)),
    result(("qa", "multi"), ("greet", "greet", True), ("ask_park", "ask_talent", False)),
    result((), ("greet", None, False)),
    result(("multi",), (None, "greet", True)),
]


def test_cases_and_tags_are_counted_per_case() -> None:
    summary = summarize(RESULTS)
    assert (summary.passed, summary.failed) == (2, 2)
    assert summary.line() == "2 passed, 2 failed"
    tags = {tag: (t.passed, t.failed) for tag, t in summary.by_tag.items()}
    assert tags == {"multi": (1, 1), "qa": (1, 1)}


def test_intents_are_counted_per_turn_declaring_intent() -> None:
    summary = summarize(RESULTS)
    intents = {name: (t.passed, t.failed) for name, t in summary.by_intent.items()}
    assert intents == {"ask_park": (1, 1), "greet": (1, 1)}


def test_confusion_counts_expected_vs_predicted_over_answered_turns() -> None:
    summary = summarize(RESULTS)
    assert dict(summary.confusion) == {
        ("ask_park", "ask_park"): 1,
        ("greet", "greet"): 1,
        ("ask_park", "ask_talent"): 1,
    }
    assert summary.intent_labels == ["ask_park", "ask_talent", "greet"]


@pytest.mark.parametrize(
    ("passed", "failed", "min_rate", "code"),
    [
        (5, 0, None, 0),
        (4, 1, None, 1),
        (4, 1, 0.8, 0),
        (4, 1, 0.81, 1),
        (0, 3, 0.0, 0),
        (3, 0, 1.0, 0),
        (2, 1, 1.0, 1),
    ],
)
def test_exit_code(passed: int, failed: int, min_rate: float | None, code: int) -> None:
    summary = Summary()
    for ok in [True] * passed + [False] * failed:
        summary.cases.add(ok)
    assert exit_code(summary, min_rate) == code

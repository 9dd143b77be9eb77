"""Counts over a run: pass/fail overall, per tag, per expected intent, the confusion matrix."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.faqtest.models import CaseResult


@dataclass(slots=True)
class Tally:
    """Passed and failed counts of one group."""

    passed: int = 0
    failed: int = 0

    def add(self, passed: bool) -> None:
        """Count one more case or turn."""
        if passed:
            self.passed += 1
        else:
            self.failed += 1

    @property
    def total(self) -> int:
        """How many were counted."""
        return self.passed + self.failed

    @property
    def rate(self) -> float:
        """Passed / total (1.0 for an empty group, which has nothing failing)."""
        return self.passed / self.total if self.total else 1.0


@dataclass(slots=True)
class Summary:
    """Cases passed/failed, per tag (cases) and per expected intent (turns), and confusion.

    `confusion` counts (expected, predicted) over the turns that declare `intent` and got
    an answer.
    """

    cases: Tally = field(default_factory=Tally)
    by_tag: dict[str, Tally] = field(default_factory=dict)
    by_intent: dict[str, Tally] = field(default_factory=dict)
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)

    @property
    def passed(self) -> int:
        """Cases that passed."""
        return self.cases.passed

    @property
    def failed(self) -> int:
        """Cases that failed."""
        return self.cases.failed

    @property
    def intent_labels(self) -> list[str]:
        """Every intent in the confusion matrix, expected or predicted, sorted."""
        return sorted({label for pair in self.confusion for label in pair})

    def line(self) -> str:
        """The last line of the output, read by CI tools: `N passed, N failed`."""
        return f"{self.passed} passed, {self.failed} failed"


def summarize(results: Sequence[CaseResult]) -> Summary:
    """Tally a run."""
    summary = Summary()
    for result in results:
        summary.cases.add(result.passed)
        for tag in result.case.tags:
            summary.by_tag.setdefault(tag, Tally()).add(result.passed)
        for turn in result.turns:
            want = turn.expect.intent
            if want is None:
                continue
            summary.by_intent.setdefault(want, Tally()).add(turn.passed)
            if turn.answer is not None:
                summary.confusion[want, turn.answer.intent or "(none)"] += 1
    summary.by_tag = dict(sorted(summary.by_tag.items()))
    summary.by_intent = dict(sorted(summary.by_intent.items()))
    return summary


def exit_code(summary: Summary, min_pass_rate: float | None = None) -> int:
    """0 when every case passed or the pass rate reaches `min_pass_rate`, else 1."""
    if summary.failed == 0:
        return 0
    if min_pass_rate is not None and summary.cases.rate >= min_pass_rate:
        return 0
    return 1

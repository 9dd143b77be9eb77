"""Plain data: cases as written (`Case`, `Expect`), answers as received, results."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Expect:
    """One turn of a case: what the user says and every optional check (None = unchecked)."""

    user: str
    intent: str | None = None
    intent_any: tuple[str, ...] | None = None
    entities: dict[str, str] | None = None
    answer_contains: tuple[str, ...] | None = None
    answer_contains_any: tuple[str, ...] | None = None
    answer_excludes: tuple[str, ...] | None = None
    sources: tuple[str, ...] | None = None
    escalated: bool | None = None


@dataclass(frozen=True, slots=True)
class Case:
    """One conversation to replay; `file` and `line` locate it for reports."""

    id: str
    turns: tuple[Expect, ...]
    tags: tuple[str, ...] = ()
    file: Path = Path("<memory>")
    line: int | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """The bot's response to one message (`POST /api/chat`), reduced to what checks need."""

    replies: tuple[str, ...] = ()
    intent: str = ""
    confidence: float = 0.0
    entities: dict[str, str] = field(default_factory=dict)
    sources: tuple[str, ...] = ()
    escalated: bool = False

    @property
    def text(self) -> str:
        """All reply texts of the turn joined: what the answer_* checks search."""
        return "\n".join(self.replies)


@dataclass(frozen=True, slots=True)
class TurnResult:
    """One turn as run: the expectation, the answer (None if the request failed), failures."""

    expect: Expect
    answer: Answer | None
    failures: tuple[str, ...] = ()
    error: str | None = None

    @property
    def passed(self) -> bool:
        """True when the request succeeded and every check passed."""
        return self.error is None and not self.failures

    @property
    def messages(self) -> tuple[str, ...]:
        """The request error (if any) followed by the failed checks."""
        return (self.error, *self.failures) if self.error is not None else self.failures


@dataclass(frozen=True, slots=True)
class CaseResult:
    """One case as run: its turns in order (stops at the first request error)."""

    case: Case
    turns: tuple[TurnResult, ...]
    sender: str = ""
    seconds: float = 0.0
    skipped_turns: int = 0

    @property
    def passed(self) -> bool:
        """A case passes when every turn ran and every check of every turn passed."""
        return self.skipped_turns == 0 and all(t.passed for t in self.turns)

    @property
    def failures(self) -> list[str]:
        """Every failure message, prefixed with its turn number."""
        out: list[str] = []
        for n, turn in enumerate(self.turns, 1):
            out.extend(f"turn {n}: {m}" for m in turn.messages)
        if self.skipped_turns:
            out.append(f"{self.skipped_turns} later turn(s) not run")
        return out

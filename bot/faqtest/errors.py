"""The exceptions of `bot.faqtest`, one tree rooted at `FaqError` (httpx-style).

```
FaqError
├── CaseFileError          a case file is malformed (carries every `Problem`)
├── NoCasesError           nothing to run: no files, or --tags matched no case
└── BotError               talking to the bot under test
    ├── BotUnreachableError    no connection, or /healthz timed out
    ├── BotTimeoutError        one chat request took longer than its timeout
    └── BotResponseError       4xx/5xx, or an answer that breaks the chat contract
```
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class FaqError(Exception):
    """Base class of every error this package raises."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a case file, located as precisely as we can."""

    file: Path
    message: str
    line: int | None = None
    case_id: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else str(self.file)
        parts = [where]
        if self.case_id is not None:
            parts.append(f"case {self.case_id}")
        if self.field:
            parts.append(self.field)
        return ": ".join([*parts, self.message])


class CaseFileError(FaqError):
    """One or more case files are malformed; no case of those files may run."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))

    @property
    def files(self) -> list[Path]:
        """The rejected files, in the order their first problem was found."""
        return list(dict.fromkeys(p.file for p in self.problems))


class NoCasesError(FaqError):
    """The paths and filters select no case at all."""


class BotError(FaqError):
    """Base class of the failures talking to the bot under test."""


class BotUnreachableError(BotError):
    """The bot cannot be reached: connection refused, DNS failure, health check timeout."""


class BotTimeoutError(BotError):
    """A chat request did not complete within its timeout."""


class BotResponseError(BotError):
    """The bot answered, but with an error status or a body outside the contract."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None):
        self.status = status
        self.code = code
        super().__init__(message)

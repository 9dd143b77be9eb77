"""The terminal report: each failed case with its transcript, failures in red."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from bot.faqtest.models import CaseResult
from bot.faqtest.reports.transcript import transcript


def print_failures(console: Console, results: list[CaseResult]) -> None:
    """Print every failed case: what was sent, expected and received."""
    for result in results:
        if result.passed:
            continue
        text = Text()
        text.append(f"FAILED {result.case.id}\n", style="bold red")
        for line in transcript(result).splitlines():
            style = "red" if line.lstrip().startswith(("✗", "error:")) else ""
            text.append(line + "\n", style=style)
        # Text is never parsed as markup, so bot replies print exactly as sent.
        console.print(text, soft_wrap=True)

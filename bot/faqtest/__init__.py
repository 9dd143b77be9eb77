"""Automated FAQ testing: replay YAML cases against a running bot (`bizbot faq-test`).

The case format is docs/faq-format.md (JSON Schema: faq-case.schema.json).

```python
from bot.faqtest import load_paths, run, select, summarize

cases = select(load_paths([Path("tests/faq")]), tags={"qa"})
outcome = await run("http://127.0.0.1:8080", cases, concurrency=4)
print(summarize(outcome.results).line())   # "12 passed, 1 failed"
```
"""

from __future__ import annotations

from bot.faqtest.cases import collect_files, load_file, load_paths, parse, select
from bot.faqtest.checks import check_turn
from bot.faqtest.client import BotClient, Health
from bot.faqtest.errors import (
    BotError,
    BotResponseError,
    BotTimeoutError,
    BotUnreachableError,
    CaseFileError,
    FaqError,
    NoCasesError,
    Problem,
)
from bot.faqtest.models import Answer, Case, CaseResult, Expect, TurnResult
from bot.faqtest.runner import Run, run, run_case, run_cases
from bot.faqtest.summary import Summary, Tally, exit_code, summarize

__all__ = [
    "Answer",
    "BotClient",
    "BotError",
    "BotResponseError",
    "BotTimeoutError",
    "BotUnreachableError",
    "Case",
    "CaseFileError",
    "CaseResult",
    "Expect",
    "FaqError",
    "Health",
    "NoCasesError",
    "Problem",
    "Run",
    "Summary",
    "Tally",
    "TurnResult",
    "check_turn",
    "collect_files",
    "exit_code",
    "load_file",
    "load_paths",
    "parse",
    "run",
    "run_case",
    "run_cases",
    "select",
    "summarize",
]

"""A real run of the example suites against the fake bot, for the report tests."""

from __future__ import annotations

import pytest

from bot.faqtest.cases import load_paths
from bot.faqtest.runner import Run, run
from bot.faqtest.summary import Summary, summarize
from tests.faqtest.conftest import DATA


@pytest.fixture
async def sample_run(bot_url: str) -> Run:
    """basics.yml (3 cases pass) and failing.yml (1 case fails)."""
    return await run(bot_url, load_paths([DATA / "fake"]))


@pytest.fixture
def summary(sample_run: Run) -> Summary:
    return summarize(sample_run.results)

"""Fixtures of the fuzz suite; driver.py explains how hypothesis and asyncio meet."""

from __future__ import annotations

import pytest

from tests.fuzz.driver import ErrorLogs


@pytest.fixture
def error_logs(caplog: pytest.LogCaptureFixture) -> ErrorLogs:
    """Fails an example (or the run) during which the app logged at ERROR or above."""
    return ErrorLogs(caplog)

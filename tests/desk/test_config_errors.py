"""`bizbot serve` refuses a wrong desk setting with one clear line, not a traceback."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from bot.cli import app


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DESK_AGENTS": "alice:boss:" + "0" * 64}, "DESK_AGENTS entry 1"),
        ({"DESK_HOURS": "mon-fri 18:00-09:00"}, "DESK_HOURS"),
        ({"DESK_TIMEZONE": "Mars/Olympus"}, "Mars/Olympus"),
        ({"DESK_DELIVERY_ATTEMPTS": "0"}, "desk_delivery_attempts"),
    ],
)
def test_a_wrong_desk_setting_stops_serve_with_a_clear_message(
    env: dict[str, str], message: str
) -> None:
    result = CliRunner().invoke(app, ["serve"], env=env)
    assert result.exit_code == 2
    assert "Configuration error" in result.output
    assert message in result.output
    assert "Traceback" not in result.output

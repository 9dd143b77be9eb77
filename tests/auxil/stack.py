"""The live stack under test: action server, Rasa server and bot, started as real processes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.auxil.processes import (
    MODEL,
    RASA_BIN,
    VENV_BIN,
    Group,
    base_env,
    free_port,
    wait_http,
)

RASA_START_TIMEOUT_S = 240.0


@dataclass
class Stack:
    """Addresses of a running stack."""

    bot_url: str
    rasa_url: str
    action_url: str
    redis_url: str | None
    group: Group


def start_stack(log_dir: Path, redis_url: str | None, *, name: str = "stack") -> Stack:
    """Start actions, Rasa and the bot with the same commands the Procfile uses."""
    for needed in (RASA_BIN, MODEL):
        if not needed.exists():
            raise RuntimeError(f"{needed} is missing: run `make setup train` first")
    log_dir = log_dir / name
    log_dir.mkdir(parents=True, exist_ok=True)
    bot_port, rasa_port, action_port = free_port(), free_port(), free_port()
    stack = Stack(
        bot_url=f"http://127.0.0.1:{bot_port}",
        rasa_url=f"http://127.0.0.1:{rasa_port}",
        action_url=f"http://127.0.0.1:{action_port}",
        redis_url=redis_url,
        group=Group(log_dir),
    )
    env = base_env(
        BOT_PORT=str(bot_port),
        RASA_PORT=str(rasa_port),
        RASA_URL=stack.rasa_url,
        ACTION_SERVER_PORT=str(action_port),
        ACTION_SERVER_URL=stack.action_url,
        REDIS_URL=redis_url,
        LOG_LEVEL="INFO",
    )
    bizbot = str(VENV_BIN / "bizbot")
    try:
        actions = stack.group.start("actions", [bizbot, "action-server"], env)
        rasa = stack.group.start("rasa", [bizbot, "rasa-server"], env)
        bot = stack.group.start("bot", [bizbot, "serve"], env)
        wait_http(f"{stack.action_url}/health", actions, 60)
        wait_http(f"{stack.rasa_url}/version", rasa, RASA_START_TIMEOUT_S)
        wait_http(f"{stack.bot_url}/healthz", bot, 30)
    except BaseException:
        stack.group.stop()
        raise
    return stack

"""Logs at INFO level never hold what users wrote or who they are (the real stack's logs)."""

from __future__ import annotations

import uuid

import pytest

from bot.launcher import Stack
from tests.e2e.chat import ask, session

pytestmark = pytest.mark.stack


async def test_no_user_text_or_sender_id_reaches_any_process_log(stack: Stack) -> None:
    marker = f"隐私{uuid.uuid4().hex[:10]}"
    sender = f"privacy-{marker}"
    # An answer, a follow-up, small talk, a fallback and a hand-off: every path that logs.
    for text in (
        f"嘉定有哪些人才政策 {marker}",
        "那南湖区呢？",
        f"谢谢 {marker}",
        f"{marker}{marker}",
        f"转人工 {marker}",
    ):
        data = await ask(stack.bot_url, sender, text)
        assert data["replies"]
    # The bot picked the sender id (a web chat session): that is the id that must not show.
    sender_id = (await session(stack.bot_url, sender)).sender
    logs = {
        log.name: log.read_text("utf-8", errors="replace")
        for log in stack.group.log_dir.glob("*.log")
    }
    assert {"actions.log", "rasa.log", "bot.log"} <= set(logs)
    for name, text in logs.items():
        assert marker not in text, f"{name} holds a user's words"
        assert "隐私" not in text, f"{name} holds part of a user's words"
        assert sender_id not in text, f"{name} holds a user's sender id"

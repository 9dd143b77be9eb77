"""Event streams: a resume id Redis would refuse is ignored, so the stream still delivers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.keys import WEB_INBOX
from tests.auxil.sse import read_events
from tests.desk.harness import DeskHarness, desk_bot


@pytest.fixture
async def bot(redis_url: str) -> AsyncIterator[DeskHarness]:
    async with desk_bot(redis_url) as harness:
        yield harness


@pytest.mark.parametrize("after", ["1-1\n", "99999999999999999999-1", "1-1-1", "abc"])
async def test_a_bad_resume_id_starts_from_now_and_messages_arrive(
    bot: DeskHarness, caplog: pytest.LogCaptureFixture, after: str
) -> None:
    await bot.chat("u1", "你好")
    stream = await bot.events("u1", after=after)
    await bot.app[WEB_INBOX].send("u1", "人工客服：您好")
    (event,) = await read_events(stream, 1, within_s=5)
    stream.close()
    assert event.data["replies"][0]["text"] == "人工客服：您好"
    assert not [r for r in caplog.records if "event stream paused" in r.getMessage()]

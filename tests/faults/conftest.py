"""One real stack for the fault and scale-out suites: Redis, Rasa, actions and two bots.

It is separate from the session stack (tests/conftest.py) because these tests kill, pause
and restart its processes. The bots have every channel on: Telegram and the WeChat API
point at fakes served from a thread, and the desk is staffed around the clock.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis

from bot.launcher import RedisServer, Stack, start_stack
from bot.settings import ROOT
from tests.auxil.fake_telegram import TOKEN, FakeTelegram
from tests.auxil.fake_wechat import APP_ID, APP_SECRET, FakeWeChatApi
from tests.auxil.fake_wechat import TOKEN as WECHAT_TOKEN
from tests.auxil.server_thread import ServerThread, server_thread
from tests.desk.harness import DESK_AGENTS
from tests.faults.load import PREFIX

TG_SECRET = "faults-secret-1"
REPORT_DIR = Path(os.environ.get("FAULTS_REPORT_DIR", ROOT / "var" / "faults"))


@dataclass
class Rig:
    """The running stack, its Redis (killable), the fakes and the report rows."""

    stack: Stack
    redis: RedisServer
    servers: ServerThread
    telegram: FakeTelegram
    wechat: FakeWeChatApi
    rows: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture(scope="package")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    """Start everything once for the package; write the fault report at the end."""
    logs = tmp_path_factory.mktemp("faults")
    redis = RedisServer(logs)
    redis.start()
    tg, wx = FakeTelegram(), FakeWeChatApi()
    with server_thread() as servers:
        tg_url, wx_url = servers.serve(tg.app), servers.serve(wx.app)
        env = {
            "REDIS_KEY_PREFIX": PREFIX,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": f"{tg_url}/bot",
            "TELEGRAM_WEBHOOK_URL": "https://bot.example.org/telegram/webhook",
            "TELEGRAM_WEBHOOK_SECRET": TG_SECRET,
            "WECHAT_TOKEN": WECHAT_TOKEN,
            "WECHAT_APP_ID": APP_ID,
            "WECHAT_APP_SECRET": APP_SECRET,
            "WECHAT_API_BASE_URL": wx_url,
            "DESK_AGENTS": DESK_AGENTS,
            "DESK_HOURS": "always",
            "DESK_DELIVERY_RETRY_S": "1",
            "DESK_DELIVERY_ATTEMPTS": "50",
            # The load is 200 users each writing every second or so, all from 127.0.0.1.
            "RATE_LIMIT_PER_MINUTE": "600",
            "RATE_LIMIT_BURST": "30",
            "WEB_SESSION_RATE_PER_MINUTE": "100000",
            "WEB_SESSION_BURST": "100000",
        }
        stack = start_stack(logs, redis.url, bots=2, env=env)
        rig = Rig(stack, redis, servers, tg, wx)
        try:
            yield rig
        finally:
            stack.group.stop()
            redis.stop()
            write_report(rig.rows)


def write_report(rows: list[dict[str, Any]]) -> None:
    """faults.json and faults.md in `FAULTS_REPORT_DIR` (default var/faults)."""
    if not rows:
        return
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    (REPORT_DIR / "faults.json").write_text(json.dumps(rows, ensure_ascii=False, indent=2))
    head = (
        "| fault | sent | answered | answered late | lost | duplicated | out of order "
        "| busy notices | resent by the client | answered by Rasa after the repair | s |"
    )
    lines = [
        "# Faults under load",
        "",
        "Written by `make faults` (tests/faults). Each fault was injected while at least",
        "2,000 messages over 200 conversations went through two bot replicas. *Late* is over",
        "5 s (for WeChat: sent through the customer-service API after the passive window);",
        '*busy notices* are the bot\'s own "service busy" reply with a hand-off offer; *resent*',
        "counts requests the client had to send again (a 503, a WeChat retry).",
        "",
        head,
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['fault']} | {r['sent']} | {r['answered']} | {r['answered_late']} | {r['lost']} "
        f"| {r['duplicated']} | {r['out_of_order']} | {r['busy_notices']} | {r['resent']} "
        f"| {r['answered_after_repair'] if r['answered_after_repair'] is not None else 'n/a'} "
        f"| {r['seconds']} |"
        for r in rows
    ]
    notes = [f"- {r['fault']}: {n}" for r in rows for n in r["notes"][:1]]
    if notes:
        lines += ["", "Notes:", "", *notes]
    (REPORT_DIR / "faults.md").write_text("\n".join(lines) + "\n")


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A client for the load; no overall timeout (each call bounds its own)."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=70)) as session:
        yield session


@pytest.fixture
async def redis(rig: Rig) -> AsyncIterator[Redis]:
    """A client of the rig's Redis, to read the bot's logs."""
    client = Redis.from_url(rig.redis.url, decode_responses=True)
    yield client
    await client.aclose()

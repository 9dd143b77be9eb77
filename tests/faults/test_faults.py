"""Faults injected into the real stack while 2,000 messages over 200 conversations go through
two bot replicas: Redis, Rasa and the action server crash and come back, Rasa stalls, and
Telegram answers 429 and 5xx. Nothing may be lost or answered twice.

Each test adds its row (sent, answered, late, lost, duplicated) to the report the package
fixture writes (var/faults/faults.md; `make faults` writes bench/results/faults.md).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis

from tests.auxil.fake_telegram import message_update
from tests.auxil.polling import until
from tests.desk.harness import bearer
from tests.faults.conftest import TG_SECRET, Rig
from tests.faults.load import (
    Plan,
    Tally,
    TelegramUsers,
    WebUsers,
    WeChatUsers,
    run,
    verify_logs,
    when_sent,
)

pytestmark = [pytest.mark.stack, pytest.mark.faults, pytest.mark.timeout(900)]
PLAN = Plan()
FAULT_AT = PLAN.total // 5
"""The fault strikes once a fifth of the load is sent."""


def check(tally: Tally, rig: Rig) -> None:
    """Record the row, then the invariants every fault must keep."""
    rig.rows.append(tally.row())
    assert tally.sent >= PLAN.total, tally.row()
    assert tally.lost == 0, tally.row()
    assert tally.duplicated == 0, tally.row()
    assert tally.out_of_order == 0, tally.row()
    assert tally.answered == tally.sent, tally.row()


async def web_load(
    rig: Rig, http: aiohttp.ClientSession, redis: Redis, name: str, fault: Any
) -> tuple[Tally, list[int]]:
    """The web load with `fault` beside it; returns the tally and conversations with gaps."""
    tally = Tally(name)
    users = WebUsers(http, rig.stack.bot_urls, PLAN)
    await run(PLAN, tally, users.conversation, lambda: fault(tally))
    gaps = await verify_logs(redis, "web", users.senders, users.sent_texts, tally)
    return tally, gaps


async def restart_when(tally: Tally, rig: Rig, name: str, down_s: float) -> None:
    """Kill process `name` once the load is under way; start it again after `down_s`."""
    await when_sent(tally, FAULT_AT)
    rig.stack.group.get(name).kill()
    await asyncio.sleep(down_s)
    await asyncio.to_thread(rig.stack.restart, name)
    tally.restored_at = time.monotonic()


@pytest.mark.parametrize(
    ("process", "down_s", "name"),
    [
        ("rasa", 1.0, "Rasa killed, restarted"),
        ("actions", 5.0, "action server killed, restarted"),
    ],
    ids=["rasa", "action_server"],
)
async def test_a_killed_process_is_restarted_and_service_resumes(
    rig: Rig, http: aiohttp.ClientSession, redis: Redis, process: str, down_s: float, name: str
) -> None:
    async def fault(tally: Tally) -> None:
        await restart_when(tally, rig, process, down_s=down_s)

    tally, gaps = await web_load(rig, http, redis, name, fault)
    check(tally, rig)
    # Users were told and offered a person; their messages stayed in the log.
    assert tally.busy > 0
    assert tally.offers == tally.busy
    assert gaps == []
    assert tally.after_fault


async def test_redis_killed_and_restarted_loses_no_ticket_or_queued_message(
    rig: Rig, http: aiohttp.ClientSession, redis: Redis
) -> None:
    tg = TelegramUsers(http, rig.stack.bot_urls, rig.telegram, TG_SECRET, PLAN, 9_100_000)
    chat = tg.chat(0)
    # A user asks for a person on Telegram; an agent answers while Telegram refuses the
    # chat's messages, so the reply waits in the desk's outbox when Redis dies.
    await tg.deliver(message_update(chat, "转人工"), 0)
    ticket = await only_ticket(http, rig.stack.bot_urls[0], chat)
    await desk(http, rig.stack.bot_urls[1], "POST", f"/desk/api/tickets/{ticket}/claim")
    rig.telegram.down_chats.add(chat)
    agent_text = "人工客服：您好，材料清单稍后发给您。"
    await desk(
        http,
        rig.stack.bot_urls[0],
        "POST",
        f"/desk/api/tickets/{ticket}/replies",
        json={"text": agent_text},
        status=201,
    )

    async def fault(tally: Tally) -> None:
        await when_sent(tally, FAULT_AT)
        await asyncio.sleep(1.5)  # appendfsync everysec: what is older than a second is safe
        rig.redis.kill()
        await asyncio.sleep(3.0)
        await asyncio.to_thread(rig.redis.start)
        tally.restored_at = time.monotonic()

    tally, gaps = await web_load(rig, http, redis, "Redis killed, restarted (AOF)", fault)
    check(tally, rig)
    # Said plainly: a busy notice, or a 503 (the session cannot be checked) sent again.
    assert tally.busy + tally.resent > 0
    assert tally.after_fault
    # Only messages sent while Redis was down may be missing from the logs.
    assert len(gaps) <= tally.busy
    # The ticket survived and both replicas see it; the queued reply goes out once Telegram
    # takes the chat's messages again.
    for url in rig.stack.bot_urls:
        assert await only_ticket(http, url, chat) == ticket
    rig.telegram.down_chats.discard(chat)
    delivered = await until(lambda: agent_text in texts_to(rig, chat), within_s=30)
    assert delivered, texts_to(rig, chat)
    await asyncio.sleep(1.5)
    assert texts_to(rig, chat).count(agent_text) == 1


async def test_slow_rasa_keeps_the_wechat_5_second_rule_and_answers_retries_once(
    rig: Rig, http: aiohttp.ClientSession, redis: Redis
) -> None:
    tally = Tally("Rasa stalls (SIGSTOP 6 s, three times), WeChat")
    users = WeChatUsers(http, rig.stack.bot_urls, rig.wechat, redis, PLAN, "slow")

    async def fault(tally: Tally) -> None:
        rasa = rig.stack.group.get("rasa")
        for k in range(3):
            await when_sent(tally, FAULT_AT * (k + 1))
            rasa.pause()
            await asyncio.sleep(6.0)
            rasa.resume()
        tally.restored_at = time.monotonic()

    await run(PLAN, tally, users.conversation, lambda: fault(tally))
    await users.verify(tally)
    openids = {i: users.openid(i) for i in users.sent_texts}
    await verify_logs(redis, "wechat", openids, users.sent_texts, tally)
    tally.resent = users.retries
    ordered = sorted(users.durations)
    p99 = ordered[len(ordered) * 99 // 100]
    tally.notes.insert(0, f"webhook calls {len(ordered)}: p99 {p99:.2f} s, max {ordered[-1]:.2f} s")
    check(tally, rig)
    # Every webhook call was answered within WeChat's 5 s, so WeChat never had to retry;
    # the answers that took longer went out through the customer-service API, once.
    assert users.slowest_s < 5.0
    assert tally.late > 0
    assert users.retries > 0


async def test_telegram_429_and_5xx_are_honoured_and_nothing_is_dropped(
    rig: Rig, http: aiohttp.ClientSession, redis: Redis
) -> None:
    tally = Tally("Telegram answers 429 (retry_after 1 s) and 5xx")
    users = TelegramUsers(http, rig.stack.bot_urls, rig.telegram, TG_SECRET, PLAN, 9_200_000)
    rig.telegram.fail_every("sendMessage", 50, (429, 1), (502, None), (500, None))
    try:
        await run(PLAN, tally, users.conversation, None)
    finally:
        rig.telegram.every.clear()
    await users.verify(redis, tally)
    chats = {i: str(users.chat(i)) for i in users.sent_texts}
    await verify_logs(redis, "telegram", chats, users.sent_texts, tally)
    check(tally, rig)
    refused = [c for c in rig.telegram.calls if c.method == "sendMessage" and c.status != 200]
    assert {c.status for c in refused} >= {429, 502, 500}


def texts_to(rig: Rig, chat: int) -> list[str]:
    """Texts the bot sent to one Telegram chat."""
    return [str(p["text"]) for p in rig.telegram.sent() if int(p["chat_id"]) == chat]


async def desk(
    http: aiohttp.ClientSession,
    url: str,
    method: str,
    path: str,
    status: int = 200,
    **kwargs: Any,
) -> dict[str, Any]:
    """Call the desk API as alice."""
    async with http.request(method, f"{url}{path}", headers=bearer("alice"), **kwargs) as resp:
        body: dict[str, Any] = await resp.json()
        assert resp.status == status, body
        return body


async def only_ticket(http: aiohttp.ClientSession, url: str, chat: int) -> str:
    """The id of the one ticket of Telegram chat `chat`, waiting for it to appear."""
    found: list[str] = []

    async def look() -> bool:
        tickets = (await desk(http, url, "GET", "/desk/api/tickets"))["tickets"]
        found[:] = [t["id"] for t in tickets if t.get("chat_id") == str(chat)]
        return bool(found)

    deadline = time.monotonic() + 30
    while not await look():
        assert time.monotonic() < deadline, "no ticket"
        await asyncio.sleep(0.2)
    assert len(found) == 1, found
    return found[0]

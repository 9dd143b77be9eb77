"""Two bot replicas and one Rasa on one Redis: order per conversation, WeChat retries on the
other replica answered once, and tickets every replica sees.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis

from bot.facts.script import detect_script, to_simplified
from bot.state.keys import Keys
from tests.auxil.fake_wechat import message_xml
from tests.auxil.polling import until
from tests.auxil.sse import read_events
from tests.faults.conftest import Rig
from tests.faults.load import PREFIX, Plan, Tally, WebUsers, WeChatUsers, run, texts, verify_logs
from tests.faults.test_faults import desk

pytestmark = [pytest.mark.stack, pytest.mark.scale, pytest.mark.timeout(300)]
_msg_ids = itertools.count(80_000_000)


async def test_a_users_messages_through_both_replicas_are_answered_in_order(
    rig: Rig, http: aiohttp.ClientSession, redis: Redis
) -> None:
    # Sequential users, alternating replicas message by message.
    users = WebUsers(http, rig.stack.bot_urls, Plan(conversations=20, messages=6))
    tally = Tally("order")
    await run(users.plan, tally, users.conversation, None)
    await verify_logs(redis, "web", users.senders, users.sent_texts, tally)
    assert (tally.lost, tally.duplicated, tally.out_of_order) == (0, 0, 0), tally.row()
    for sender in users.senders.values():
        await same_order_in_rasa(http, rig, redis, sender)


async def test_a_burst_through_both_replicas_is_handled_one_at_a_time_in_one_order(
    rig: Rig, http: aiohttp.ClientSession, redis: Redis
) -> None:
    # Each user sends six messages without waiting for answers, alternating replicas, so
    # several of one conversation's messages wait at once, on both replicas. Requests sent
    # to two servers have no order of their own; what must hold is that they are handled
    # one at a time, each answered, in one order that the log and Rasa's tracker share.
    users = WebUsers(http, rig.stack.bot_urls, Plan())
    sent: dict[str, list[str]] = {}

    async def burst(i: int) -> None:
        sender, auth = await users.session(i)
        sent[sender] = texts(6, i)
        calls = []
        for n, text in enumerate(sent[sender]):
            url = rig.stack.bot_urls[n % 2]
            body = {"sender": sender, "text": text}
            calls.append(asyncio.create_task(post(http, f"{url}/api/chat", body, auth)))
            await asyncio.sleep(0.05)
        answers = await asyncio.gather(*calls)
        assert all(a["replies"] for a in answers), answers

    await asyncio.gather(*(burst(i) for i in range(30)))
    keys = Keys(PREFIX)
    for sender, texts_sent in sent.items():
        log = [json.loads(e) for e in await redis.lrange(keys.log("web", sender), 0, -1)]
        assert [e["role"] for e in log] == ["user", "bot"] * len(texts_sent), log
        handled = [e["text"] for e in log if e["role"] == "user"]
        assert sorted(handled) == sorted(texts_sent)
        await same_order_in_rasa(http, rig, redis, sender)


async def same_order_in_rasa(
    http: aiohttp.ClientSession, rig: Rig, redis: Redis, sender: str
) -> None:
    """Rasa's tracker holds the messages Rasa answered, in the order of the bot's log.

    Messages the desk took (the NLU read one as a request for a person) never reach Rasa.
    """
    raw = await redis.lrange(Keys(PREFIX).log("web", sender), 0, -1)
    log = [json.loads(e) for e in raw]
    pairs = zip(log[::2], log[1::2], strict=True)
    by_rasa = [as_rasa_sees(user["text"]) for user, bot in pairs if bot.get("intent")]
    async with http.get(f"{rig.stack.rasa_url}/conversations/web:{sender}/tracker") as resp:
        events = (await resp.json())["events"]
    in_rasa = [e["text"] for e in events if e["event"] == "user"]
    assert by_rasa, log
    it = iter(in_rasa)
    assert all(text in it for text in by_rasa), (by_rasa, in_rasa)


def as_rasa_sees(text: str) -> str:
    """The bot hands Rasa Traditional text converted to Simplified."""
    return to_simplified(text) if detect_script(text) == "hant" else text


async def test_a_wechat_message_pushed_to_both_replicas_is_answered_once(
    rig: Rig, http: aiohttp.ClientSession, redis: Redis
) -> None:
    users = WeChatUsers(http, rig.stack.bot_urls, rig.wechat, redis, Plan(), "both")
    rasa = rig.stack.group.get("rasa")
    for n in range(20):
        openid = users.openid(n)
        xml = message_xml(openid=openid, content=texts(1, n)[0], msg_id=str(next(_msg_ids)))
        if n % 4 == 0:
            rasa.pause()  # slower than WeChat's 5 s: the answer must go through the API
            asyncio.get_running_loop().call_later(6.0, rasa.resume)
        # The same message reaches both replicas at once, as a retry racing the original.
        replies = await asyncio.gather(*(users.post(url, xml) for url in rig.stack.bot_urls))
        passive = [r for r in replies if r]
        if n % 4 == 0:
            assert passive == [], replies
            assert await until(lambda o=openid: rig.wechat.per_user[o] >= 1, 30)  # type: ignore[misc]
            await asyncio.sleep(1.0)
            assert rig.wechat.per_user[openid] == 1
        else:
            assert len(passive) == 1, replies
            assert rig.wechat.per_user[openid] == 0
    assert users.slowest_s < 5.0


async def test_a_ticket_opened_on_one_replica_is_worked_from_the_other(
    rig: Rig, http: aiohttp.ClientSession
) -> None:
    one, two = rig.stack.bot_urls
    users = WebUsers(http, rig.stack.bot_urls, Plan())
    sender, auth = await users.session(0)
    answer = await post(http, f"{one}/api/chat", {"sender": sender, "text": "转人工"}, auth)
    assert answer["escalated"], answer
    tickets = {
        url: [
            t["id"]
            for t in (await desk(http, url, "GET", "/desk/api/tickets"))["tickets"]
            if t["chat_id"] == sender
        ]
        for url in (one, two)
    }
    assert tickets[one] == tickets[two], tickets
    assert len(tickets[one]) == 1, tickets
    ticket = tickets[one][0]
    token = auth["Authorization"].removeprefix("Bearer ")
    # The user listens on replica one; the agent works on replica two.
    async with http.get(
        f"{one}/api/chat/events", params={"sender": sender, "token": token}
    ) as stream:
        await desk(http, two, "POST", f"/desk/api/tickets/{ticket}/claim")
        await desk(
            http,
            two,
            "POST",
            f"/desk/api/tickets/{ticket}/replies",
            json={"text": "您好，我是人工客服小王。"},
            status=201,
        )
        seen: list[str] = []
        async with asyncio.timeout(15):
            while "您好，我是人工客服小王。" not in "".join(seen):
                seen += [
                    json.dumps(e.data, ensure_ascii=False) for e in await read_events(stream, 1)
                ]
    # The user's next message, on replica two, goes to the agent, not to Rasa.
    follow = await post(http, f"{two}/api/chat", {"sender": sender, "text": "好的谢谢"}, auth)
    assert follow["escalated"], follow
    detail = await desk(http, one, "GET", f"/desk/api/tickets/{ticket}")
    assert "好的谢谢" in json.dumps(detail, ensure_ascii=False)
    await desk(http, one, "POST", f"/desk/api/tickets/{ticket}/close")


async def post(
    http: aiohttp.ClientSession, url: str, body: dict[str, str], auth: dict[str, str]
) -> dict[str, Any]:
    """POST JSON and return the 200 answer."""
    async with http.post(url, json=body, headers=auth) as resp:
        answer: dict[str, Any] = await resp.json()
        assert resp.status == 200, answer
        return answer

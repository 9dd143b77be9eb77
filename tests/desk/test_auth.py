"""Desk authentication: tokens, session cookies, CSRF, and who may act on which ticket."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from bot.chat import HUMAN_PAYLOAD
from bot.desk.auth import COOKIE, CSRF_HEADER
from bot.keys import CHAT, DESK
from bot.state.conversations import ConversationId
from tests.desk.harness import TOKENS, DeskHarness, bearer, desk_bot
from tests.fuzz.rawhttp import Request, Response, send


@pytest.fixture
async def bot(redis_url: str) -> AsyncIterator[DeskHarness]:
    async with desk_bot(redis_url) as harness:
        yield harness


async def login(bot: DeskHarness, agent: str) -> str:
    resp = await bot.client.post("/desk/login", json={"token": TOKENS[agent]})
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["agent"] == agent
    csrf: str = body["csrf_token"]
    return csrf


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/desk/api/me"),
        ("GET", "/desk/api/tickets"),
        ("GET", "/desk/api/tickets/T00001"),
        ("POST", "/desk/api/tickets/T00001/claim"),
        ("POST", "/desk/api/tickets/T00001/replies"),
        ("POST", "/desk/api/tickets/T00001/close"),
        ("GET", "/desk/api/events"),
    ],
)
async def test_without_credentials_every_api_call_is_401(
    bot: DeskHarness, method: str, path: str
) -> None:
    resp = await bot.client.request(method, path)
    assert resp.status == 401
    assert (await resp.json())["error"]["code"] == "unauthorized"
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header", ["Bearer wrong-token", "Basic YWxpY2U6cHc=", "Bearer ", f"Bearer {'x' * 5000}"]
)
async def test_a_wrong_or_malformed_authorization_is_401(bot: DeskHarness, header: str) -> None:
    resp = await bot.client.get("/desk/api/tickets", headers={"Authorization": header})
    assert resp.status == 401


async def test_login_with_a_wrong_token_is_401_and_sets_no_cookie(bot: DeskHarness) -> None:
    resp = await bot.client.post("/desk/login", json={"token": "guess"})
    assert resp.status == 401
    assert COOKIE not in resp.cookies


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"token": 5}', b"{}"])
async def test_a_bad_login_body_is_a_clear_4xx(bot: DeskHarness, body: bytes) -> None:
    resp = await bot.client.post(
        "/desk/login", data=body, headers={"Content-Type": "application/json"}
    )
    assert resp.status in (400, 422)
    assert "error" in await resp.json()


async def test_the_session_cookie_is_httponly_samesite_strict_and_not_secure_over_http(
    bot: DeskHarness,
) -> None:
    resp = await bot.client.post("/desk/login", json={"token": TOKENS["alice"]})
    cookie = resp.cookies[COOKIE]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == "/desk"
    assert not cookie["secure"]


async def test_the_cookie_is_secure_when_configured_for_https(redis_url: str) -> None:
    async with desk_bot(redis_url, desk_cookie_secure=True) as bot:
        resp = await bot.client.post("/desk/login", json={"token": TOKENS["alice"]})
        assert resp.cookies[COOKIE]["secure"] is True


async def test_a_cookie_session_needs_the_csrf_token_on_every_write(bot: DeskHarness) -> None:
    await bot.chat("u1", "/request_human")
    ticket_id = (await bot.only_ticket())["id"]
    csrf = await login(bot, "alice")

    me = await bot.client.get("/desk/api/me")
    assert (await me.json())["csrf_token"] == csrf

    missing = await bot.client.post(f"/desk/api/tickets/{ticket_id}/claim")
    assert missing.status == 403
    assert (await missing.json())["error"]["code"] == "csrf_failed"
    wrong = await bot.client.post(
        f"/desk/api/tickets/{ticket_id}/claim", headers={CSRF_HEADER: csrf[:-1] + "x"}
    )
    assert wrong.status == 403
    assert (await bot.only_ticket())["status"] == "open"

    right = await bot.client.post(
        f"/desk/api/tickets/{ticket_id}/claim", headers={CSRF_HEADER: csrf}
    )
    assert right.status == 200
    assert (await right.json())["ticket"]["assignee"] == "alice"


async def test_logout_ends_the_session(bot: DeskHarness) -> None:
    csrf = await login(bot, "alice")
    assert (await bot.client.post("/desk/logout")).status == 403
    assert (await bot.client.post("/desk/logout", headers={CSRF_HEADER: csrf})).status == 200
    assert (await bot.client.get("/desk/api/me")).status == 401


async def test_rotating_an_agents_token_ends_their_sessions(redis_url: str) -> None:
    async with desk_bot(redis_url) as bot:
        await login(bot, "alice")
        session = bot.client.session.cookie_jar.filter_cookies(bot.client.make_url("/desk"))[COOKIE]
        prefix = bot.settings.redis_key_prefix
    rotated = bot.settings.desk_agents.replace(
        bot.settings.desk_agents.split(",")[0], "alice:agent:" + "0" * 64
    )
    async with desk_bot(redis_url, desk_agents=rotated, redis_key_prefix=prefix) as bot:
        resp = await bot.client.get("/desk/api/me", cookies={COOKIE: session.value})
        assert resp.status == 401


async def test_an_agent_cannot_close_a_ticket_another_agent_claimed_but_an_admin_can(
    bot: DeskHarness,
) -> None:
    await bot.chat("u1", "/request_human")
    ticket_id = (await bot.only_ticket())["id"]
    await bot.api("POST", f"/desk/api/tickets/{ticket_id}/claim", agent="alice")

    refused = await bot.api("POST", f"/desk/api/tickets/{ticket_id}/close", agent="bob", status=403)
    assert "alice" in refused["error"]["message"]
    assert (await bot.only_ticket())["status"] == "claimed"
    await bot.api("POST", f"/desk/api/tickets/{ticket_id}/claim", agent="bob", status=409)
    await bot.api(
        "POST",
        f"/desk/api/tickets/{ticket_id}/replies",
        agent="bob",
        status=403,
        json={"text": "hi"},
    )

    closed = await bot.api("POST", f"/desk/api/tickets/{ticket_id}/close", agent="root")
    assert closed["ticket"]["status"] == "closed"


async def test_replying_needs_a_claim_and_valid_text(bot: DeskHarness) -> None:
    await bot.chat("u1", "/request_human")
    ticket_id = (await bot.only_ticket())["id"]
    path = f"/desk/api/tickets/{ticket_id}/replies"
    await bot.api("POST", path, status=403, json={"text": "hi"})
    await bot.api("POST", f"/desk/api/tickets/{ticket_id}/claim")
    await bot.api("POST", path, status=422, json={"text": "  "})
    await bot.api("POST", path, status=413, json={"text": "长" * 5000})
    await bot.api("POST", path, status=400, data=b"{", headers={"Content-Type": "application/json"})
    await bot.api(
        "POST", path, status=422, json={"text": "hi"}, headers={"Idempotency-Key": "k" * 200}
    )
    await bot.api("GET", "/desk/api/tickets/T99999", status=404)
    await bot.api("POST", "/desk/api/tickets/T99999/deliveries/abc/retry", status=404)
    await bot.api("POST", f"/desk/api/tickets/{ticket_id}/deliveries/abc/retry", status=409)
    await bot.api("GET", "/desk/api/tickets?status=bogus", status=422)


async def test_the_console_page_is_served_with_a_strict_content_security_policy(
    bot: DeskHarness,
) -> None:
    resp = await bot.client.get("/desk")
    assert resp.status == 200
    assert "人工客服工作台" in await resp.text()
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Frame-Options"] == "DENY"


async def test_bearer_requests_need_no_csrf_token(bot: DeskHarness) -> None:
    await bot.chat("u1", "/request_human")
    ticket_id = (await bot.only_ticket())["id"]
    resp = await bot.client.post(f"/desk/api/tickets/{ticket_id}/claim", headers=bearer("bob"))
    assert resp.status == 200


async def test_a_sixth_login_attempt_in_a_row_from_one_address_is_429(bot: DeskHarness) -> None:
    statuses = []
    for _ in range(6):
        resp = await bot.client.post("/desk/login", json={"token": "guess"})
        statuses.append(resp.status)
    assert statuses == [401] * 5 + [429]
    assert (await resp.json())["error"]["code"] == "too_many_attempts"
    # The right token does not get past the limit either.
    resp = await bot.client.post("/desk/login", json={"token": TOKENS["alice"]})
    assert resp.status == 429


# -- requests that used to end in a 503 (found by tests/fuzz/test_desk_fuzz.py) ----------


async def open_ticket(bot: DeskHarness, chat: int) -> str:
    """A hand-off from a Telegram user, straight through the chat service."""
    conv = ConversationId("telegram", str(chat))
    await bot.app[CHAT].handle(conv, HUMAN_PAYLOAD, {"channel": "telegram"})
    ticket_id = await bot.app[DESK].active_ticket(conv)
    assert ticket_id is not None
    return ticket_id


async def raw(bot: DeskHarness, request: Request) -> Response:
    """Bytes on the wire, for headers aiohttp's client would not send (not UTF-8)."""
    server = bot.client.server
    return await send(server.host, server.port or 0, request, timeout_s=5.0)


async def test_a_session_cookie_that_is_not_utf8_is_no_session(bot: DeskHarness) -> None:
    # aiohttp hands such bytes on as surrogate escapes, which no Redis key can hold.
    response = await raw(
        bot, Request("GET", "/desk/api/me", (("Cookie", b"bizbot_desk=\xff\xfe"),))
    )
    assert response.status == 401
    assert response.json()["error"]["code"] == "unauthorized"


async def test_an_idempotency_key_that_is_not_utf8_is_refused(bot: DeskHarness) -> None:
    ticket_id = await open_ticket(bot, 7001)
    await bot.api("POST", f"/desk/api/tickets/{ticket_id}/claim")
    headers = (
        ("Authorization", f"Bearer {TOKENS['alice']}".encode()),
        ("Content-Type", b"application/json"),
        ("Idempotency-Key", b"\xff\xfe"),
    )
    path = f"/desk/api/tickets/{ticket_id}/replies"
    response = await raw(bot, Request("POST", path, headers, b'{"text": "hi"}'))
    assert response.status == 422
    assert response.json()["error"]["code"] == "invalid_idempotency_key"


@pytest.mark.parametrize(
    ("method", "action"),
    [("GET", ""), ("POST", "/claim"), ("POST", "/close"), ("POST", "/replies")],
)
async def test_an_id_naming_a_tickets_event_stream_is_no_ticket(
    bot: DeskHarness, method: str, action: str
) -> None:
    # "T00001:events" builds the key of T00001's event stream; read as a ticket hash it
    # failed with WRONGTYPE.
    ticket_id = await open_ticket(bot, 7002)
    body = await bot.api(
        method, f"/desk/api/tickets/{ticket_id}:events{action}", status=404, json={"text": "hi"}
    )
    assert body["error"]["code"] == "ticket_not_found"


async def test_login_reads_utf8_json_whatever_charset_the_request_names(bot: DeskHarness) -> None:
    body = json.dumps({"token": TOKENS["alice"]}).encode()
    resp = await bot.client.post(
        "/desk/login", data=body, headers={"Content-Type": "application/json; charset=bogus"}
    )
    assert resp.status == 200


@pytest.mark.parametrize(
    "body", [b"[" * 5000 + b"]" * 5000, b'{"token": ' + b"9" * 5000 + b"}"], ids=["deep", "long"]
)
async def test_login_json_too_deep_or_a_number_too_long_is_400(
    bot: DeskHarness, body: bytes
) -> None:
    resp = await bot.client.post(
        "/desk/login", data=body, headers={"Content-Type": "application/json"}
    )
    assert resp.status == 400
    assert (await resp.json())["error"]["code"] == "invalid_json"


async def test_a_reply_with_a_lone_surrogate_is_400(bot: DeskHarness) -> None:
    ticket_id = await open_ticket(bot, 7003)
    await bot.api("POST", f"/desk/api/tickets/{ticket_id}/claim")
    body = await bot.api(
        "POST", f"/desk/api/tickets/{ticket_id}/replies", status=400, json={"text": "你\ud800好"}
    )
    assert body["error"]["code"] == "invalid_json"

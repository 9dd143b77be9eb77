"""Fuzzing the desk (`/desk/login`, `/desk/logout`, `/desk/api/...`): every request gets the
status the documented rules give it (docs/desk-api.md), never a 5xx, in the app's JSON error
shape, and the app logs no error.

The bot runs for real (real Redis, real HTTP) with three agents and sixty open tickets;
credentials are real bearer tokens and sessions from real logins.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import count
from urllib.parse import parse_qsl

import pytest
from hypothesis import event, given

from bot.chat import HUMAN_PAYLOAD
from bot.keys import AGENTS, CHAT, DESK, REDIS, SESSIONS
from bot.state.conversations import ConversationId
from bot.state.keys import Keys
from tests.desk.harness import TOKENS, DeskHarness, desk_bot
from tests.fuzz import rawhttp
from tests.fuzz.checks import assert_handled, assert_no_python
from tests.fuzz.desk_cases import (
    SAFE_METHODS,
    STATUSES,
    TICKET_ROUTES,
    Auth,
    DeskCase,
    bearer_agent,
    body_bytes,
    desk_cases,
    header_text,
    login_status,
    path_segment,
    reply_body_status,
)
from tests.fuzz.driver import Driver, ErrorLogs, fuzz_settings, run_examples
from tests.fuzz.rawhttp import Request, Response

EXAMPLES = 10_000
TICKETS = 60
COOKIE = "bizbot_desk"
LOGINS_PER_ADDRESS = 5
"""The login limit's burst: each client address logs in at most this often, so the limit
never answers for the body (tests/desk/test_auth.py tests the limit itself)."""


@dataclass(frozen=True)
class Session:
    """A console session the test holds: its cookie value and CSRF token."""

    id: str
    csrf: str


@dataclass
class DeskWorld:
    """What the run has set up, and the statuses the documented rules give each request."""

    tickets: list[str]
    sessions: dict[str, Session]
    expired: Session
    rotated: Session
    new_session: Callable[[str], Session]
    """A throwaway live session of an agent (for a logout that ends it)."""
    logins: count[int] = field(default_factory=count)

    def login_address(self) -> str:
        """A loopback address that has logged in fewer than `LOGINS_PER_ADDRESS` times."""
        n = next(self.logins) // LOGINS_PER_ADDRESS
        return f"127.1.{n // 250}.{n % 250 + 1}"

    def ticket_id(self, case: DeskCase) -> str:
        """The case's ticket id: one the test opened, or anything else."""
        if isinstance(case.ticket, int):
            return self.tickets[case.ticket % len(self.tickets)]
        return case.ticket or ""

    def path(self, case: DeskCase) -> str:
        """The request target."""
        base = "/desk/api/tickets"
        ticket = path_segment(self.ticket_id(case))
        return {
            "me": "/desk/api/me",
            "list": base + case.query,
            "get": f"{base}/{ticket}",
            "claim": f"{base}/{ticket}/claim",
            "close": f"{base}/{ticket}/close",
            "reply": f"{base}/{ticket}/replies",
            "retry": f"{base}/{ticket}/deliveries/{path_segment(case.delivery)}/retry",
            "events": "/desk/api/events" + case.query,
            "login": "/desk/login",
            "logout": "/desk/logout",
            "unknown": case.query,
        }[case.route]

    def session_of(self, auth: Auth, route: str) -> Session | None:
        """The session a cookie credential carries (a fresh one for a logout that ends it)."""
        if auth.kind == "session":
            if route == "logout" and auth.csrf in ("right", "padded"):
                return self.new_session(auth.agent)
            return self.sessions[auth.agent]
        return {"expired": self.expired, "rotated": self.rotated}.get(auth.kind)

    def headers(self, case: DeskCase, session: Session | None) -> list[tuple[str, bytes]]:
        """Credential, CSRF, Content-Type and Idempotency-Key headers."""
        auth = case.auth
        headers: list[tuple[str, bytes]] = []
        if auth.kind == "bearer":
            headers.append(("Authorization", f"Bearer {TOKENS[auth.agent]}".encode()))
        elif auth.kind == "authorization":
            headers.append(("Authorization", auth.raw))
        elif auth.kind == "forged":
            headers.append(("Cookie", f"{COOKIE}=".encode() + auth.raw))
        if session is not None:
            headers.append(("Cookie", f"{COOKIE}={session.id}".encode()))
            csrf = {
                "right": session.csrf,
                "padded": f" {session.csrf} ",
                "wrong": session.csrf[:-1] + "x",
                "other": self.sessions["root" if auth.agent != "root" else "bob"].csrf,
            }.get(auth.csrf)
            if csrf is not None:
                headers.append(("X-CSRF-Token", csrf.encode()))
        if case.content_type is not None and case.body is not None:
            headers.append(("Content-Type", case.content_type))
        if case.idempotency_key is not None:
            headers.append(("Idempotency-Key", case.idempotency_key))
        return headers

    def expected(self, case: DeskCase, session: Session | None) -> frozenset[int]:
        """The statuses docs/desk-api.md gives this request."""
        if case.route == "login":
            return frozenset({login_status(body_bytes(case.body))})
        csrf_ok = case.auth.csrf in ("right", "padded")
        if case.route == "logout":
            live = session is not None and case.auth.kind in ("session", "rotated")
            return frozenset({403 if live and not csrf_ok else 200})
        authorization = next((v for k, v in self.headers(case, None) if k == "Authorization"), b"")
        if header_text(authorization):
            if bearer_agent(header_text(authorization)) is None:
                return frozenset({401})
        elif case.auth.kind != "session":
            return frozenset({401})
        elif case.method not in SAFE_METHODS and not csrf_ok:
            return frozenset({403})
        return self._handled(case)

    def _handled(self, case: DeskCase) -> frozenset[int]:
        """After authentication: the route's own statuses."""
        ticket = self.ticket_id(case)
        known = ticket in self.tickets
        routable = bool(ticket) and not {"{", "}"} & set(ticket)
        methods = {"me": "GET", "list": "GET", "get": "GET", "events": "GET"}
        if case.route == "unknown" or (case.route in TICKET_ROUTES and not routable):
            return frozenset({404})
        if case.route == "retry" and not (case.delivery and not {"{", "}"} & set(case.delivery)):
            return frozenset({404})
        if case.method != methods.get(case.route, "POST"):
            return frozenset({405})
        if case.route == "me":
            return frozenset({200})
        if case.route == "list":
            pairs = parse_qsl(case.query.lstrip("?"), keep_blank_values=True, errors="replace")
            wanted = next((value for name, value in pairs if name == "status"), "open,claimed")
            unknown = [s for s in wanted.split(",") if s and s not in STATUSES]
            return frozenset({422 if unknown else 200})
        if case.route == "reply":
            status = reply_body_status(body_bytes(case.body), case.idempotency_key)
            if status is not None:
                return frozenset({status})
            return frozenset({200, 201, 403, 409}) if known else frozenset({404})
        if not known:
            return frozenset({404})
        return {
            "get": frozenset({200}),
            "claim": frozenset({200, 409}),
            "close": frozenset({200, 403}),
            "retry": frozenset({202, 409}),
        }[case.route]

    def request(self, case: DeskCase, session: Session | None) -> Request:
        """The case as bytes on the wire."""
        headers = tuple(self.headers(case, session))
        return Request(case.method, self.path(case), headers, body_bytes(case.body))


async def open_world(harness: DeskHarness, driver: Driver) -> DeskWorld:
    """Sixty tickets (real hand-offs), a live session per agent (real logins), an expired
    session and one whose agent's token changed since."""
    app = harness.app
    for n in range(TICKETS):
        conv = ConversationId("telegram", str(5000 + n))
        await app[CHAT].handle(conv, HUMAN_PAYLOAD, {"channel": "telegram"})
    tickets = sorted(t.id for t in await app[DESK].tickets.find())
    assert len(tickets) == TICKETS, tickets
    sessions = {
        agent: await login(driver, agent, f"127.2.0.{i + 1}") for i, agent in enumerate(TOKENS)
    }
    expired = await login(driver, "alice", "127.2.0.9")
    await app[REDIS].pexpire(Keys(harness.settings.redis_key_prefix).desk_session(expired.id), 1)
    await asyncio.sleep(0.05)
    assert await app[SESSIONS].get(expired.id) is None
    stale = await app[SESSIONS].create("alice", "0" * 32)  # as if alice's token had changed
    loop = asyncio.get_running_loop()

    def new_session(agent: str) -> Session:
        fingerprint = app[AGENTS].fingerprint(agent) or ""
        future = asyncio.run_coroutine_threadsafe(app[SESSIONS].create(agent, fingerprint), loop)
        made = future.result(driver.timeout_s)
        return Session(made.id, made.csrf)

    return DeskWorld(tickets, sessions, expired, Session(stale.id, stale.csrf), new_session)


async def login(driver: Driver, agent: str, address: str) -> Session:
    """Log in through the real endpoint, from `address`."""
    request = Request(
        "POST",
        "/desk/login",
        (("Content-Type", b"application/json"),),
        body_bytes({"token": TOKENS[agent]}),
    )
    response = await rawhttp.send(
        driver.host, driver.port, request, driver.timeout_s, local_addr=(address, 0)
    )
    assert response.status == 200, response
    return Session(response.cookies[COOKIE], response.json()["csrf_token"])


def check_details(case: DeskCase, response: Response) -> None:
    """What the status alone does not say: cookies, the challenge, who is logged in."""
    if response.status == 401:
        assert response.headers.get("www-authenticate", "").startswith("Bearer"), response
    if case.route == "login":
        set_cookie = response.headers.get("set-cookie", "")
        if response.status == 200:
            assert "HttpOnly" in set_cookie, set_cookie
            assert "SameSite=Strict" in set_cookie, set_cookie
            assert response.json()["csrf_token"]
        else:
            assert not set_cookie, set_cookie


@pytest.mark.fuzz
async def test_every_desk_request_gets_its_documented_status(
    redis_url: str, error_logs: ErrorLogs
) -> None:
    ran = 0
    async with desk_bot(redis_url) as harness:
        server = harness.client.server
        driver = Driver(asyncio.get_running_loop(), server.host, server.port or 0)
        world = await open_world(harness, driver)

        @fuzz_settings(EXAMPLES)
        @given(desk_cases())
        def examples(case: DeskCase) -> None:
            nonlocal ran
            ran += 1
            event(f"{case.route} {case.method} {case.auth.kind}")
            mark = error_logs.mark()
            session = world.session_of(case.auth, case.route)
            request = world.request(case, session)
            if case.route == "login":
                response = driver.send_from(world.login_address(), request)
            else:
                response = driver.send(request)
            echoed = [world.ticket_id(case), case.delivery, case.query]
            assert_handled(request, response, world.expected(case, session), echoed=echoed)
            if response.status < 300:
                # Tickets carry what agents wrote: the run's own texts, none of them Python's.
                assert_no_python(response.text(), echoed)
            check_details(case, response)
            error_logs.check(mark)

        await run_examples(examples, driver)
    assert ran >= EXAMPLES
    error_logs.check()

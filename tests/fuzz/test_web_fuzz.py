"""Fuzzing the web chat: `POST /api/chat/session`, `POST /api/chat` and `GET /api/chat/events`.

Every request gets a clear 4xx or a polite answer, in time, and the bot logs no error. Only
a session's own token opens its sender's conversation and stream: a missing, forged or other
user's token never gets a 200, and Rasa never hears from a sender without a session.

The bot runs for real (real Redis, real HTTP, no access log, as `bizbot serve` runs it)
against the fake Rasa. Two users, alice and bob, have sessions; cases name them, and the
request is built with their current tokens (a case that says 删除我的数据 ends a session,
and the rig opens a new one).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import re
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from redis.asyncio import Redis

from bot.app import create_app
from bot.channels.contract import ChatRequest, WebSession, open_session
from bot.chat import FORGET_PHRASES, FORGOTTEN_TEXT, RATE_LIMITED_TEXT
from bot.facts.script import to_simplified
from bot.launcher import free_port
from bot.settings import Settings
from bot.state.keys import Keys
from tests.auxil.fake_rasa import FakeRasa
from tests.auxil.fake_telegram import serve
from tests.fuzz.checks import assert_handled, assert_json_error, assert_no_python
from tests.fuzz.driver import Driver, ErrorLogs, fuzz_settings, run_examples
from tests.fuzz.polite import ECHO, assert_polite, prefixes
from tests.fuzz.rawhttp import Request, Response

pytestmark = pytest.mark.fuzz

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES_DEBUG", "10000"))
MAX_TEXT_CHARS = 2000
USERS = ("alice", "bob")
ALLOWED = prefixes([ECHO, RATE_LIMITED_TEXT, FORGOTTEN_TEXT])
SESSION_BURST = 40
SESSIONS_PER_MINUTE = 600.0
HEX_SENDER = re.compile(r"[0-9a-f]{32}")


@dataclass
class Rig:
    """The bot's address, its fake Rasa, Redis, and the users' current sessions."""

    driver: Driver
    http: aiohttp.ClientSession
    base: str
    rasa: FakeRasa
    redis: Redis
    keys: Keys
    sessions: dict[str, WebSession] = field(default_factory=dict)
    issued: set[str] = field(default_factory=set)
    """Every sender id a user of the rig was given (Rasa may hear only from these)."""

    async def open(self, user: str) -> None:
        """A new session for `user` (at the start, and after the user said 删除我的数据)."""
        self.sessions[user] = await open_session(self.http, self.base, wait_s=5.0)
        self.issued.add(self.sessions[user].sender)


@asynccontextmanager
async def web_bot(redis_url: str, **overrides: Any) -> AsyncIterator[Rig]:
    """The fake Rasa, then the bot on real Redis, and a session for each user."""
    rasa = FakeRasa()
    async with serve(rasa.app()) as rasa_server:
        settings = Settings(
            **{
                "rasa_url": str(rasa_server.make_url("")),
                "rasa_retries": 0,
                "redis_url": redis_url,
                "redis_key_prefix": f"fuzz-web-{uuid.uuid4().hex[:8]}:",
                "action_server_url": f"http://127.0.0.1:{free_port()}",
                "max_text_chars": MAX_TEXT_CHARS,
                # The first few hundred accepted messages per session go the whole way (lock,
                # log, Rasa); later ones get the polite rate-limit notice, which is quicker.
                "rate_limit_burst": 250,
                **overrides,
            }
        )
        async with (
            serve(create_app(settings)) as bot,
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http,
        ):
            redis = Redis.from_url(redis_url, decode_responses=True)
            base = str(bot.make_url("")).rstrip("/")
            driver = Driver(asyncio.get_running_loop(), bot.host, bot.port or 0)
            rig = Rig(driver, http, base, rasa, redis, Keys(settings.redis_key_prefix))
            try:
                for user in USERS:
                    await rig.open(user)
                yield rig
            finally:
                await redis.aclose()


def pick(pool: list[Any]) -> st.SearchStrategy[Any]:
    """One item of a prepared pool (drawn as an index: small reprs, shrinks to the first)."""
    return st.integers(0, len(pool) - 1).map(pool.__getitem__)


# --- generated values ---------------------------------------------------------------------
# Seeded pools, drawn by index, keep generation cheap (a draw per choice) without giving up
# odd values; hypothesis picks the combinations and a few values it makes up itself.

CLIENT_MAX_BYTES = 64 * 1024
"""The app's `client_max_size`: a bigger body gets 413."""
FRAGMENTS = (
    "嘉定区有哪些人才政策？",
    "嘉定區有哪些人才政策？",
    "南湖區的園區補貼",
    "How do I register a company in Jiading?",
    "Ça coûte combien ? Сколько стоит? كم السعر",
    "我想 apply 一个 business licence 营业执照",
    "/ask_park",
    "/request_human",
    "🏭📈🇨🇳👩‍💻",
    "ＦＵＬＬＷＩＤＴＨ　１２３",
    "\u200b\u200e\u202e reversed",
    "<script>alert(1)</script> &amp;",
    "' OR 1=1 --",
    "{{7*7}} ${7*7} %s %n",
    "KeyError ValueError RuntimeException",  # echoed back: exception names a user wrote
)


def _text_pool(size: int = 300) -> list[str]:
    """Empty, blank, mixed scripts, control characters, emoji, long and over-long (seeded)."""
    rng = random.Random(20_240_611)
    blanks = " \t\n\r\u3000\u00a0\u200b\x1c"
    pool = ["", " ", "\n", "\u3000", *FRAGMENTS]
    for i in range(size):
        kind = i % 5
        if kind == 0:
            pool.append("".join(rng.choice(blanks) for _ in range(rng.randint(1, 8))))
        elif kind == 1:
            pool.append(rng.choice(["", " ", "\n"]).join(rng.choices(FRAGMENTS, k=3)))
        elif kind == 2:
            pool.append("".join(chr(rng.randrange(0xA0)) for _ in range(rng.randint(1, 20))))
        elif kind == 3:
            pool.append("".join(chr(rng.randrange(0x1F300, 0x1FAFF)) for _ in range(9)))
        else:
            unit = rng.choice([*FRAGMENTS, "长", "a", "😀", "x\n"])
            chars = rng.choice([1999, 2000, 2001, rng.randint(1000, 12_000)])
            pool.append((unit * (chars // len(unit) + 1))[:chars])
    return pool


TEXT_POOL = _text_pool()
INVALID_UTF8 = (b"\xff", b"\xfe\xff", b"\xc3", b"\xc0\xaf", b"\xed\xa0\x80", b"\x80")
ODD_NUMBERS = (2**63, -(2**64), 10**30, 1.5, -0.0, float("nan"), float("inf"), 0, True, False)


def _json_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(8 if depth < 3 else 5)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice(ODD_NUMBERS)
    if kind == 2:
        return rng.randint(-(2**40), 2**40)
    if kind in (3, 4):
        return rng.choice(TEXT_POOL[:60])
    if kind == 5:
        return [_json_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    keys = ["sender", "text", "", "a", "文本", "\u0000", "__proto__", "$where"]
    return {rng.choice(keys): _json_value(rng, depth + 1) for _ in range(rng.randint(0, 4))}


_JSON_RNG = random.Random(7)
JSON_POOL = [_json_value(_JSON_RNG) for _ in range(400)]
"""JSON values of every type, nested, with odd strings and numbers (huge, NaN, -0.0)."""


def _raw_pool() -> list[bytes]:
    """Bodies that are not a JSON object, not JSON, not UTF-8, too deep, or too big."""
    rng = random.Random(11)
    pool = [b"", b"{", b"{}}", b"nul", b"'x'", b'{"a":1,}', b"\xef\xbb\xbf{}", b"[]", b"null"]
    pool += [bytes(rng.randrange(256) for _ in range(rng.randint(1, 40))) for _ in range(60)]
    pool += [json.dumps(value, allow_nan=True).encode() for value in JSON_POOL[:120]]
    # Invalid UTF-8 inside an otherwise fine message body.
    pool += [
        b'{"sender": "x", "text": "' + text.encode() + junk + b'"}'
        for junk in INVALID_UTF8
        for text in FRAGMENTS[:4]
    ]
    # Nested beyond the recursion limit, balanced or not; integers too long to convert.
    for depth in (900, 1100, 5000, 30_000):
        for left, right in ((b"[", b"]"), (b'{"a":', b"}")):
            pool += [left * depth, left * depth + right * depth]
    pool += [b'{"sender": ' + b"9" * digits + b"}" for digits in (4301, 20_000)]
    # Over the size limit.
    for unit in (b" ", b"a", "长".encode(), b'{"a": 1}, '):
        size = rng.randint(CLIENT_MAX_BYTES + 1, 4 * CLIENT_MAX_BYTES)
        pool.append((unit * (size // len(unit) + 1))[:size])
    pool.append(b"x" * (CLIENT_MAX_BYTES + 1))
    return pool


RAW_BODIES = st.one_of(pick(_raw_pool()), st.binary(max_size=30))
CONTENT_TYPE_VALUES = [
    None,
    b"application/json",
    b"application/json; charset=utf-8",
    b"application/json; charset=latin-1",
    b"application/json; charset=utf-16",
    b"application/json; charset=bogus",
    b"application/json; charset=zlib",
    b"application/json; charset=",
    b"text/plain",
    b"multipart/form-data; boundary=x",
    b"application/x-www-form-urlencoded",
    b"\xff\xfe",
    b"",
]
"""Right, missing, the wrong media type, or a charset no one can read."""
# Bytes llhttp accepts in a header value; anything else never reaches the app.
HEADER_BYTES = bytes([0x09, *range(0x20, 0x7F), *range(0x80, 0x100)])
_HEADER_RNG = random.Random(13)
HEADER_POOL = [
    bytes(_HEADER_RNG.choice(HEADER_BYTES) for _ in range(_HEADER_RNG.randint(0, 80)))
    for _ in range(300)
]
"""Header values as they can arrive: often not UTF-8."""


@pytest.fixture(autouse=True)
def quick_handoff() -> Iterator[None]:
    """Hand the GIL over sooner: after each response the hypothesis thread waits for it while
    the app's loop runs on; CPython's default 5 ms switch interval makes that wait the
    biggest cost of an example (a 0.5 ms interval makes the module about a quarter faster)."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)
    yield
    sys.setswitchinterval(before)


# --- who the request claims to be -------------------------------------------------------

Auth = tuple[str, Any]
"""("user", name): that user's token; ("forged", token); ("header", raw value); ("none", None)."""
SenderRef = tuple[str, Any]
"""("user", name): that user's sender id; ("value", any JSON value); ("missing", None)."""

_AUTH_RNG = random.Random(19)
AUTH_POOL: list[Auth] = [
    *(("user", user) for user in USERS * 8),
    *(
        (
            "forged",
            "".join(chr(_AUTH_RNG.randrange(0x21, 0x7F)) for _ in range(_AUTH_RNG.randint(1, 60))),
        )
        for _ in range(8)
    ),
    ("forged", "x" * 300),
    *(("header", value) for value in HEADER_POOL[:8]),
    *(("header", value) for value in (b"Bearer", b"Bearer ", b"bearer  ", b"Basic dXNlcjpwYXNz")),
    ("none", None),
    ("none", None),
]
AUTHS = pick(AUTH_POOL)
"""Mostly a user's own token (for either sender), else forged, malformed or none at all."""
SENDER_POOL: list[SenderRef] = [
    *(("user", user) for user in USERS * 8),
    *(("value", value) for value in TEXT_POOL[:12]),
    *(("value", f"a{chr(code)}z") for code in (0xD800, 0xDFFF)),
    ("value", "0123456789abcdef" * 2),
    ("value", "x" * 129),
    *(("value", value) for value in JSON_POOL[:12]),
    ("missing", None),
]
SENDERS = pick(SENDER_POOL)
"""A user's sender id, or one nobody has: odd text, a lone surrogate, too long, not a string."""


def authorization(rig: Rig, auth: Auth) -> bytes | None:
    kind, value = auth
    if kind == "user":
        return f"Bearer {rig.sessions[value].token}".encode()
    if kind == "forged":
        return f"Bearer {value}".encode()
    if kind == "header":
        assert isinstance(value, bytes)
        return value
    return None


def has_bearer(header: bytes | None) -> bool:
    """Whether the bot finds a token in the header at all (else it answers 401 at once)."""
    if header is None:
        return False
    scheme, _, token = header.decode("latin-1").partition(" ")
    return scheme.lower() == "bearer" and bool(token.strip())


# --- POST /api/chat -----------------------------------------------------------------------


@dataclass(frozen=True)
class ChatCase:
    """One generated message: who it claims to be, and the body as built or as raw bytes."""

    auth: Auth
    sender: SenderRef
    text: Any
    extra: dict[str, Any]
    ascii_json: bool
    raw: bytes | None
    """Set for bodies that are not a JSON object built from the fields."""
    content_type: bytes | None
    chunked: bool

    def fields(self, rig: Rig) -> dict[str, Any]:
        body: dict[str, Any] = dict(self.extra)
        kind, value = self.sender
        if kind == "user":
            body["sender"] = rig.sessions[value].sender
        elif kind == "value":
            body["sender"] = value
        if self.text is not None:
            body["text"] = self.text
        return body

    def request(self, rig: Rig) -> Request:
        if self.raw is not None:
            body = self.raw
        else:
            encoded = json.dumps(self.fields(rig), ensure_ascii=self.ascii_json, allow_nan=True)
            body = encoded.encode("utf-8", "surrogatepass")
        headers: list[tuple[str, bytes]] = []
        header = authorization(rig, self.auth)
        if header is not None:
            headers.append(("Authorization", header))
        if self.content_type is not None:
            headers.append(("Content-Type", self.content_type))
        return Request("POST", "/api/chat", tuple(headers), body, self.chunked)

    def expected(self, rig: Rig, body: bytes) -> frozenset[int]:
        """The statuses the documented order of checks allows for this request.

        A lone surrogate (written as `\\ud800`) may be refused as bad JSON (400) or as a bad
        field (422): either is a clear answer, and only a field that matters must be refused.
        """
        if not has_bearer(authorization(rig, self.auth)):
            return frozenset({401})
        if len(body) > CLIENT_MAX_BYTES:
            return frozenset({413})
        if self.raw is not None:
            # Not built from fields: not JSON, not an object, or fields no session has.
            return frozenset({400, 401, 413, 422})
        try:
            json.loads(body.decode("utf-8"))
        except UnicodeDecodeError:
            return frozenset({400})  # a lone surrogate written as raw bytes
        fields = self.fields(rig)
        surrogates = frozenset() if encodable(json.dumps(fields, ensure_ascii=False)) else {400}
        try:
            req = ChatRequest.model_validate(fields)
        except ValidationError:
            return frozenset({422, *surrogates})
        if not encodable(req.sender) or not encodable(req.text):
            return frozenset({400, 422})
        if self.auth[0] != "user" or self.sender != ("user", self.auth[1]):
            return frozenset({401, *surrogates})
        if not req.text:
            return frozenset({422, *surrogates})
        if len(req.text) > MAX_TEXT_CHARS:
            return frozenset({413, *surrogates})
        return frozenset({200, *surrogates})


def encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


SURROGATE_TEXTS = [f"你好{chr(code)}" for code in (0xD800, 0xDBFF, 0xDC00, 0xDFFF)]
TEXT_CHOICES = [
    *TEXT_POOL,
    *SURROGATE_TEXTS,
    *sorted(FORGET_PHRASES),
    *JSON_POOL[:60],
    None,
]
TEXTS = st.one_of(pick(TEXT_CHOICES), pick(TEXT_CHOICES), st.text(max_size=20))
"""Odd text (empty, blank, long, control characters, emoji, mixed scripts), lone surrogates,
the forget phrases, wrong types, or no text at all."""
_EXTRA_RNG = random.Random(23)
EXTRA_POOL: list[dict[str, Any]] = [
    {},
    {},
    {},
    *(
        {
            _EXTRA_RNG.choice(["x", "metadata", "sender ", "Text", "", "文本"]): value
            for value in _EXTRA_RNG.sample(JSON_POOL, _EXTRA_RNG.randint(1, 3))
        }
        for _ in range(20)
    ),
    *({"nested": json.loads("[" * depth + "]" * depth)} for depth in (1, 10, 60)),
]
EXTRA = pick(EXTRA_POOL)
"""Extra fields the contract ignores."""
CONTENT = st.sampled_from(
    [
        {"content_type": content_type, "chunked": chunked, "ascii_json": ascii_json}
        for content_type in CONTENT_TYPE_VALUES
        for chunked in (False, True)
        for ascii_json in (False, True)
    ]
)
"""Content-Type, chunked or not, and whether the JSON escapes non-ASCII (and surrogates)."""
RIGHT_CHAT = st.builds(
    lambda user, text, extra, content: ChatCase(
        ("user", user), ("user", user), text, extra, raw=None, **content
    ),
    st.sampled_from(USERS),
    pick([*TEXT_POOL, *SURROGATE_TEXTS]),
    EXTRA,
    CONTENT,
)
"""The right shape (a user's own token and sender, and text), so messages get through."""
ANY_CHAT = st.builds(
    lambda auth, sender, text, extra, raw, content: ChatCase(
        auth, sender, text, extra, raw=raw, **content
    ),
    AUTHS,
    SENDERS,
    TEXTS,
    EXTRA,
    st.one_of(st.none(), st.none(), RAW_BODIES),
    CONTENT,
)
CHAT_CASES = st.one_of(RIGHT_CHAT, ANY_CHAT, ANY_CHAT, ANY_CHAT)


def check_chat_answer(rig: Rig, case: ChatCase, response: Response) -> None:
    """A 200 is the contract's shape with polite replies; a forget ends the session."""
    assert response.content_type == "application/json", response
    data = response.json()
    assert set(data) == {"replies", "intent", "entities", "sources", "escalated"}, data
    assert data["replies"], data
    sent = ChatRequest.model_validate({"sender": "x", "text": case.text}).text
    assert_no_python(json.dumps({k: v for k, v in data.items() if k != "replies"}))
    for reply in data["replies"]:
        assert isinstance(reply["text"], str)
        assert_polite(reply["text"], ALLOWED)
        # The fake Rasa echoes what it got (Simplified); only that may look like Python.
        assert_no_python(reply["text"], echoed=[sent, to_simplified(sent)])
    if data["replies"][0]["text"] == FORGOTTEN_TEXT:
        rig.driver.run(rig.open(case.auth[1]))


async def test_every_chat_message_gets_a_clear_4xx_or_a_polite_answer_for_its_own_session(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    logs = ErrorLogs(caplog)
    ran, answered = 0, 0
    async with web_bot(redis_url, web_session_burst=1000) as rig:

        @fuzz_settings(EXAMPLES)
        @given(CHAT_CASES)
        def examples(case: ChatCase) -> None:
            nonlocal ran, answered
            ran += 1
            mark = logs.mark()
            request = case.request(rig)
            expected = case.expected(rig, request.body)
            response = rig.driver.send(request)
            echoed = [str(case.text), repr(case.text)]
            assert_handled(request, response, expected, echoed=echoed)
            if response.status == 401:
                assert response.headers["www-authenticate"].startswith("Bearer")
            if response.status == 200:
                answered += 1
                check_chat_answer(rig, case, response)
            logs.check(mark)

        await run_examples(examples, rig.driver)
        senders = {str(body["sender"]) for body in rig.rasa.received}
        assert senders <= {f"web:{sender}" for sender in rig.issued}
        assert set(rig.rasa.resets) <= {f"web:{sender}" for sender in rig.issued}
    assert ran >= EXAMPLES
    assert answered >= EXAMPLES // 20, f"only {answered} messages got through: a shallow run"
    assert rig.rasa.received, "no message reached Rasa: the fuzzing missed the whole path"
    logs.check()


# --- GET /api/chat/events -----------------------------------------------------------------


@dataclass(frozen=True)
class EventsCase:
    """One query string: its parameters (names, user references, raw values) in order."""

    params: tuple[tuple[str, Any], ...]
    """(name, ("user-sender" | "user-token", name)) or (name, ("raw", encoded value))."""

    def target(self, rig: Rig) -> str:
        parts = []
        for name, (kind, value) in self.params:
            if kind == "user-sender":
                encoded = quote(rig.sessions[value].sender, safe="")
            elif kind == "user-token":
                encoded = quote(rig.sessions[value].token, safe="")
            else:
                encoded = value
            parts.append(f"{name}={encoded}" if encoded is not None else name)
        return "/api/chat/events" + ("?" + "&".join(parts) if parts else "")

    def first(self, name: str) -> tuple[str, Any] | None:
        return next((ref for key, ref in self.params if key == name), None)

    def opens(self) -> str | None:
        """The user whose stream this opens (their sender and token first), if any."""
        sender, token = self.first("sender"), self.first("token")
        if sender is None or token is None or sender[0] != "user-sender":
            return None
        return sender[1] if token == ("user-token", sender[1]) else None


def percent(text: str) -> str:
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


# Values stay short enough for the request line to fit aiohttp's 8 KiB limit: a longer line is
# refused by the HTTP parser itself (400, plain text) before the app sees the request.
_QUERY_RNG = random.Random(17)
QUERY_POOL = [
    *(percent(text[:80]) for text in TEXT_POOL),
    *(percent(f"a{chr(code)}z") for code in (0xD800, 0xDBFF, 0xDC00, 0xDFFF)),
    *["", "%", "%zz", "%ff", "%ED%A0%80", "%C0%AF", "+", "%20", "%00", "0-0", "1-1", "$", "a%2"],
    *(
        "".join(
            _QUERY_RNG.choice("abcdefghijklmnopqrstuvwxyz0123456789-_.~")
            for _ in range(_QUERY_RNG.randint(1, 200))
        )
        for _ in range(100)
    ),
]
RAW_VALUES = st.one_of(pick(QUERY_POOL), st.none())
"""Query values, percent-encoded (odd text, lone surrogates, invalid UTF-8, bad escapes)."""
PARAM_NAMES = st.sampled_from(["sender", "token", "after", "sender", "token", "x", "Sender"])


REF_POOL: list[tuple[str, Any]] = [
    *(("user-sender", user) for user in USERS * 2),
    *(("user-token", user) for user in USERS * 2),
    *(("raw", value) for value in QUERY_POOL),
    ("raw", None),
]
RIGHT_SHAPES: list[tuple[str, tuple[str, Any]]] = [
    *((owner, ("user-token", user)) for owner in USERS for user in USERS for _ in range(2)),
    *((owner, ("raw", value)) for owner in USERS for value in QUERY_POOL[::8]),
]
"""A user's sender and a token: sometimes theirs, else the other user's or an odd one (each
stream that opens holds a handler for a while, so they are a small share)."""
RIGHT_SHAPE = pick(RIGHT_SHAPES)


def _events_case(
    shape: tuple[str, tuple[str, Any]] | None,
    extra: list[tuple[str, tuple[str, Any]]],
    seed: int,
) -> EventsCase:
    params = list(extra)
    if shape is not None:
        owner, token = shape
        params += [("sender", ("user-sender", owner)), ("token", token)]
    random.Random(seed).shuffle(params)
    return EventsCase(tuple(params))


EVENTS_CASES = st.builds(
    _events_case,
    st.one_of(st.none(), RIGHT_SHAPE, RIGHT_SHAPE),
    st.lists(st.tuples(PARAM_NAMES, pick(REF_POOL)), max_size=4),
    st.integers(0, 2**16),
)


async def open_stream(rig: Rig, target: str) -> Response:
    """GET `target`; a 200 is read up to its first event block, anything else to the end."""
    started = time.monotonic()
    async with asyncio.timeout(rig.driver.timeout_s):
        reader, writer = await asyncio.open_connection(rig.driver.host, rig.driver.port)
        try:
            writer.write(
                f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
            )
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            headers = {}
            for line in head.decode("latin-1").split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name:
                    headers[name.strip().lower()] = value.strip()
            if status == 200:
                body = await reader.readuntil(b"\n\n")
            else:
                body = await reader.read()
        finally:
            writer.close()
    if headers.get("transfer-encoding", "").lower() == "chunked" and status == 200:
        body = body.split(b"\r\n", 1)[1]  # the first chunk's size line
    return Response(status, headers, body, time.monotonic() - started)


async def test_every_event_stream_query_gets_a_clear_4xx_or_its_own_stream(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    logs = ErrorLogs(caplog)
    ran, opened = 0, 0
    async with web_bot(redis_url) as rig:

        @fuzz_settings(EXAMPLES)
        @given(EVENTS_CASES)
        def examples(case: EventsCase) -> None:
            nonlocal ran, opened
            ran += 1
            mark = logs.mark()
            target = case.target(rig)
            owner = case.opens()
            expected = frozenset({200}) if owner else frozenset({401, 422})
            response = rig.driver.run(open_stream(rig, target))
            request = Request("GET", target)
            assert_handled(request, response, expected, echoed=[target])
            if response.status == 200:
                opened += 1
                assert response.content_type == "text/event-stream", response
                assert response.body.startswith(b"retry: "), response
            logs.check(mark)

        await run_examples(examples, rig.driver)
    assert ran >= EXAMPLES
    assert opened >= EXAMPLES // 50, f"only {opened} streams opened: a shallow run"
    logs.check()


# --- POST /api/chat/session ---------------------------------------------------------------


@dataclass(frozen=True)
class SessionCase:
    """A session request: whatever body, content type and forwarding headers it carries."""

    body: bytes
    headers: tuple[tuple[str, bytes], ...]
    chunked: bool

    def request(self) -> Request:
        return Request("POST", "/api/chat/session", self.headers, self.body, self.chunked)


def _session_header_pool(size: int = 400) -> list[tuple[tuple[str, bytes], ...]]:
    """Header sets: a Content-Type, an Authorization, addresses it claims to be forwarded
    for (the bot must not believe them); each header at most once, as aiohttp's parser
    refuses a repeated Content-Type itself."""
    rng = random.Random(29)
    forwarded = [
        *(f"10.0.{rng.randrange(256)}.{rng.randrange(256)}".encode() for _ in range(40)),
        *HEADER_POOL[:40],
    ]
    choices: dict[str, list[bytes]] = {
        "Content-Type": [value or b"" for value in CONTENT_TYPE_VALUES],
        "Authorization": HEADER_POOL[:40],
        "X-Forwarded-For": forwarded,
        "X-Real-IP": forwarded,
        "Forwarded": [b"for=" + value for value in forwarded],
    }
    pool: list[tuple[tuple[str, bytes], ...]] = [()]
    for _ in range(size):
        names = rng.sample(sorted(choices), rng.randint(1, 3))
        pool.append(tuple((name, rng.choice(choices[name])) for name in names))
    return pool


SESSION_CASES = st.builds(
    SessionCase,
    st.one_of(st.just(b""), RAW_BODIES),
    pick(_session_header_pool()),
    st.booleans(),
)


async def test_every_session_request_gets_a_session_or_a_clear_429_and_the_limit_holds(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    logs = ErrorLogs(caplog)
    ran = 0
    created: list[WebSession] = []
    limited = 0
    async with web_bot(
        redis_url,
        web_session_burst=SESSION_BURST,
        web_session_rate_per_minute=SESSIONS_PER_MINUTE,
    ) as rig:
        started = time.monotonic()

        @fuzz_settings(EXAMPLES)
        @given(SESSION_CASES)
        def examples(case: SessionCase) -> None:
            nonlocal ran, limited
            ran += 1
            mark = logs.mark()
            request = case.request()
            response = rig.driver.send(request)
            assert_handled(request, response, {201, 429})
            if response.status == 201:
                data = response.json()
                assert set(data) == {"sender", "token"}, data
                assert HEX_SENDER.fullmatch(data["sender"]), data
                assert len(data["token"]) >= 43, data
                created.append(WebSession(data["sender"], data["token"]))
            else:
                limited += 1
                assert assert_json_error(response) == "too_many_sessions"
                assert int(response.headers["retry-after"]) >= 1
            logs.check(mark)

        await run_examples(examples, rig.driver)
        elapsed = time.monotonic() - started
        # Forwarding headers are not trusted: one address, one bucket, whatever they say.
        allowed = SESSION_BURST + SESSIONS_PER_MINUTE / 60 * elapsed + 1
        assert len(created) <= allowed, (len(created), elapsed)
        assert limited > 0
        assert len({s.sender for s in created}) == len(created)
        stored = await rig.redis.mget([rig.keys.web_session(s.sender) for s in created])
        assert stored == [hashlib.sha256(s.token.encode()).hexdigest() for s in created]
    assert ran >= EXAMPLES
    logs.check()

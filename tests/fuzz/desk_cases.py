"""Generated desk requests: login, logout and the JSON API, under every kind of credential.

A case names its credential abstractly ("alice's live session, another session's CSRF
token"): sessions only exist once the test has logged in, so the test turns the case into
bytes (`DeskWorld.request`) and works out the statuses the documented rules allow
(`DeskWorld.expected`, after docs/desk-api.md).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

from tests.desk.harness import TOKENS
from tests.fuzz.strategies import (
    CLIENT_MAX_BYTES,
    HEADER_BYTES,
    broken_json,
    dump,
    huge_body,
    json_content_types,
    odd_text,
)

AGENTS = tuple(TOKENS)
MAX_TOKEN_CHARS = 256
MAX_TEXT_CHARS = 2000
MAX_IDEMPOTENCY_KEY = 128
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
STATUSES = ("open", "claimed", "closed")


@dataclass(frozen=True)
class Auth:
    """How a request authenticates.

    kind: none; bearer (an agent's token); authorization (any other header value, `raw`);
    session (an agent's live session); expired or rotated (a session that was live); forged
    (a cookie value no session has, `raw`). csrf: right, missing, wrong, other (another live
    session's token), padded (right, with spaces the HTTP parser strips).
    """

    kind: str
    agent: str = "alice"
    csrf: str = "right"
    raw: bytes = b""


@dataclass(frozen=True)
class DeskCase:
    """One request, abstractly."""

    route: str
    method: str
    auth: Auth
    ticket: str | int | None = None
    """An index into the tickets the test opened, or any other id."""
    delivery: str = ""
    query: str = ""
    body: Any = None
    """A JSON value to send, or bytes to send as they are."""
    content_type: bytes | None = b"application/json"
    idempotency_key: bytes | None = None


def _authorizations() -> list[bytes]:
    """Authorization values no agent has: other schemes, wrong, blank, long, not UTF-8."""
    rng = random.Random(8)
    token = TOKENS["alice"]
    values = [
        b"Bearer wrong-token",
        b"Basic YWxpY2U6cHc=",
        b"Bearer",
        b"Bearer ",
        b"Token " + token.encode(),
        b"Bearer\t" + token.encode(),
        b"Bearer " + token.encode() + b"x",
        b"Bearer " + token.upper().encode(),
        b"Bearer " + b"x" * 300,
        b"Bearer \xff" + token.encode(),
        "Bearer 令牌".encode(),
    ]
    for _ in range(20):
        values.append(bytes(rng.choice(HEADER_BYTES) for _ in range(rng.randint(1, 60))))
    return values


def _cookies() -> list[bytes]:
    """Session ids no one was given: random, too long, odd characters, not UTF-8."""
    rng = random.Random(9)
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
    values = [b"", b"x", b"a" * 129, b"\xff\xfe", b"%00", b'"quoted"', b"..%2F", "会话".encode()]
    values += ["".join(rng.choices(alphabet, k=43)).encode() for _ in range(10)]
    for _ in range(10):
        values.append(bytes(rng.choice(HEADER_BYTES) for _ in range(rng.randint(1, 60))))
    return [v for v in values if b";" not in v]  # a ";" would end the cookie


def _accepted_auths() -> list[Auth]:
    """Credentials the desk takes (sessions with any CSRF header, right or not)."""
    auths: list[Auth] = []
    for agent in AGENTS:
        auths += [Auth("bearer", agent)] * 6
        auths += [Auth("session", agent, "right")] * 6
        auths += [Auth("session", agent, csrf) for csrf in ("missing", "wrong", "other", "padded")]
    # Over 256 characters as sent, but HTTP strips the trailing spaces before the desk looks.
    padded = b"Bearer " + TOKENS["bob"].encode() + b" " * 250
    return [*auths, Auth("authorization", "bob", raw=padded)]


def _refused_auths() -> list[Auth]:
    """Credentials the desk refuses: none, other Authorization values, dead sessions."""
    auths = [Auth("none")] * 6 + [Auth("expired"), Auth("rotated")] * 3
    auths += [Auth("authorization", raw=raw) for raw in _authorizations()]
    return auths + [Auth("forged", raw=raw) for raw in _cookies()]


# Three requests in four carry a credential the desk takes, so most get past the checks.
REFUSED_AUTHS = st.sampled_from(_refused_auths())
AUTHS = st.sampled_from(_accepted_auths() * 4 + _refused_auths())

ODD_IDS = [
    "",
    "T00001:events",
    "T00002:events",
    "T00001:events:x",
    "t00001",
    "T1",
    "T0",
    "T99999",
    "T" + "9" * 40,
    " T00001",
    "T00001 ",
    "T00001\x00",
    "../T00001",
    "..",
    ".",
    "T00001/claim",
    "{x}",
    "%",
    "%zz",
    "Ｔ00001",
    "T00001😀",
    "'; DROP TABLE tickets; --",
    "*",
    "T0000?",
]
TICKETS = st.one_of(
    st.integers(0, 59),
    st.integers(0, 59),
    st.sampled_from(ODD_IDS),
    st.text(max_size=20),
)
DELIVERIES = st.one_of(
    st.sampled_from(["", "abc", "0" * 32, "f" * 33, "..", "x:y", "%FF"]), st.text(max_size=12)
)
STATUS_QUERIES = st.sampled_from(
    [
        "",
        "?status=open",
        "?status=open,claimed,closed",
        "?status=closed",
        "?status=",
        "?status=,,",
        "?status=bogus",
        "?status=open,bogus",
        "?status=OPEN",
        "?status=%FF",
        "?status=open&status=closed",
        "?status=" + "open," * 500,
        "?after=1-1",
    ]
)
# (route, method) pairs: the API's own, plus wrong methods and unknown paths.
ROUTES = st.sampled_from(
    [("me", "GET"), ("list", "GET"), ("get", "GET"), ("claim", "POST"), ("claim", "POST")]
    + [("close", "POST")]
    + [("reply", "POST")] * 4
    + [("retry", "POST"), ("events", "GET"), ("login", "POST"), ("login", "POST")]
    + [("logout", "POST"), ("me", "POST"), ("claim", "GET"), ("get", "DELETE")]
    + [("me", "OPTIONS"), ("unknown", "GET"), ("unknown", "POST")]
)
UNKNOWN_PATHS = st.sampled_from(
    ["/desk/api/", "/desk/api/nothing", "/desk/api/tickets/T00001/reopen", "/desk/api/me/x"]
)


def _login_bodies() -> list[Any]:
    token = TOKENS["alice"]
    return [
        {"token": TOKENS["bob"]},
        {"token": f"  {TOKENS['root']}\n"},
        {"token": token + "x"},
        {"token": ""},
        {"token": " "},
        {"token": "x" * 257},
        {"token": token + " " * 300},
        {"token": 5},
        {"token": None},
        {"token": [token]},
        {"Token": token},
        {},
        [],
        "token",
        {"token": token, "agent": "root"},
        {"token": "令牌😀"},
    ]


LOGIN_BODIES = st.sampled_from(_login_bodies())
TEXTS = st.one_of(odd_text(), st.sampled_from(["  ", "hi", "你好，请稍等。", "x" * 2001]))
REPLY_BODIES = st.sampled_from(
    [
        {"text": None},
        {"text": 5},
        {"text": ["hi"]},
        {},
        [],
        "hi",
        {"text": "你\ud800好"},  # a lone surrogate
        {"text": "hi", "extra": {"nested": True}},
    ]
)
IDEMPOTENCY_KEYS = st.sampled_from(
    [None, None, None, b"k1", b"k2", b"", b"k" * 128, b"k" * 129, b"\xff\xfe", "键".encode()]
)
BODY_SHAPES = st.sampled_from(["fields"] * 6 + ["other", "broken", "huge"])


TICKET_ROUTES = frozenset({"get", "claim", "close", "reply", "retry"})
AGENT_TOKENS = st.sampled_from([TOKENS[agent] for agent in AGENTS])


def _body(draw: st.DrawFn, route: str) -> Any:
    shape = draw(BODY_SHAPES)
    if shape == "broken":
        return draw(broken_json())
    if shape == "huge":
        return draw(huge_body())
    if route == "login":
        return {"token": draw(AGENT_TOKENS)} if shape == "fields" else draw(LOGIN_BODIES)
    return {"text": draw(TEXTS)} if shape == "fields" else draw(REPLY_BODIES)


@st.composite
def desk_cases(draw: st.DrawFn) -> DeskCase:
    """One request to the desk, with a credential, path parameters and a body."""
    route, method = draw(ROUTES)
    # The live event stream would not end: only credentials it refuses go there.
    auth = draw(REFUSED_AUTHS if route == "events" else AUTHS)
    ticket = draw(TICKETS) if route in TICKET_ROUTES else None
    delivery = draw(DELIVERIES) if route == "retry" else ""
    query = draw(STATUS_QUERIES) if route in ("list", "events") else ""
    if route == "unknown":
        query = draw(UNKNOWN_PATHS)
    body = _body(draw, route) if route in ("login", "reply") else None
    key = draw(IDEMPOTENCY_KEYS) if route == "reply" else None
    content_type = draw(json_content_types())
    return DeskCase(route, method, auth, ticket, delivery, query, body, content_type, key)


# -- the documented rules ----------------------------------------------------------------


def header_text(raw: bytes) -> str:
    """A header value as the app sees it: UTF-8 (else surrogate escapes), whitespace stripped."""
    return raw.decode("utf-8", "surrogateescape").strip(" \t")


def utf8(raw: bytes) -> bool:
    """Whether header bytes are UTF-8 text."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def bearer_agent(value: str) -> str | None:
    """The agent an Authorization value authenticates, like the desk's middleware."""
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or len(token) > MAX_TOKEN_CHARS:
        return None
    return next((a for a, t in TOKENS.items() if t == token.strip()), None)


def body_bytes(body: Any) -> bytes:
    """What goes on the wire for a case's body."""
    if body is None:
        return b""
    return body if isinstance(body, bytes) else dump(body)


def json_status(raw: bytes) -> tuple[int | None, Any]:
    """(400 or 413, None) when the body cannot be read as JSON, else (None, the value)."""
    if len(raw) > CLIENT_MAX_BYTES:
        return 413, None
    try:
        value = json.loads(raw.decode("utf-8"))
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (ValueError, RecursionError):
        return 400, None
    return None, value


def login_status(raw: bytes) -> int:
    """POST /desk/login (docs/desk-api.md): 413, 400, 422, 401 or 200."""
    status, value = json_status(raw)
    if status is not None:
        return status
    token = value.get("token") if isinstance(value, dict) else None
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
        return 422
    return 200 if token.strip() in TOKENS.values() else 401


def reply_body_status(raw: bytes, key: bytes | None) -> int | None:
    """The reply's own checks, in order: JSON, text, length, Idempotency-Key; None: all fine."""
    status, value = json_status(raw)
    if status is not None:
        return status
    if not isinstance(value, dict):
        return 400
    text = value.get("text")
    if not isinstance(text, str) or not text.strip():
        return 422
    if len(text) > MAX_TEXT_CHARS:
        return 413
    if key is not None and not (0 < len(header_text(key)) <= MAX_IDEMPOTENCY_KEY and utf8(key)):
        return 422
    return None


def path_segment(value: str) -> str:
    """`value` as one percent-encoded path segment (surrogates as the bytes they escape)."""
    return quote(value.encode("utf-8", "surrogatepass"), safe="")

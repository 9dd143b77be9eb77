"""Generated Telegram webhook calls, each with the statuses the bot may answer it with.

Order of the bot's checks (docs/telegram.md): the secret header (403), the body as JSON (413
when over 64 KiB, 400 when unreadable), then the update itself (400 when it is not one).
Well-formed updates are built to the Bot API's types; mutated ones lose fields, get values
of the wrong type, or are of kinds the bot does not handle.

Only about one call in ten is an update the bot answers: its answers go through PTB's rate
limiter (30 Bot API calls a second, 20 a minute per group), which would otherwise set the
pace of the whole run. The dull parts of a call come from seeded pools (see strategies.py).
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from tests.auxil.fake_telegram import BOT_USER, BOT_USERNAME
from tests.fuzz.rawhttp import Request
from tests.fuzz.strategies import (
    CLIENT_MAX_BYTES,
    FRAGMENTS,
    HEADER_BYTES,
    broken_json,
    huge_body,
    json_content_types,
    json_values,
    odd_text,
)

SECRET = "s3cret_Token-1"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_PATH = "/telegram/webhook"


@dataclass(frozen=True)
class Case:
    """One webhook call and what may come back."""

    kind: str
    request: Request
    expected: frozenset[int]
    update_id: int | None = None
    """Set when a 200 means the update was queued (its id, for the dedupe)."""
    chat_id: int | None = None
    replies: bool | None = None
    """True: the chat must get an answer; False: it must get none; None: either."""


# -- well-formed updates -----------------------------------------------------------------

PRIVATE_CHATS = [42, 43, 44, 7, 1_000_001, 2**40, 999_999_999_999]
GROUP_CHATS = [-1001234, -1005678, -42]


def _chat_pool(size: int = 400) -> list[int]:
    rng = random.Random(3)
    # A few chats come up often (rate limits, per-chat order), most are new.
    return PRIVATE_CHATS + [rng.randint(1, 2**45) for _ in range(size)]


CHATS = st.sampled_from(_chat_pool())
GROUPS = st.sampled_from(GROUP_CHATS + [-(10**12) - n for n in range(50)])


def _user(user_id: int, name: str) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": name or "Li", "username": "li_user"}


def _chat(chat_id: int) -> dict[str, Any]:
    if chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": "Li"}
    return {"id": chat_id, "type": "supergroup", "title": "Investors"}


def _message(chat_id: int, **fields: Any) -> dict[str, Any]:
    return {
        "message_id": 7,
        "date": int(time.time()),
        "chat": _chat(chat_id),
        "from": _user(abs(chat_id) % 2**40 or 1, "Li"),
        **fields,
    }


STICKER = {
    "file_id": "stk",
    "file_unique_id": "stk-u",
    "type": "regular",
    "width": 512,
    "height": 512,
    "is_animated": False,
    "is_video": False,
}
ATTACHMENTS: list[dict[str, Any]] = [
    {"sticker": STICKER},
    {"photo": [{"file_id": "ph", "file_unique_id": "ph-u", "width": 90, "height": 90}]},
    {"voice": {"file_id": "vc", "file_unique_id": "vc-u", "duration": 2}, "caption": "听听"},
    {"location": {"latitude": 31.37, "longitude": 121.25}},
    {"contact": {"phone_number": "+86", "first_name": "Li"}},
]
COMMANDS = ["/start", "/help", "/topics", "/human", "/reset", "/forget", "/unknown", "/start@x"]
MENTION = f"@{BOT_USERNAME}"


@dataclass(frozen=True)
class Built:
    """A well-formed update, its chat and whether that chat must get an answer."""

    update: dict[str, Any]
    chat_id: int
    replies: bool | None


ENTITY_TYPES = ("mention", "bot_command", "bold", "url", "text_link")


def _plans() -> list[tuple[str, bool, Any]]:
    """(kind, redelivered, detail) for each update: mostly plain text, one in ten a replay."""
    rng = random.Random(2)
    kinds = ["text"] * 4 + ["command", "attachment", "button", "mention", "reply_to_bot"]
    kinds += ["group"] * 4 + ["entities", "entities"]
    plans: list[tuple[str, bool, Any]] = [("text", False, None)]
    for i in range(1000):
        kind = rng.choice(kinds)
        detail: Any = None
        if kind == "command":
            detail = rng.choice(COMMANDS)
        elif kind == "attachment":
            detail = rng.choice(ATTACHMENTS)
        elif kind == "entities":
            # Anywhere, of any length, over any text (Telegram counts UTF-16 units), in a
            # private chat or a group.
            entity = {"type": rng.choice(ENTITY_TYPES), "offset": rng.randint(0, 12)}
            detail = ({**entity, "length": rng.randint(0, 12)}, rng.choice([1, -1]))
        plans.append((kind, i % 10 == 0, detail))
    return plans


PLANS = st.sampled_from(_plans())
UPDATE_IDS = st.integers(4, 2**31)


@st.composite
def updates(draw: st.DrawFn) -> Built:
    """A well-formed update of a kind the bot handles, with odd text."""
    kind, redelivered, detail = draw(PLANS)
    update_id = draw(UPDATE_IDS)
    if redelivered:
        update_id = 1 + update_id % 3  # ids Telegram sends again and again
    text = draw(odd_text())
    chat_id = draw(GROUPS if kind in ("group", "mention", "reply_to_bot") else CHATS)
    # Anything but Rasa's silent /restart gets an answer (whitespace gets the help text).
    answered = bool(text) and text.strip() != "/restart"
    if kind == "text":
        message = _message(chat_id, text=text)
        return Built({"update_id": update_id, "message": message}, chat_id, answered)
    if kind == "command":
        entity = {"type": "bot_command", "offset": 0, "length": len(detail)}
        message = _message(chat_id, text=f"{detail} {text}", entities=[entity])
        return Built({"update_id": update_id, "message": message}, chat_id, True)
    if kind == "attachment":
        message = _message(chat_id, **detail)
        return Built({"update_id": update_id, "message": message}, chat_id, True)
    if kind == "button":
        query = {
            "id": f"cq{update_id}",
            "from": _user(chat_id, "Li"),
            "chat_instance": "ci",
            "message": _message(chat_id, text="…", **{"from": BOT_USER}),
            "data": text[:64],
        }
        return Built({"update_id": update_id, "callback_query": query}, chat_id, None)
    if kind == "mention":
        entity = {"type": "mention", "offset": 0, "length": len(MENTION)}
        message = _message(chat_id, text=f"{MENTION} {text}", entities=[entity])
        return Built({"update_id": update_id, "message": message}, chat_id, True)
    if kind == "reply_to_bot":
        replied = _message(chat_id, text="…", **{"from": BOT_USER})
        message = _message(chat_id, text=text, reply_to_message=replied)
        return Built({"update_id": update_id, "message": message}, chat_id, answered)
    if kind == "group":  # not addressed to the bot: nothing to say
        message = _message(chat_id, text=text)
        return Built({"update_id": update_id, "message": message}, chat_id, False)
    entity, sign = detail
    chat_id *= sign
    message = _message(chat_id, text=f"😀{MENTION}{text}", entities=[entity])
    return Built({"update_id": update_id, "message": message}, chat_id, None)


# -- mutations ---------------------------------------------------------------------------

PATHS = [
    ("update_id",),
    ("message",),
    ("message", "message_id"),
    ("message", "date"),
    ("message", "chat"),
    ("message", "chat", "id"),
    ("message", "chat", "type"),
    ("message", "from"),
    ("message", "from", "id"),
    ("message", "from", "first_name"),
    ("message", "from", "is_bot"),
    ("message", "text"),
    ("message", "entities"),
    ("message", "entities", 0),
    ("message", "entities", 0, "offset"),
    ("message", "entities", 0, "type"),
    ("message", "reply_to_message"),
    ("message", "reply_to_message", "from"),
    ("message", "sticker"),
    ("message", "caption"),
    ("callback_query", "id"),
    ("callback_query", "from"),
    ("callback_query", "data"),
    ("callback_query", "message"),
    ("callback_query", "message", "chat"),
]
WRONG_VALUES: list[Any] = [
    None,
    "",
    "x",
    "42",
    -1,
    0,
    2**70,
    1.5,
    float("nan"),
    [],
    {},
    True,
    False,
    [1],
]
UNKNOWN_KINDS = [
    "edited_message",
    "channel_post",
    "poll",
    "inline_query",
    "my_chat_member",
    "message_reaction",
    "business_message",
    "not_a_telegram_kind",
]


def _mutate(update: dict[str, Any], path: tuple[str | int, ...], value: Any, drop: bool) -> None:
    node: Any = update
    for key in path[:-1]:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return
    if isinstance(node, dict) and isinstance(path[-1], str):
        if drop:
            node.pop(path[-1], None)
        else:
            node[path[-1]] = value
    elif isinstance(node, list) and isinstance(path[-1], int) and path[-1] < len(node):
        if drop:
            del node[path[-1]]
        else:
            node[path[-1]] = value


def _odd_plans() -> list[tuple[str, Any]]:
    """How to spoil an update: (how, detail), seeded."""
    rng = random.Random(4)
    mutations = [(path, value, False) for path in PATHS for value in WRONG_VALUES]
    mutations += [(path, None, True) for path in PATHS]
    junk: list[Any] = [None, 1, "x", [], {}, {"id": 1}, [{"a": None}], {"chat": {"id": "x"}}]
    plans: list[tuple[str, Any]] = []
    for _ in range(1500):
        how = rng.choice(["mutate"] * 10 + ["unknown"] * 4 + ["surrogate"] * 2 + ["extra"])
        if how == "mutate":
            plans.append((how, tuple(rng.sample(mutations, rng.randint(1, 3)))))
        elif how == "unknown":
            plans.append((how, (rng.choice(UNKNOWN_KINDS), rng.choice([None, *junk]))))
        elif how == "surrogate":
            surrogate = rng.choice(["", "你好", "a"]) + chr(rng.randrange(0xD800, 0xE000))
            plans.append((how, (rng.choice(["text", "data", "caption"]), surrogate)))
        else:
            plans.append((how, (rng.choice(["", "x", "ok", "update_id2", "💥"]), rng.choice(junk))))
    return plans


ODD_PLANS = st.sampled_from(_odd_plans())


@st.composite
def odd_updates(draw: st.DrawFn) -> dict[str, Any]:
    """Updates with a missing field, a value of the wrong type, or of a kind not handled."""
    built = draw(updates())
    update: dict[str, Any] = json.loads(json.dumps(built.update))
    how, detail = draw(ODD_PLANS)
    if how == "mutate":
        for path, value, drop in detail:
            _mutate(update, path, value, drop)
    elif how == "unknown":
        kind, junk = detail
        body = update.pop("message", None) or update.pop("callback_query", None)
        update[kind] = body if junk is None else junk
    elif how == "surrogate":
        field_name, surrogate = detail
        message: dict[str, Any] = update.get("message") or update["callback_query"]
        message[field_name] = surrogate
    else:
        name, junk = detail
        update[name] = junk
    return update


def _json_pool(size: int = 600) -> list[Any]:
    """JSON bodies that are no update: scalars, lists, objects, and objects whose update_id
    is not an integer (seeded; drawing them from hypothesis's recursive strategy each time
    would cost more than the request)."""
    rng = random.Random(10)
    scalars: list[Any] = [None, True, False, 0, -1, 2**63, 10**30, 1.5, float("nan"), "", "x"]

    def value(depth: int) -> Any:
        kind = rng.randrange(4 if depth < 3 else 1)
        if kind == 0:
            return rng.choice([*scalars, rng.choice(FRAGMENTS)])
        if kind == 1:
            return [value(depth + 1) for _ in range(rng.randint(0, 3))]
        keys = ["update_id", "message", "text", "chat", "", "ok", rng.choice(FRAGMENTS)]
        return {rng.choice(keys): value(depth + 1) for _ in range(rng.randint(0, 3))}

    pool = [value(0) for _ in range(size)]
    pool += [{"update_id": bad, "message": {}} for bad in ("1", 1.0, True, None, [1], {"id": 1})]
    return pool


JSON_BODIES = st.one_of(st.sampled_from(_json_pool()), json_values(4))


# -- the calls ---------------------------------------------------------------------------


def _secrets() -> list[bytes | None]:
    """Mostly the right secret; else missing, near misses, and bytes that are not UTF-8."""
    rng = random.Random(6)
    near = [f" {SECRET}\t", "", SECRET[:-1], SECRET + "x", SECRET.upper(), "秘密"]
    secrets: list[bytes | None] = [SECRET.encode()] * 80 + [None]
    secrets += [value.encode() for value in near]
    secrets += [b"\xff" + SECRET.encode(), SECRET.encode() + b"\x80"]
    secrets += [
        bytes(rng.choice(HEADER_BYTES) for _ in range(rng.randint(1, 40))) for _ in range(6)
    ]
    return secrets


SECRETS = st.sampled_from(_secrets())
# (body, written with \u escapes only)
BODY_KINDS = st.sampled_from(
    [
        (what, ascii_only)
        for what in ["update"] * 2 + ["odd"] * 16 + ["broken"] * 10 + ["json"] * 10 + ["huge"] * 2
        for ascii_only in (True, False)
    ]
)


def _has_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, dict):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_surrogate(v) for v in value)
    return False


@st.composite
def webhook_calls(draw: st.DrawFn) -> Case:
    """A POST to the webhook: a secret (right or not), a content type and a body."""
    secret = draw(SECRETS)
    content_type = draw(json_content_types())
    headers: list[tuple[str, bytes]] = []
    if secret is not None:
        headers.append((SECRET_HEADER, secret))
    if content_type is not None:
        headers.append(("Content-Type", content_type))
    what, ascii_only = draw(BODY_KINDS)
    built: Built | None = None
    value: Any = None
    if what == "update":
        built = draw(updates())
        value = built.update
    elif what == "odd":
        value = draw(odd_updates())
    elif what == "json":
        value = draw(JSON_BODIES)
    if what == "broken":
        body = draw(broken_json())
    elif what == "huge":
        body = draw(huge_body())
    else:
        body = json.dumps(value, ensure_ascii=ascii_only, allow_nan=True).encode(
            "utf-8", "surrogatepass"
        )
    request = Request("POST", WEBHOOK_PATH, tuple(headers), body)
    if secret is None or secret.strip(b" \t") != SECRET.encode():
        return Case(f"{what}-wrong-secret", request, frozenset({403}))
    if len(body) > CLIENT_MAX_BYTES:
        return Case(f"{what}-too-big", request, frozenset({413}))
    # JSON is UTF-8 whatever the charset says. A lone surrogate is no text: as a \u escape
    # the bot refuses it, written raw it is bytes that are not UTF-8.
    if what == "broken" or _has_surrogate(value):
        return Case(f"{what}-unreadable", request, frozenset({400}))
    if not isinstance(value, dict) or type(value.get("update_id")) is not int:
        return Case(f"{what}-not-an-update", request, frozenset({400}))
    update_id = value["update_id"]
    if built is None:
        return Case(f"{what}-odd", request, frozenset({200, 400}), update_id)
    return Case("update", request, frozenset({200}), update_id, built.chat_id, built.replies)

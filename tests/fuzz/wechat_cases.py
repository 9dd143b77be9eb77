"""Generated WeChat webhook calls, each with the statuses the bot may answer it with.

The expected status follows the documented order of checks (docs/wechat.md): freshness and
signatures first (403), then the body (400), then the message itself (200). Messages are
signed and encrypted with wechatpy's cipher, as WeChat would.

For speed (see strategies.py) the dull parts of a call (ids, times, layout, which signature
is wrong and how) come from seeded pools in one draw each; the text, the body kind and the
tampering are drawn on their own.
"""

from __future__ import annotations

import base64
import random
import re
import socket
import struct
import time
from dataclasses import dataclass
from urllib.parse import quote, urlencode
from xml.sax.saxutils import escape

from hypothesis import strategies as st
from wechatpy.crypto.base import WeChatCipher

from tests.auxil.fake_wechat import ACCOUNT, AES_KEY, APP_ID, TOKEN, sign
from tests.fuzz.rawhttp import Request
from tests.fuzz.strategies import FRAGMENTS, huge_body, invalid_utf8, odd_text

MAX_BODY_BYTES = 32 * 1024
WINDOW_S = 290
"""Skews inside this are fresh; the bot allows 300 s, the margin absorbs the test's own time."""
STALE_S = 310

# The bot's documented rules for ids (docs/wechat.md), restated as the test's oracle.
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_DIGITS = re.compile(r"[0-9]{1,20}")
# Characters XML 1.0 cannot carry at all: such a body is not well-formed.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ID_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"


@dataclass(frozen=True)
class Message:
    """The inbound message a well-formed call carries, for checking the reply."""

    openid: str
    account: str
    msg_type: str
    event: str
    dedupe_id: str


@dataclass(frozen=True)
class Case:
    """One webhook call and what may come back."""

    kind: str
    request: Request
    expected: frozenset[int]
    message: Message | None = None
    """Set when the call must be accepted (200)."""
    safe: bool = False
    echostr: str | None = None
    """For verification calls: what a 200 must echo."""


# -- the message -------------------------------------------------------------------------

GOOD_IDS = ["oUser0001", "oUser0002", "o_-x", ACCOUNT]
BAD_IDS = ["", "o User", "o/../x", "oUser\n", "ｏUser", "o:1", "o" * 65, "é", "<x>"]
BAD_DIGITS = ["", "-1", "1.5", "１２３", "²", "١٢", "1e9", " 12", "0x1f", "9" * 21, "12a"]
MSG_TYPES = ["text", "text", "text", "text", "voice", "image", "event", "event", "location"]
EVENTS = ["subscribe", "SUBSCRIBE", "unsubscribe", "CLICK", "SCAN", "VIEW", ""]
PROLOGS = ["", '<?xml version="1.0" encoding="UTF-8"?>\n', "\ufeff", "<?pi x?>"]
EXTRAS = ["", "", "<Unknown>1</Unknown>", "<Nested><a>1</a></Nested>", "<!-- c -->"]
TEXT = "\0"
"""Where a shape's drawn text goes (Content, or Recognition for voice)."""


@dataclass(frozen=True)
class Shape:
    """Everything about a message body except its text."""

    fields: tuple[tuple[str, str], ...]
    cdata: bool
    prolog: str
    extra: str


def _id(rng: random.Random, broken: bool) -> str:
    if broken and rng.random() < 0.3:
        return rng.choice(BAD_IDS)
    if rng.random() < 0.2:  # a few users write often: their rate limit answers for them
        return rng.choice(GOOD_IDS)
    return "".join(rng.choices(_ID_CHARS, k=rng.choice([1, 28, 64, rng.randint(1, 64)])))


def _digits(rng: random.Random, broken: bool) -> str:
    if broken and rng.random() < 0.3:
        return rng.choice(BAD_DIGITS)
    size = 10 ** rng.randint(1, 20)
    edge = rng.choice([0, 1, int(time.time()), 10**20 - 1])
    return str(edge if rng.random() < 0.1 else rng.randrange(size))


def _shape(rng: random.Random, broken: bool) -> Shape:
    msg_type = rng.choice(MSG_TYPES)
    if broken and rng.random() < 0.2:
        msg_type = rng.choice(["", "TEXT", "Event", "link", "x y", "\x01"])
    fields = {
        "ToUserName": _id(rng, broken),
        "FromUserName": _id(rng, broken),
        "CreateTime": _digits(rng, broken),
        "MsgType": msg_type,
        "Content": TEXT,
    }
    # Retries need repeats: one message in twenty reuses one of two ids (WeChat's retries).
    roll = rng.random()
    msg_id = rng.choice(["1000001", "1000002"]) if roll < 0.05 else _digits(rng, broken)
    if roll > 0.9:
        msg_id = ""  # events, and some messages, have none: CreateTime stands in
    if msg_id:
        fields["MsgId"] = msg_id
    if msg_type.lower() == "event":
        fields["Event"] = rng.choice(EVENTS)
    elif msg_type.lower() == "voice":
        fields["Recognition"] = fields.pop("Content")
    if broken:
        for name in rng.sample(list(fields), rng.randint(0, 2)):
            del fields[name]  # missing fields
    return Shape(tuple(fields.items()), rng.random() < 0.5, rng.choice(PROLOGS), rng.choice(EXTRAS))


def _shapes(size: int = 3000) -> list[Shape]:
    rng = random.Random(11)
    simplest = Shape(
        (
            ("ToUserName", ACCOUNT),
            ("FromUserName", "oUser0001"),
            ("CreateTime", "1"),
            ("MsgType", "text"),
            ("Content", TEXT),
        ),
        True,
        "",
        "",
    )
    # One in four has broken or missing fields.
    return [simplest] + [_shape(rng, broken=i % 4 == 0) for i in range(size)]


SHAPES = st.sampled_from(_shapes())


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


@st.composite
def message_xml(draw: st.DrawFn) -> tuple[str, Message | None]:
    """A message or event body (well-formed unless its text cannot be XML), and the message
    when the bot must accept it."""
    shape = draw(SHAPES)
    text = draw(odd_text())
    fields = {name: text if value == TEXT else value for name, value in shape.fields}
    body = "".join(
        f"<{name}>{_cdata(value) if shape.cdata else escape(value)}</{name}>"
        for name, value in fields.items()
    )
    xml = f"{shape.prolog}<xml>{body}{shape.extra}</xml>"
    acceptable = (
        not _NOT_XML.search(xml)
        and all(_ID.fullmatch(fields.get(k, "")) for k in ("ToUserName", "FromUserName"))
        and _DIGITS.fullmatch(fields.get("CreateTime", ""))
        and fields.get("MsgType")
        and (not fields.get("MsgId") or _DIGITS.fullmatch(fields["MsgId"]))
    )
    if not acceptable:
        return xml, None
    dedupe = fields.get("MsgId") or f"{fields['FromUserName']}:{fields['CreateTime']}"
    message = Message(
        fields["FromUserName"],
        fields["ToUserName"],
        fields["MsgType"].lower(),
        fields.get("Event", "").lower(),
        dedupe,
    )
    return xml, message


def _hostile_xml() -> st.SearchStrategy[bytes]:
    laughs = '<!ENTITY l0 "lol">' + "".join(
        f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10)
    )
    message = f"<xml><ToUserName>{ACCOUNT}</ToUserName><FromUserName>oUser0001</FromUserName>"
    message += "<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>{}</Content></xml>"
    hostile = [
        '<!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + message.format("&e;"),
        '<!DOCTYPE xml [<!ENTITY e SYSTEM "http://127.0.0.1:1/x">]>' + message.format("&e;"),
        '<!DOCTYPE xml [<!ENTITY % p SYSTEM "http://127.0.0.1:1/p.dtd"> %p;]>'
        + message.format("x"),
        f"<!DOCTYPE xml [{laughs}]>" + message.format("&l9;"),
        '<!DOCTYPE xml [<!ENTITY a "' + "x" * 5000 + '">]>' + message.format("&a;" * 100),
        '<!DOCTYPE xml SYSTEM "http://127.0.0.1:1/x.dtd">' + message.format("x"),
        "<!DOCTYPE xml>" + message.format("x"),
        message.format("&unknown;"),
        message.format("&#0;"),
        message.format("&#xD800;"),
        message.format("<![CDATA[unterminated"),
        message.format("]]>").replace("<xml>", "<xml><![CDATA["),
        message.replace("<xml>", '<xml xmlns="urn:x">').format("x"),
        message.replace("xml>", "root>").format("x"),
        message.format("x") + "<xml/>",
        "<xml>" * 5000 + "</xml>" * 5000,
        *(
            f'<?xml version="1.0" encoding="{enc}"?>' + message.format("é")
            for enc in ("x-unknown", "utf-16", "GBK", "UTF-32")
        ),
    ]
    whole = message.format("").encode()
    truncated = st.integers(0, len(whole) - 1).map(lambda cut: whole[:cut])
    not_utf8 = invalid_utf8().map(lambda raw: whole.replace(b"</Content>", raw + b"</Content>"))
    return st.one_of(
        st.sampled_from(hostile).map(str.encode), truncated, not_utf8, st.binary(max_size=60)
    )


HOSTILE_XML = _hostile_xml()
"""DTDs, entities (XXE, billion laughs), broken and non-UTF-8 XML: all must be refused."""


# -- the query ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    """The query of a call, and which of the bot's checks it passes."""

    params: dict[str, str]
    fresh: bool
    """The timestamp and nonce are well-formed and the timestamp is within the window."""
    signed: bool
    """`signature` is absent or right (safe mode may leave it out; plaintext mode may not)."""

    @property
    def has_signature(self) -> bool:
        """Whether the query carries a `signature` at all."""
        return "signature" in self.params


@dataclass(frozen=True)
class QueryPlan:
    """How to make a query at send time (timestamps are relative to the clock then)."""

    skew_s: int | None
    """Seconds from now; None: `timestamp` is the malformed value below."""
    timestamp: str
    nonce: str
    signature: str
    """right, upper, missing, or a fixed wrong value ("token" is the wrong token's)."""


MALFORMED = [
    ("", "1234567890"),
    ("abc", "1234567890"),
    ("１２３", "1234567890"),
    ("-1", "1234567890"),
    ("9" * 21, "1234567890"),
    ("now", ""),
    ("now", "x" * 65),
    ("now", "nonce with spaces"),
    ("now", "随机"),
]


def _plans(size: int = 2000) -> list[QueryPlan]:
    rng = random.Random(5)
    wrong = ["token", "", "签名", "0" * 40, "f" * 41, " cut", "missing", "upper"]
    plans = [QueryPlan(0, "", "1234567890", "right")]
    for i in range(size):
        nonce = rng.choice(["1234567890", "n", "x" * 64, "".join(rng.choices(_ID_CHARS, k=9))])
        signature = "right" if rng.random() < 0.7 else rng.choice(wrong)
        if i % 10 == 0:  # stale or from the future
            skew = rng.choice([-1, 1]) * rng.choice([STALE_S, 400, 86_400, 10**9])
            plans.append(QueryPlan(skew, "", nonce, signature))
        elif i % 10 == 1:
            timestamp, bad_nonce = rng.choice(MALFORMED)
            plans.append(QueryPlan(None, timestamp, bad_nonce, signature))
        else:
            plans.append(QueryPlan(rng.randint(-WINDOW_S, WINDOW_S), "", nonce, signature))
    return plans


PLANS = st.sampled_from(_plans())


def make_query(plan: QueryPlan) -> Query:
    """The query `plan` describes, timed from now."""
    now = int(time.time())
    if plan.skew_s is None:
        timestamp = str(now) if plan.timestamp == "now" else plan.timestamp
    else:
        timestamp = str(max(0, now + plan.skew_s))
    fresh = plan.skew_s is not None and abs(plan.skew_s) <= WINDOW_S
    right = sign(TOKEN, timestamp, plan.nonce)
    given = {
        "right": right,
        "upper": right.upper(),  # the bot compares hex digests case-insensitively
        "token": sign("other-token", timestamp, plan.nonce),
        " cut": right[:-1],
        "missing": None,
    }.get(plan.signature, plan.signature)
    params = {"timestamp": timestamp, "nonce": plan.nonce}
    if given is not None:
        params["signature"] = given
    return Query(params, fresh, given is None or given.lower() == right)


def target(params: dict[str, str]) -> str:
    """`/wechat` with `params` percent-encoded."""
    return "/wechat?" + urlencode(params, quote_via=quote, safe="")


# -- the calls ---------------------------------------------------------------------------

# (body, encrypt_type, Content-Type): mostly messages, in any of the plaintext spellings.
PLAIN_SHAPES = st.sampled_from(
    [
        (body, encrypt_type, content_type)
        for body in ["message"] * 8 + ["hostile", "hostile", "huge"]
        for encrypt_type in (None, None, "raw", "RAW", "none")
        for content_type in ((), (("Content-Type", b"text/xml"),))
    ]
)


@st.composite
def plaintext_calls(draw: st.DrawFn) -> Case:
    """A plaintext-mode POST: a signed query and a message, hostile XML or a huge body."""
    query = make_query(draw(PLANS))
    what, encrypt_type, headers = draw(PLAIN_SHAPES)
    message: Message | None = None
    if what == "message":
        xml, message = draw(message_xml())
        body = xml.encode("utf-8", "surrogatepass")
    elif what == "hostile":
        body = draw(HOSTILE_XML)
    else:
        body = draw(huge_body())
    # Big bodies also come without a Content-Length, which the bot cannot check up front.
    chunked = len(body) > MAX_BODY_BYTES and len(body) % 2 == 0
    if encrypt_type:
        query.params["encrypt_type"] = encrypt_type
    request = Request("POST", target(query.params), headers, body, chunked)
    if not (query.fresh and query.has_signature and query.signed):
        return Case(f"plaintext-unsigned-{what}", request, frozenset({403}))
    if message is None or len(body) > MAX_BODY_BYTES:
        return Case(f"plaintext-refused-{what}", request, frozenset({400}))
    return Case("plaintext-message", request, frozenset({200}), message)


RANDOM_PREFIX = b"0123456789abcdef"
"""WeChat starts the plaintext with 16 random bytes the bot ignores; fixed, for replays."""
OTHER_AES_KEY = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut"


def seal(xml: bytes, *, app_id: str = APP_ID, key: str = AES_KEY, pad: int | None = None) -> str:
    """The `<Encrypt>` of `xml`, as WeChat makes it; `pad` forces a (wrong) padding byte."""
    raw = RANDOM_PREFIX + struct.pack(b"I", socket.htonl(len(xml))) + xml + app_id.encode()
    count = 32 - len(raw) % 32
    raw += bytes([pad if pad is not None else count]) * count
    aes_key = base64.b64decode(key + "=")
    return base64.b64encode(WeChatCipher(aes_key).encrypt(raw)).decode()


# (tampering, msg_signature, encrypt_type) for safe mode: mostly right.
SAFE_PLANS = st.sampled_from(
    [
        (how, msg_signature, encrypt_type)
        for how in ["right"] * 8
        + ["hostile", "app_id", "key", "padding", "base64", "garbage", "empty", "none"]
        for msg_signature in ("right", "right", "right", "", "f" * 40)
        for encrypt_type in ("aes", "AES")
    ]
)
OTHER_APP_IDS = ["wxother", "", APP_ID + "x", APP_ID.upper()]
GARBAGE = st.one_of(st.sampled_from(["====", "a", "中文", "]]>"]), st.text(max_size=60))


def _encrypt(draw: st.DrawFn, how: str, inner: bytes) -> str:
    if how in ("right", "hostile"):
        return seal(inner)
    if how == "app_id":
        return seal(inner, app_id=OTHER_APP_IDS[len(inner) % len(OTHER_APP_IDS)])
    if how == "key":
        return seal(inner, key=OTHER_AES_KEY)
    if how == "padding":
        return seal(inner, pad=(0, 33, 200, 255)[len(inner) % 4])
    if how == "base64":
        return base64.b64encode(inner[: len(inner) // 2]).decode()  # not a whole AES block
    if how == "garbage":
        return draw(GARBAGE)
    return ""


@st.composite
def safe_calls(draw: st.DrawFn) -> Case:
    """A safe-mode (AES) POST: right or tampered ciphertext, app id, padding and signatures."""
    query = make_query(draw(PLANS))
    timestamp, nonce = query.params["timestamp"], query.params["nonce"]
    how, msg_signature, encrypt_type = draw(SAFE_PLANS)
    message: Message | None = None
    if how == "hostile":
        inner = draw(HOSTILE_XML)
    else:
        xml, message = draw(message_xml())
        inner = xml.encode("utf-8", "surrogatepass")
    encrypt = _encrypt(draw, how, inner)
    envelope = f"<xml><ToUserName>{_cdata(ACCOUNT)}</ToUserName>"
    if how != "none":
        envelope += f"<Encrypt>{_cdata(encrypt)}</Encrypt>"
    envelope += "</xml>"
    # The bot signs what it parsed, and XML reads every line break as "\n".
    parsed = encrypt.replace("\r\n", "\n").replace("\r", "\n")
    right_msg_signature = sign(TOKEN, timestamp, nonce, parsed)
    msg_signature = msg_signature.replace("right", right_msg_signature)
    params = {**query.params, "encrypt_type": encrypt_type}
    if msg_signature:
        params["msg_signature"] = msg_signature
    body = envelope.encode("utf-8", "surrogatepass")
    request = Request("POST", target(params), (), body)
    # The bot's checks, in order: freshness, the query signature, the envelope, msg_signature,
    # decryption (app id included), the inner message.
    if not (query.fresh and query.signed):
        expected, kind = 403, "unsigned"
    elif _NOT_XML.search(envelope) or not parsed or len(body) > MAX_BODY_BYTES:
        expected, kind = 400, "envelope"
    elif msg_signature != right_msg_signature:
        expected, kind = 403, "bad-msg-signature"
    elif how not in ("right", "hostile") or message is None:
        expected, kind = 400, "refused"
    else:
        return Case("safe-message", request, frozenset({200}), message, safe=True)
    return Case(f"safe-{kind}-{how}", request, frozenset({expected}), safe=True)


ECHOSTRS = st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=40))


@st.composite
def verification_calls(draw: st.DrawFn) -> Case:
    """A GET of WeChat's server-URL check, signed or not, with any `echostr`."""
    query = make_query(draw(PLANS))
    echostr = draw(ECHOSTRS)
    request = Request("GET", target({**query.params, "echostr": echostr}))
    if query.fresh and query.has_signature and query.signed:
        return Case("verify-signed", request, frozenset({200}), echostr=echostr)
    return Case("verify-unsigned", request, frozenset({403}))

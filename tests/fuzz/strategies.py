"""Hypothesis strategies shared by the entry points: odd text, odd bytes, odd JSON, odd headers.

Every example is a real HTTP round trip, and ten thousand of them per entry point must fit in
well under a minute, so each strategy is built once (cached) and leans on `sampled_from` over
prepared pools (one cheap choice) beside free-form `text()` and `binary()` draws.
"""

from __future__ import annotations

import functools
import json
import random
from typing import Any

from hypothesis import strategies as st

CLIENT_MAX_BYTES = 64 * 1024
"""The app's `client_max_size`: bigger bodies get 413 (or WeChat's own 400)."""

# What users actually write: Simplified, Traditional, Latin, and the mixes between them.
FRAGMENTS = (
    "嘉定区有哪些人才政策？",
    "嘉定區有哪些人才政策？",
    "南湖区的园区补贴",
    "南湖區的園區補貼",
    "How do I register a company in Jiading?",
    "Wie viel kostet das? Ça coûte combien ?",
    "我想 apply 一个 business licence 营业执照",
    "人才",
    "资金",
    "/ask_park",
    "/request_human",
    "/restart",
    "删除我的数据",
    "刪除我的數據",
    "@bizbot_test_bot",
    "🏭📈🇨🇳👩‍💻",
    "ＦＵＬＬＷＩＤＴＨ　１２３",
    "\u200b\u200e\u202e reversed",
    "<b>bold</b> &amp; <![CDATA[x]]>",
    "]]>",
    "' OR 1=1 --",
    "{{7*7}} ${7*7} %s %n",
    "../../etc/passwd",
)
INVALID_UTF8 = (
    b"\xff",
    b"\xfe\xff",
    b"\xc3",  # a lead byte with nothing after it
    b"\xc0\xaf",  # an overlong "/"
    b"\xed\xa0\x80",  # an encoded surrogate
    b"\xf8\x88\x80\x80\x80",  # a five-byte form
    b"\x80",
)
# Bytes llhttp accepts in a header value: tab, visible ASCII, space and obs-text (0x80-0xFF,
# rarely valid UTF-8). Anything else is refused by the HTTP parser before the app sees it.
HEADER_BYTES = bytes([0x09, *range(0x20, 0x7F), *range(0x80, 0x100)])


def _text_pool(size: int = 400) -> list[str]:
    """Prepared odd texts: blanks, mixes, control characters, emoji, long ones (seeded)."""
    rng = random.Random(9)
    blanks = " \t\n\r\u3000\u00a0\u200b"
    pool = ["", " ", "\n", "\u3000", *FRAGMENTS]
    for _ in range(size):
        kind = rng.randrange(5)
        if kind == 0:
            pool.append("".join(rng.choice(blanks) for _ in range(rng.randint(1, 8))))
        elif kind == 1:
            parts = rng.choices(FRAGMENTS, k=rng.randint(2, 5))
            pool.append(rng.choice(["", " ", "\n", "，"]).join(parts))
        elif kind == 2:
            pool.append("".join(chr(rng.randrange(0xA0)) for _ in range(rng.randint(1, 20))))
        elif kind == 3:
            pool.append("".join(chr(rng.randrange(0x1F300, 0x1FAFF)) for _ in range(9)))
        else:
            unit = rng.choice([*FRAGMENTS, "长", "a", "😀", "x\n"])
            chars = rng.choice([1999, 2000, 2001, rng.randint(1000, 12_000)])
            pool.append((unit * (chars // len(unit) + 1))[:chars])
    return pool


@functools.cache
def text_pool() -> tuple[str, ...]:
    """The prepared odd texts (built once)."""
    return tuple(_text_pool())


@functools.cache
def odd_text() -> st.SearchStrategy[str]:
    """Empty, blank, very long, control characters, emoji, mixed scripts, anything Unicode
    (no lone surrogates; see `lone_surrogates`)."""
    return st.one_of(
        st.sampled_from(text_pool()),
        st.sampled_from(text_pool()),
        st.text(max_size=40),
        st.text(st.characters(max_codepoint=0x9F), max_size=20),  # control characters
    )


@functools.cache
def lone_surrogates() -> st.SearchStrategy[str]:
    """Text with an unpaired UTF-16 surrogate, which JSON can carry (`"\\ud800"`)."""
    return st.builds(
        lambda before, code, after: before + chr(code) + after,
        st.sampled_from(["", "你好", "a"]),
        st.integers(0xD800, 0xDFFF),
        st.sampled_from(["", "吗", "z"]),
    )


@functools.cache
def invalid_utf8() -> st.SearchStrategy[bytes]:
    """UTF-8 text that ends in a byte sequence that is not UTF-8."""
    return st.builds(
        lambda before, junk: before.encode() + junk,
        st.sampled_from(["", *FRAGMENTS]),
        st.sampled_from(INVALID_UTF8),
    )


@functools.cache
def json_values(max_leaves: int = 10) -> st.SearchStrategy[Any]:
    """Any JSON value, with odd strings and numbers (huge, NaN) among the leaves."""
    leaves = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.sampled_from([2**63, -(2**64), 10**30, 1.5, -0.0, float("nan"), float("inf")]),
        st.text(max_size=20),
        st.sampled_from(FRAGMENTS),
    )
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(st.text(max_size=10), children, max_size=4),
        ),
        max_leaves=max_leaves,
    )


def dump(value: Any) -> bytes:
    """`value` as JSON bytes (NaN and Infinity as Python writes them; a lone surrogate
    becomes bytes that are not UTF-8)."""
    return json.dumps(value, ensure_ascii=False, allow_nan=True).encode("utf-8", "surrogatepass")


@functools.cache
def broken_json() -> st.SearchStrategy[bytes]:
    """Bodies that are not JSON, or JSON no parser should have to follow."""
    return st.one_of(
        st.binary(max_size=40),
        st.sampled_from([b"", b"{", b"{}}", b"nul", b"'x'", b'{"a":1,}', b"\xef\xbb\xbf{}"]),
        invalid_utf8().map(lambda raw: b'{"text": "' + raw + b'"}'),
        # Nested beyond the recursion limit, balanced or not.
        st.builds(
            lambda depth, pair, balanced: pair[0] * depth + (pair[1] * depth if balanced else b""),
            st.sampled_from([900, 1100, 5000, 30_000]),
            st.sampled_from([(b"[", b"]"), (b'{"a":', b"}")]),
            st.booleans(),
        ),
        # An integer longer than Python converts by default (4300 digits).
        st.sampled_from([4301, 20_000]).map(lambda n: b'{"update_id": ' + b"9" * n + b"}"),
    )


@functools.cache
def huge_body() -> st.SearchStrategy[bytes]:
    """A body over the app's 64 KiB limit."""
    return st.builds(
        lambda size, unit: (unit * (size // len(unit) + 1))[:size],
        st.integers(CLIENT_MAX_BYTES + 1, 4 * CLIENT_MAX_BYTES),
        st.sampled_from([b" ", b"a", "长".encode(), b'{"a": 1}, ']),
    )


JSON_CONTENT_TYPES = (
    b"application/json",
    b"application/json",
    b"application/json; charset=utf-8",
    b"application/json; charset=UTF-8",
    b"application/json; charset=latin-1",
    b"application/json; charset=utf-16",
    b"application/json; charset=bogus",
    b"application/json; charset=rot13",
    b"application/json; charset=zlib",
    b"application/json; charset=undefined",
    b"application/json; charset=",
    b'application/json; charset="utf-8"',
    b"text/plain",
    b"multipart/form-data; boundary=x",
    b"application/x-www-form-urlencoded",
    b"\xff\xfe",
)
"""Content-Types for a JSON body: right, or with a charset no one can read, or another type."""


@functools.cache
def json_content_types() -> st.SearchStrategy[bytes | None]:
    """A Content-Type for a JSON body (see `JSON_CONTENT_TYPES`), or None for none at all."""
    return st.sampled_from([None, *JSON_CONTENT_TYPES])


@functools.cache
def header_values(max_size: int = 80) -> st.SearchStrategy[bytes]:
    """Header value bytes as they can arrive: often not UTF-8."""
    return st.binary(max_size=max_size).map(
        lambda raw: bytes(HEADER_BYTES[b % len(HEADER_BYTES)] for b in raw)
    )

"""What every fuzzed response must satisfy: a known status, a bounded time, no Python leaking."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable

from tests.fuzz.rawhttp import Request, Response

MAX_RESPONSE_S = 5.0
"""A rejected or answered request takes well under this; WeChat's passive-reply budget, the
longest legitimate wait, is under 5 s."""

# A traceback, or the name of a Python exception class ("KeyError", "UnicodeDecodeError").
_PYTHON = re.compile(r"Traceback|File \"[^\"]*\", line|\b[A-Z][A-Za-z]*(?:Error|Exception)\b")
_CODE = re.compile(r"[a-z][a-z_]*")


def assert_no_python(text: str, echoed: Iterable[str] = ()) -> None:
    """`text` shows no traceback or exception name, once what the user sent is taken out."""
    for part in sorted(echoed, key=len, reverse=True):
        if part:
            text = text.replace(part, "")
    found = _PYTHON.search(text)
    assert found is None, f"Python internals in a response: {found.group(0)!r} in {text[:300]!r}"


def assert_json_error(response: Response, echoed: Iterable[str] = ()) -> str:
    """The app's error shape, `{"error": {"code", "message"}}`; returns the code."""
    assert response.content_type == "application/json", response
    body = response.json()
    assert isinstance(body, dict), body
    assert set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error, dict), body
    assert set(error) == {"code", "message"}, body
    code, message = error["code"], error["message"]
    assert isinstance(code, str), body
    assert _CODE.fullmatch(code), body
    assert isinstance(message, str), body
    assert message, body
    assert_no_python(message, echoed)
    return code


def assert_handled(
    request: Request,
    response: Response,
    expected: Collection[int],
    *,
    echoed: Iterable[str] = (),
    max_s: float = MAX_RESPONSE_S,
) -> None:
    """A status from `expected` (never a 5xx), in time; errors in the app's JSON shape."""
    assert response.status < 500, f"{response!r} for {request!r}"
    assert response.status in expected, f"{response!r} not in {sorted(expected)} for {request!r}"
    assert response.elapsed_s < max_s, f"{response.elapsed_s:.2f} s for {request!r}"
    assert b"Traceback" not in response.body, f"{response!r} for {request!r}"
    if response.status >= 400:
        assert_json_error(response, echoed)

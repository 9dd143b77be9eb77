"""HTTP error responses: every error is JSON with a stable code and a readable message."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_response(data: object, status: int = 200) -> web.Response:
    """A JSON response with Chinese text as it is, not as `\\u` escapes."""
    return web.json_response(data, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False))


def error_response(status: int, code: str, message: str) -> web.Response:
    """A JSON error body: `{"error": {"code": ..., "message": ...}}`."""
    return json_response({"error": {"code": code, "message": message}}, status)


async def read_json(request: web.Request) -> object | web.Response:
    """The request's JSON body, or the 400 response that says it is not JSON.

    JSON is UTF-8 (RFC 8259) whatever charset the request names: a charset Python cannot
    decode with must not turn a bad request into a 5xx. Also refused: nesting deeper than
    the parser follows, integers longer than Python converts, and strings with an unpaired
    surrogate (`"\\ud800"`), which JSON can write but no store or channel can carry.
    """
    try:
        body: object = json.loads((await request.read()).decode("utf-8"))
        json.dumps(body, ensure_ascii=False).encode("utf-8")  # raises on unpaired surrogates
    # ValueError covers JSONDecodeError and UnicodeError.
    except (ValueError, RecursionError):
        return error_response(400, "invalid_json", "The request body must be valid JSON (UTF-8).")
    return body


async def read_json_object(request: web.Request) -> dict[str, Any] | web.Response:
    """The request's JSON object body, or the 400 response that says what is wrong with it."""
    body = await read_json(request)
    if isinstance(body, web.Response):
        return body
    if not isinstance(body, dict):
        return error_response(400, "invalid_body", "The request body must be a JSON object.")
    return body


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn HTTP errors into JSON and unexpected exceptions into a polite 503, never a trace."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == "application/json":
            raise
        return error_response(exc.status, exc.reason.lower().replace(" ", "_"), exc.reason)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(
            503, "temporarily_unavailable", "The service had a problem; please try again shortly."
        )

"""HTTP error responses: every error is JSON with a stable code and a readable message."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error_response(status: int, code: str, message: str) -> web.Response:
    """A JSON error body: `{"error": {"code": ..., "message": ...}}`."""
    return web.json_response(
        {"error": {"code": code, "message": message}},
        status=status,
        dumps=lambda o: json.dumps(o, ensure_ascii=False),
    )


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

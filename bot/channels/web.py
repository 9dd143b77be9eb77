"""Web chat: the page at `/`, sessions, the `POST /api/chat` contract and the pushed messages.

`POST /api/chat/session` picks the sender id and a token; `/api/chat` needs the token as
`Authorization: Bearer`, `/api/chat/events` as `?token=` (EventSource cannot set headers).
`bizbot serve` runs without an access log, so the token in that query is never logged.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import math
from importlib import resources
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from bot import sse
from bot.channels.contract import SENDER_MAX, SESSION_PATH, ChatRequest, turn_to_json
from bot.errors import error_response, json_response, read_json_object
from bot.keys import CHAT, REDIS, SETTINGS, WEB_INBOX, WEB_SESSION_LIMITER, WEB_SESSIONS
from bot.state.conversations import ConversationId
from bot.state.redis import StateError

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
STATIC = resources.files("bot.channels") / "static"
SESSION_LIMIT_CHANNEL = "web-session"


def _unavailable() -> web.Response:
    return error_response(503, "temporarily_unavailable", "Please try again shortly.")


def _unauthorized(message: str) -> web.Response:
    response = error_response(401, "unauthorized", message)
    response.headers["WWW-Authenticate"] = 'Bearer realm="bizbot web chat"'
    return response


def _client_address(request: web.Request) -> str:
    """Whose bucket a new session counts against: the TCP peer, or, behind a trusted proxy,
    the last `X-Forwarded-For` address (the proxy appends the peer it saw; what a client
    writes in the header itself comes before it)."""
    if request.app[SETTINGS].trust_x_forwarded_for:
        forwarded = ",".join(request.headers.getall("X-Forwarded-For", []))
        with contextlib.suppress(ValueError):
            return str(ipaddress.ip_address(forwarded.rsplit(",", 1)[-1].strip()))
    return request.remote or "unknown"


def _bearer(request: web.Request) -> str | None:
    """The bearer token of the request, or None when there is none."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def _encodable(value: str) -> bool:
    """False when the value holds a lone surrogate (a query can carry one; UTF-8 cannot)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@routes.get("/")
async def index(_: web.Request) -> web.Response:
    """Serve the web chat page."""
    return web.Response(
        text=(STATIC / "index.html").read_text("utf-8"), content_type="text/html", charset="utf-8"
    )


@routes.post(SESSION_PATH)
async def new_session(request: web.Request) -> web.Response:
    """Open a session: `201 {"sender", "token"}`; a token bucket per client address."""
    settings = request.app[SETTINGS]
    try:
        allowed = await request.app[WEB_SESSION_LIMITER].allow(
            SESSION_LIMIT_CHANNEL, _client_address(request)
        )
        if not allowed:
            response = error_response(
                429, "too_many_sessions", "Too many new chat sessions; please wait a moment."
            )
            wait_s = math.ceil(60.0 / settings.web_session_rate_per_minute)
            response.headers["Retry-After"] = str(max(1, wait_s))
            return response
        session = await request.app[WEB_SESSIONS].create()
    except StateError as exc:
        log.warning("could not open a web chat session: %s", exc)
        return _unavailable()
    return json_response({"sender": session.sender, "token": session.token}, 201)


@routes.post("/api/chat")
async def chat(request: web.Request) -> web.Response:
    """Answer one message: `{"sender", "text"}` and the session's bearer token in."""
    settings = request.app[SETTINGS]
    token = _bearer(request)
    if token is None:
        return _unauthorized("Send the session token as `Authorization: Bearer <token>`.")
    body = await read_json_object(request)
    if isinstance(body, web.Response):
        return body
    try:
        req = ChatRequest.model_validate(body)
    except ValidationError as exc:
        fields = ", ".join(sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]}))
        return error_response(
            422, "invalid_fields", f"Missing or invalid field(s): {fields or 'body'}."
        )
    try:
        authorized = await request.app[WEB_SESSIONS].verify(req.sender, token)
    except StateError as exc:
        log.warning("could not check a web chat session: %s", exc)
        return _unavailable()
    if not authorized:
        return _unauthorized("The session is unknown or expired; open a new one.")
    if not req.text:
        return error_response(422, "empty_text", "The text must not be empty.")
    if len(req.text) > settings.max_text_chars:
        return error_response(
            413, "text_too_long", f"The text must be at most {settings.max_text_chars} characters."
        )
    turn = await request.app[CHAT].handle(ConversationId("web", req.sender), req.text)
    return json_response(turn_to_json(turn))


@routes.get("/api/chat/events")
async def events(request: web.Request) -> web.StreamResponse:
    """Messages pushed to a web user (agent replies, desk notices) as Server-Sent Events."""
    token = request.query.get("token", "").strip()
    if not token:
        return _unauthorized("Send the session token as the `token` query parameter.")
    sender = request.query.get("sender", "").strip()
    if not sender or len(sender) > SENDER_MAX or not _encodable(sender):
        return error_response(422, "invalid_fields", "Missing or invalid field(s): sender.")
    try:
        authorized = await request.app[WEB_SESSIONS].verify(sender, token)
    except StateError as exc:
        log.warning("could not check a web chat session: %s", exc)
        return _unavailable()
    if not authorized:
        return _unauthorized("The session is unknown or expired; open a new one.")

    def render(_: str, fields: dict[str, str]) -> tuple[str, dict[str, Any]] | None:
        return "message", {"replies": [{"text": fields.get("text", ""), "buttons": []}]}

    stream = request.app[WEB_INBOX].stream(sender)
    return await sse.subscribe(request, request.app[REDIS], stream, render)

"""Desk authentication: token login, session cookies, bearer tokens and CSRF checks.

The console logs in with the agent's token and then uses an HttpOnly, SameSite=Strict session
cookie (Secure over HTTPS); every state-changing cookie request must carry the session's
CSRF token in `X-CSRF-Token`. Other tools send `Authorization: Bearer <token>` instead:
no ambient credential, so no CSRF token is needed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.desk.agents import Agent
from bot.errors import error_response, read_json
from bot.keys import AGENTS, LOGIN_LIMITER, SESSIONS, SETTINGS
from bot.state.redis import StateError

log = logging.getLogger(__name__)

ACTOR = web.RequestKey("desk_actor", Agent)
CSRF = web.RequestKey("desk_csrf", str)
COOKIE = "bizbot_desk"
CSRF_HEADER = "X-CSRF-Token"
API_PREFIX = "/desk/api/"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_TOKEN_CHARS = 256

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
routes = web.RouteTableDef()


def _unauthorized(message: str = "Log in with your agent token.") -> web.Response:
    response = error_response(401, "unauthorized", message)
    response.headers["WWW-Authenticate"] = 'Bearer realm="bizbot desk"'
    return response


def _secure(request: web.Request) -> bool:
    setting = request.app[SETTINGS].desk_cookie_secure
    return request.secure if setting is None else setting


@web.middleware
async def desk_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every `/desk/api/` request needs an agent; cookie sessions also need CSRF on writes."""
    if not request.path.startswith(API_PREFIX):
        return await handler(request)
    agents = request.app[AGENTS]
    authorization = request.headers.get("Authorization", "")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        agent = (
            agents.authenticate(token.strip())
            if scheme.lower() == "bearer" and len(token) <= MAX_TOKEN_CHARS
            else None
        )
        if agent is None:
            return _unauthorized("The bearer token is not a desk agent's token.")
        request[ACTOR] = agent
        return await handler(request)
    session_id = request.cookies.get(COOKIE, "")
    try:
        session = await request.app[SESSIONS].get(session_id) if session_id else None
    except StateError:
        return error_response(503, "temporarily_unavailable", "Please try again shortly.")
    # A rotated or removed token ends the agent's sessions: the fingerprint no longer matches.
    agent = agents.by_fingerprint(session.agent, session.fingerprint) if session else None
    if session is None or agent is None:
        return _unauthorized()
    if request.method not in SAFE_METHODS and not session.csrf_matches(
        request.headers.get(CSRF_HEADER, "")
    ):
        return error_response(403, "csrf_failed", f"Missing or wrong {CSRF_HEADER} header.")
    request[ACTOR] = agent
    request[CSRF] = session.csrf
    return await handler(request)


@routes.post("/desk/login")
async def login(request: web.Request) -> web.Response:
    """Exchange an agent token (`{"token": ...}`) for a session cookie."""
    peer = request.remote or "unknown"
    try:
        allowed = await request.app[LOGIN_LIMITER].allow("desk-login", peer)
    except StateError:
        allowed = True  # failing closed would lock every agent out during a Redis blip
    if not allowed:
        return error_response(429, "too_many_attempts", "Too many login attempts; wait a minute.")
    body = await read_json(request)
    if isinstance(body, web.Response):
        return body
    token = body.get("token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
        return error_response(422, "invalid_fields", "Missing or invalid field(s): token.")
    agents = request.app[AGENTS]
    agent = agents.authenticate(token.strip())
    if agent is None:
        log.info("desk login refused from %s", peer)
        return _unauthorized("That token does not belong to a desk agent.")
    fingerprint = agents.fingerprint(agent.name) or ""
    try:
        session = await request.app[SESSIONS].create(agent.name, fingerprint)
    except StateError:
        return error_response(503, "temporarily_unavailable", "Please try again shortly.")
    response = web.json_response(
        {"agent": agent.name, "admin": agent.admin, "csrf_token": session.csrf}
    )
    response.set_cookie(
        COOKIE,
        session.id,
        httponly=True,
        samesite="Strict",
        secure=_secure(request),
        path="/desk",
        max_age=request.app[SESSIONS].ttl_s,
    )
    log.info("desk login: %s", agent.name)
    return response


@routes.post("/desk/logout")
async def logout(request: web.Request) -> web.Response:
    """End the session (needs the CSRF token, like every other write)."""
    session_id = request.cookies.get(COOKIE, "")
    try:
        session = await request.app[SESSIONS].get(session_id) if session_id else None
        if session is not None:
            if not session.csrf_matches(request.headers.get(CSRF_HEADER, "")):
                return error_response(403, "csrf_failed", f"Missing or wrong {CSRF_HEADER} header.")
            await request.app[SESSIONS].delete(session.id)
    except StateError:
        return error_response(503, "temporarily_unavailable", "Please try again shortly.")
    response = web.json_response({"ok": True})
    response.del_cookie(COOKIE, path="/desk")
    return response

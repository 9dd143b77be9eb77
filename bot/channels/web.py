"""Web chat: the page at `/`, the `POST /api/chat` contract and the pushed-message stream."""

from __future__ import annotations

from importlib import resources
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from bot import sse
from bot.channels.contract import SENDER_MAX, ChatRequest, turn_to_json
from bot.errors import error_response, json_response, read_json_object
from bot.keys import CHAT, REDIS, SETTINGS, WEB_INBOX
from bot.state.conversations import ConversationId

routes = web.RouteTableDef()
STATIC = resources.files("bot.channels") / "static"


@routes.get("/")
async def index(_: web.Request) -> web.Response:
    """Serve the web chat page."""
    return web.Response(
        text=(STATIC / "index.html").read_text("utf-8"), content_type="text/html", charset="utf-8"
    )


@routes.post("/api/chat")
async def chat(request: web.Request) -> web.Response:
    """Answer one message: `{"sender", "text"}` in, the contract's reply out."""
    settings = request.app[SETTINGS]
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
    sender = request.query.get("sender", "").strip()
    if not sender or len(sender) > SENDER_MAX:
        return error_response(422, "invalid_fields", "Missing or invalid field(s): sender.")

    def render(_: str, fields: dict[str, str]) -> tuple[str, dict[str, Any]]:
        return "message", {"replies": [{"text": fields.get("text", ""), "buttons": []}]}

    stream = request.app[WEB_INBOX].stream(sender)
    return await sse.subscribe(request, request.app[REDIS], stream, render)

"""A stand-in bot speaking the `/api/chat` contract, for tests of the runner's HTTP side."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


def answer(
    text: str,
    intent: str,
    *,
    confidence: float = 0.95,
    entities: dict[str, str] | None = None,
    sources: list[str] | None = None,
    escalated: bool = False,
) -> dict[str, Any]:
    """A contract response with one reply."""
    return {
        "replies": [{"text": text, "buttons": []}],
        "intent": {"name": intent, "confidence": confidence},
        "entities": entities or {},
        "sources": sources or [],
        "escalated": escalated,
    }


CANNED: dict[str, dict[str, Any]] = {
    "你好": answer("您好！<b>我是小助手</b>", "greet", confidence=0.97),
    "嘉定一共有多少家特色产业园区？": answer(
        "嘉定区共有19家特色产业园区。\n来源：《嘉定特色产业园区》",
        "ask_park",
        entities={"region": "嘉定区"},
        sources=["jiading-featured-parks-2023"],
    ),
    "我要转人工": answer("正在为您转接人工客服。", "request_human", escalated=True),
}


@dataclass
class FakeBot:
    """Answers from `CANNED`; special texts: `500`, `422`, `slow`, `broken`, `forget`.

    Like the bot, it opens sessions (`POST /api/chat/session`, sender `fake-<n>`) and answers
    401 to a message without its sender's token; `forget` ends the sender's session.
    """

    received: list[dict[str, Any]] = field(default_factory=list)
    tokens: dict[str, str] = field(default_factory=dict)
    opened: int = 0
    refused: int = 0
    health_status: int = 200
    health_delay_s: float = 0.0
    delay_s: float = 0.0
    in_flight: int = 0
    max_in_flight: int = 0

    def app(self) -> web.Application:
        """The aiohttp app to serve with `aiohttp_server`."""
        app = web.Application()
        app.router.add_post("/api/chat/session", self._session)
        app.router.add_post("/api/chat", self._chat)
        app.router.add_get("/healthz", self._healthz)
        return app

    async def _healthz(self, _: web.Request) -> web.Response:
        await asyncio.sleep(self.health_delay_s)
        checks: dict[str, Any] = {"redis": {"ok": True}, "action_server": {"ok": True}}
        checks["rasa"] = (
            {"ok": True}
            if self.health_status == 200
            else {"ok": False, "error": "RasaUnavailableError"}
        )
        status = "ok" if self.health_status == 200 else "degraded"
        return web.json_response({"status": status, "checks": checks}, status=self.health_status)

    async def _session(self, _: web.Request) -> web.Response:
        self.opened += 1
        sender, token = f"fake-{self.opened}", secrets.token_urlsafe(8)
        self.tokens[sender] = token
        return web.json_response({"sender": sender, "token": token}, status=201)

    async def _chat(self, request: web.Request) -> web.Response:
        body = await request.json()
        token = self.tokens.get(body["sender"])
        if token is None or request.headers.get("Authorization") != f"Bearer {token}":
            self.refused += 1
            error = {"code": "unauthorized", "message": "The session is unknown or expired."}
            return web.json_response({"error": error}, status=401)
        if body["text"] == "forget":
            del self.tokens[body["sender"]]
        self.received.append(body)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            # `slow` outlasts the short timeouts tests give the client, then answers anyway.
            await asyncio.sleep(self.delay_s + (1.0 if body["text"] == "slow" else 0.0))
            return self._respond(body["text"])
        finally:
            self.in_flight -= 1

    def _respond(self, text: str) -> web.Response:
        if text == "500":
            return web.Response(status=500, text="Internal Server Error")
        if text == "422":
            error = {"code": "empty_text", "message": "text must not be empty"}
            return web.json_response({"error": error}, status=422)
        if text == "broken":
            return web.json_response({"replies": "not a list"})
        data = CANNED.get(text) or answer("抱歉，我没有理解。", "nlu_fallback", confidence=0.3)
        return web.json_response(data)

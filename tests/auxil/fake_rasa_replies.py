"""A stand-in Rasa server with scripted replies per message (the channels' tests use it)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOPICS = [
    {"title": "人才", "payload": "/ask_talent"},
    {"title": "资金", "payload": "/ask_funding"},
    {"title": "园区", "payload": "/ask_park"},
    {"title": "许可", "payload": "/ask_permit"},
]
HUMAN = {"title": "转人工", "payload": "/request_human"}
GREETING = "您好！我是营商环境助手（机器人）。想了解哪方面？"
HELP = "我可以回答嘉定区和嘉兴市南湖区的营商环境问题。"
HANDOFF = "好的，正在为您转接人工客服，请稍候。"

SCRIPT: dict[str, list[dict[str, Any]]] = {
    "/greet": [{"text": GREETING, "buttons": TOPICS}],
    "/help": [{"text": HELP, "buttons": [*TOPICS, HUMAN]}],
    "/request_human": [{"text": HANDOFF}],
    "/restart": [],  # Rasa's action_restart sends nothing
    "/ask_park": [{"text": "请问您想了解产业园区方面的什么问题？"}],
}


@dataclass
class ScriptedRasa:
    """Answers scripted messages from `script` (after `delays`), echoes anything else."""

    script: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: dict(SCRIPT))
    received: list[dict[str, Any]] = field(default_factory=list)
    resets: list[str] = field(default_factory=list)
    delays: dict[str, float] = field(default_factory=dict)

    @property
    def messages(self) -> list[str]:
        """The message texts Rasa received, in order."""
        return [str(body["message"]) for body in self.received]

    def app(self) -> web.Application:
        """The aiohttp app to serve."""
        app = web.Application()
        app.router.add_post("/webhooks/rest/webhook", self._webhook)
        app.router.add_get("/version", self._version)
        app.router.add_put("/conversations/{sender}/tracker/events", self._replace_events)
        return app

    async def _webhook(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.received.append(body)
        message = body["message"]
        if message in self.delays:
            await asyncio.sleep(self.delays[message])
        replies = self.script.get(message)
        if replies is None:
            replies = [{"text": f"echo: {message}", "buttons": TOPICS[:1]}]
        return web.json_response([{"recipient_id": body["sender"], **r} for r in replies])

    async def _version(self, _: web.Request) -> web.Response:
        return web.json_response({"version": "3.6.21"})

    async def _replace_events(self, request: web.Request) -> web.Response:
        self.resets.append(request.match_info["sender"])
        return web.json_response({"sender_id": request.match_info["sender"], "events": []})

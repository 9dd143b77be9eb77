"""A stand-in Rasa server with scripted replies per message (the channels' tests use it)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.auxil.fake_rasa import FakeRasa

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
    "/request_human": [
        {"text": HANDOFF},
        {
            "custom": {
                "bizbot": {
                    "intent": {"name": "request_human", "confidence": 1.0},
                    "escalated": True,
                    "events": ["handoff"],
                }
            }
        },
    ],
    "/restart": [],  # Rasa's action_restart sends nothing
    "/ask_park": [{"text": "请问您想了解产业园区方面的什么问题？"}],
}


@dataclass
class ScriptedRasa(FakeRasa):
    """Answers scripted messages from `script` (after `delays`), echoes anything else.

    Routes, `/version` and tracker resets are FakeRasa's; only the webhook differs.
    """

    script: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: dict(SCRIPT))
    delays: dict[str, float] = field(default_factory=dict)

    @property
    def messages(self) -> list[str]:
        """The message texts Rasa received, in order."""
        return [str(body["message"]) for body in self.received]

    async def _webhook(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.received.append(body)
        message = body["message"]
        if self.status != 200:
            return web.json_response({"status": "failure"}, status=self.status)
        if self.actions_down:
            return web.json_response([])
        if message in self.delays:
            await asyncio.sleep(self.delays[message])
        replies = self.script.get(message)
        if replies is None:
            replies = [{"text": f"echo: {message}", "buttons": TOPICS[:1]}]
        return web.json_response([{"recipient_id": body["sender"], **r} for r in replies])

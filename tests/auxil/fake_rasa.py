"""A stand-in Rasa server speaking the REST channel, for tests of the bot's own HTTP layer."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class FakeRasa:
    """Records what it received and answers like Rasa's REST channel would."""

    received: list[dict[str, Any]] = field(default_factory=list)
    resets: list[str] = field(default_factory=list)
    appended: list[tuple[str, list[dict[str, Any]]]] = field(default_factory=list)
    delay_s: float = 0.0
    status: int = 200
    actions_down: bool = False
    """Answer like Rasa whose action server is down: 200 and no messages."""
    in_flight: int = 0
    most_in_flight: int = 0

    def app(self) -> web.Application:
        """The aiohttp app to serve with `aiohttp_server`."""
        app = web.Application()
        app.router.add_post("/webhooks/rest/webhook", self._webhook)
        app.router.add_get("/version", self._version)
        app.router.add_put("/conversations/{sender}/tracker/events", self._replace_events)
        app.router.add_post("/conversations/{sender}/tracker/events", self._append_events)
        return app

    async def _append_events(self, request: web.Request) -> web.Response:
        events = await request.json()
        self.appended.append((request.match_info["sender"], events))
        return web.json_response({"sender_id": request.match_info["sender"], "events": events})

    @property
    def paused(self) -> dict[str, bool]:
        """Whether each conversation is paused, after the pause/resume events it received."""
        state: dict[str, bool] = {}
        for sender, events in self.appended:
            for event in events:
                if event.get("event") in ("pause", "resume"):
                    state[sender] = event["event"] == "pause"
        return state

    async def _replace_events(self, request: web.Request) -> web.Response:
        assert await request.json() == []
        self.resets.append(request.match_info["sender"])
        return web.json_response({"sender_id": request.match_info["sender"], "events": []})

    async def _version(self, _: web.Request) -> web.Response:
        return web.json_response({"version": "3.6.21"})

    async def _webhook(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.received.append(body)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
        finally:
            self.in_flight -= 1
        if self.status != 200:
            return web.json_response({"status": "failure"}, status=self.status)
        if self.actions_down:
            return web.json_response([])
        sender = body["sender"]
        return web.json_response(
            [
                {
                    "recipient_id": sender,
                    "text": f"echo: {body['message']}",
                    "buttons": [{"title": "人才", "payload": "/ask_talent"}],
                },
                {
                    "recipient_id": sender,
                    "custom": {
                        "bizbot": {
                            "intent": {"name": "greet", "confidence": 0.97},
                            "entities": {"region": "嘉定区"},
                            "sources": ["doc-a"],
                            "escalated": False,
                            "events": ["reply"],
                        }
                    },
                },
            ]
        )

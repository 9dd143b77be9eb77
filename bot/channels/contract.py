"""The `/api/chat` contract shared by every channel and every test."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints

from bot.clients.rasa import Turn

SENDER_MAX = 128
Sender = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=SENDER_MAX)
]


class ChatRequest(BaseModel):
    """`{"sender": str, "text": str}`; text length is checked against settings separately."""

    model_config = ConfigDict(extra="ignore", strict=True)

    sender: Sender
    text: Annotated[str, StringConstraints(strip_whitespace=True)]


def turn_to_json(turn: Turn) -> dict[str, Any]:
    """Render a turn in the contract's response shape."""
    return {
        "replies": [
            {
                "text": r.text,
                "buttons": [{"title": b.title, "payload": b.payload} for b in r.buttons],
            }
            for r in turn.replies
        ],
        "intent": {"name": turn.intent, "confidence": round(turn.confidence, 4)},
        "entities": dict(turn.entities),
        "sources": list(turn.sources),
        "escalated": turn.escalated,
    }

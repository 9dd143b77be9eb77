"""Tracker, dispatcher and domain fixtures for the custom actions (rasa-demo style)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

ROOT = Path(__file__).resolve().parents[2]
TrackerFactory = Callable[..., Tracker]
DEFAULT_SLOTS: dict[str, Any] = {
    "region": None,
    "park": None,
    "industry": None,
    "topic": None,
    "question": None,
    "fallback_count": 0.0,
    "handoff_offered": False,
}


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


@pytest.fixture(scope="session")
def domain() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "rasa_project" / "domain.yml").read_text("utf-8"))
    return data


@pytest.fixture
def tracker() -> TrackerFactory:
    """Build a tracker whose latest message is `text`, classified as `intent`."""

    def make(
        text: str,
        intent: str,
        *,
        entities: dict[str, str] | None = None,
        slots: dict[str, Any] | None = None,
        script: str = "hans",
        confidence: float = 0.95,
    ) -> Tracker:
        annotated = []
        for name, value in (entities or {}).items():
            surface = value.split("=")[0]
            canonical = value.split("=")[-1]
            start = text.index(surface)
            annotated.append(
                {"entity": name, "value": canonical, "start": start, "end": start + len(surface)}
            )
        return Tracker(
            sender_id="test-user",
            slots={**DEFAULT_SLOTS, **(slots or {})},
            latest_message={
                "text": text,
                "intent": {"name": intent, "confidence": confidence},
                "entities": annotated,
                "metadata": {"script": script},
            },
            events=[],
            paused=False,
            followup_action=None,
            active_loop={},
            latest_action_name="action_listen",
        )

    return make


def texts(dispatcher: CollectingDispatcher) -> str:
    """All reply texts joined."""
    return "\n".join(m["text"] for m in dispatcher.messages if m.get("text"))


def meta(dispatcher: CollectingDispatcher) -> dict[str, Any]:
    """The `bizbot` custom payload of the turn."""
    payloads = [m["custom"]["bizbot"] for m in dispatcher.messages if m.get("custom")]
    assert len(payloads) == 1, dispatcher.messages
    found: dict[str, Any] = payloads[0]
    return found


def slots_set(events: list[dict[str, Any]]) -> dict[str, Any]:
    """Slot values the action set."""
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def slots_after(tracker: Tracker, events: list[dict[str, Any]]) -> dict[str, Any]:
    """The slots once Rasa has applied the action's events."""
    return {**tracker.slots, **slots_set(events)}

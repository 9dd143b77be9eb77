"""The custom payload every action attaches, read by the front end (`/api/chat` contract)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rasa_sdk import Tracker

from bot.facts.entities import load_entities
from bot.facts.models import Script

META_KEY = "bizbot"
ENTITY_NAMES = ("region", "park", "industry")


def mentions(tracker: Tracker) -> list[tuple[str, str, str]]:
    """`(entity, canonical value, surface text)` for each entity the catalogue knows.

    DIET can tag spans that are no entity at all ("它一期" as a park); only values that
    resolve to a canonical name of the same kind in bot/facts/data/entities.yml are kept.
    """
    text = tracker.latest_message.get("text") or ""
    table = load_entities()
    found = []
    for entity in tracker.latest_message.get("entities") or ():
        name, value = entity.get("entity"), entity.get("value")
        if name not in ENTITY_NAMES or not isinstance(value, str):
            continue
        known = table.by_name(value)
        if known is None or known.kind != name:
            continue
        start, end = entity.get("start"), entity.get("end")
        surface = text[start:end] if isinstance(start, int) and isinstance(end, int) else value
        found.append((name, known.name, surface))
    return found


def latest_entities(tracker: Tracker) -> dict[str, str]:
    """Canonical entity values of the latest message; the first mention of a kind wins."""
    found: dict[str, str] = {}
    for name, value, _ in mentions(tracker):
        found.setdefault(name, value)
    return found


def intent_of(tracker: Tracker) -> str:
    """The latest message's top intent (`nlu_fallback` included, unlike rasa-sdk's helper)."""
    intent = tracker.latest_message.get("intent") or {}
    return str(intent.get("name") or "")


def script_of(tracker: Tracker) -> Script:
    """`hant` when the front end saw Traditional script, else `hans`."""
    metadata = tracker.latest_message.get("metadata") or {}
    return "hant" if metadata.get("script") == "hant" else "hans"


def meta_payload(
    tracker: Tracker,
    *,
    entities: dict[str, str] | None = None,
    sources: Iterable[str] = (),
    escalated: bool = False,
    events: Iterable[str] = (),
    **extra: Any,
) -> dict[str, Any]:
    """Build `{"bizbot": {...}}` for `dispatcher.utter_message(json_message=...)`."""
    intent = tracker.latest_message.get("intent") or {}
    return {
        META_KEY: {
            "intent": {
                "name": intent.get("name") or "",
                "confidence": float(intent.get("confidence") or 0.0),
            },
            "entities": entities if entities is not None else latest_entities(tracker),
            "sources": list(dict.fromkeys(sources)),
            "escalated": escalated,
            "events": list(events),
            **extra,
        }
    }

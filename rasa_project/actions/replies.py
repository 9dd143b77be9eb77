"""Fixed reply texts (actions/replies.yml), rendered in the user's script."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.meta import script_of
from bot.facts.script import to_traditional

REPLIES_FILE = Path(__file__).with_name("replies.yml")


@cache
def _data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(REPLIES_FILE.read_text("utf-8"))
    return data


def to_script(text: str, script: str) -> str:
    """Render a Simplified text in the user's script."""
    return to_traditional(text) if script == "hant" else text


def topic_name(topic: str) -> str:
    """The Chinese name of a fact-store topic."""
    return str(_data()["topic_names"][topic])


def say(dispatcher: CollectingDispatcher, tracker: Tracker, key: str, **fmt: str) -> None:
    """Send reply `key` with its buttons, in Traditional script if the user wrote so."""
    reply = _data()["replies"][key]
    script = script_of(tracker)
    buttons = _data()["button_sets"].get(reply.get("buttons", ""), [])
    dispatcher.utter_message(
        text=to_script(reply["text"].format(**fmt), script),
        buttons=[
            {"title": to_script(b["title"], script), "payload": b["payload"]} for b in buttons
        ],
    )


def known(key: str) -> bool:
    """Whether `key` names a reply."""
    return key in _data()["replies"]

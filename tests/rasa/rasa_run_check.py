"""Run with Rasa's Python: rasa_run.py's fixes change no prediction and no error.

Loads the trained model the stock way and the fixed way, parses the same messages with
both, and prints one JSON object: how many predictions differ and by how much, and what the
fixed action-response check says about a valid and an invalid response, and whether the
fixed tracker merge gives Rasa's result.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[2] / "rasa_project"
sys.path.insert(0, str(PROJECT))

import rasa_run  # noqa: E402 -- rasa_project is not a package


async def parse_all(model: str, texts: list[str]) -> list[dict[str, Any]]:
    from rasa.core.agent import load_agent

    agent = await load_agent(model_path=model)
    return [await agent.parse_message(text) for text in texts]


def differences(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> dict[str, Any]:
    labels, biggest = 0, 0.0
    for x, y in zip(a, b, strict=True):
        ents_x = [(e["entity"], e["value"]) for e in x["entities"]]
        ents_y = [(e["entity"], e["value"]) for e in y["entities"]]
        labels += x["intent"]["name"] != y["intent"]["name"] or ents_x != ents_y
        for p, q in zip(x["intent_ranking"], y["intent_ranking"], strict=True):
            labels += p["name"] != q["name"]
            biggest = max(biggest, abs(p["confidence"] - q["confidence"]))
    return {"label_differences": labels, "max_confidence_difference": biggest}


def action_response_check() -> dict[str, Any]:
    from jsonschema import ValidationError
    from rasa.core.actions.action import RemoteAction

    action = RemoteAction("action_reply", None)
    valid = action._validate_action_result({"events": [], "responses": [{"text": "hi"}]})
    try:
        action._validate_action_result({"events": [{"event": 3}]})
    except ValidationError as exc:
        invalid = exc.message
    else:
        invalid = ""
    return {"valid": valid, "invalid_error": invalid}


def merge_cases() -> list[tuple[Any, Any]]:
    """(stored, new) tracker pairs: a new tracker holding the stored one, and ones that don't."""
    from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    def events(n: int, start: float) -> list[Any]:
        out: list[Any] = []
        for i in range(n):
            t = start + 4 * i
            out += [
                UserUttered(f"q{i}", {"name": "ask_talent"}, timestamp=t),
                ActionExecuted("action_answer", timestamp=t + 1),
                BotUttered(f"a{i}", {"custom": {"sources": ["x"]}}, timestamp=t + 2),
                SlotSet("region", f"r{i}", timestamp=t + 3),
            ]
        return out

    def tracker(evts: list[Any]) -> Any:
        return DialogueStateTracker.from_events("s", evts)

    old, later = events(3, 0), events(2, 100)
    return [
        (tracker(old), tracker(old + later)),  # the usual save: the new holds the stored
        (tracker(old), tracker(later)),  # the new tracker holds only the latest session
        (tracker(old + later), tracker(old)),  # the stored one is ahead
        (tracker([]), tracker(old)),
    ]


def merge_check() -> list[bool]:
    """For each case, whether the fixed merge gives Rasa's merged events."""
    from rasa.core.tracker_store import RedisTrackerStore

    cases = merge_cases()
    stock = [RedisTrackerStore._merge_trackers(a, b) for a, b in cases]
    rasa_run.skip_merging_a_tracker_that_holds_the_stored_one()
    fixed = [RedisTrackerStore._merge_trackers(a, b) for a, b in cases]
    return [
        [e.as_dict() for e in x.events] == [e.as_dict() for e in y.events]
        for x, y in zip(stock, fixed, strict=True)
    ]


def main() -> None:
    model, texts = sys.argv[1], json.loads(sys.argv[2])
    stock = asyncio.run(parse_all(model, texts))
    rasa_run.validate_action_responses_once()
    rasa_run.load_models_without_a_training_step()
    fixed = asyncio.run(parse_all(model, texts))
    report = {**differences(stock, fixed), **action_response_check(), "merge": merge_check()}
    print(json.dumps(report))


if __name__ == "__main__":
    main()

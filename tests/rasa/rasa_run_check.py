"""Run with Rasa's Python: rasa_run.py's fixes change no prediction and no error.

Loads the trained model the stock way and the fixed way, parses the same messages with
both, and prints one JSON object: how many predictions differ and by how much, and what the
fixed action-response check says about a valid and an invalid response.
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


def main() -> None:
    model, texts = sys.argv[1], json.loads(sys.argv[2])
    stock = asyncio.run(parse_all(model, texts))
    rasa_run.validate_action_responses_once()
    rasa_run.load_models_without_a_training_step()
    fixed = asyncio.run(parse_all(model, texts))
    print(json.dumps({**differences(stock, fixed), **action_response_check()}))


if __name__ == "__main__":
    main()

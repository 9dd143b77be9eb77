"""--json: the documented shape, validated by its JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

from jsonschema import Draft202012Validator

from bot.faqtest.reports import write_json
from bot.faqtest.runner import Run
from bot.faqtest.summary import Summary

REPORT_SCHEMA = Path("bot/faqtest/faq-report.schema.json")


def test_json_report_validates_and_counts(
    sample_run: Run, summary: Summary, tmp_path: Path
) -> None:
    out = tmp_path / "nested" / "out.json"
    write_json(out, sample_run, summary)
    data = json.loads(out.read_text("utf-8"))
    schema = json.loads(REPORT_SCHEMA.read_text("utf-8"))
    Draft202012Validator.check_schema(schema)
    Draft202012Validator(schema).validate(data)
    assert data["summary"]["passed"] == 3
    assert data["summary"]["failed"] == 1
    assert data["summary"]["by_tag"] == {
        "multi": {"passed": 1, "failed": 0},
        "negative": {"passed": 0, "failed": 1},
        "qa": {"passed": 1, "failed": 0},
        "smoke": {"passed": 2, "failed": 0},
    }
    assert data["summary"]["by_intent"]["goodbye"] == {"passed": 0, "failed": 1}
    assert [c["id"] for c in data["cases"]] == ["hello", "parks", "human", "wrong-intent"]


def test_json_report_turns_carry_what_came_back(
    sample_run: Run, summary: Summary, tmp_path: Path
) -> None:
    out = tmp_path / "out.json"
    write_json(out, sample_run, summary)
    text = out.read_text("utf-8")
    assert "嘉定区" in text  # Chinese stays readable, not \\u-escaped
    cases = {c["id"]: c for c in json.loads(text)["cases"]}
    [parks] = cases["parks"]["turns"]
    assert parks == {
        "user": "嘉定一共有多少家特色产业园区？",
        "reply": "嘉定区共有19家特色产业园区。\n来源：《嘉定特色产业园区》",
        "intent": "ask_park",
        "confidence": 0.95,
        "entities": {"region": "嘉定区"},
        "sources": ["jiading-featured-parks-2023"],
        "escalated": False,
        "failures": [],
    }
    assert cases["parks"]["file"].endswith("basics.yml")
    [wrong] = cases["wrong-intent"]["turns"]
    assert cases["wrong-intent"]["passed"] is False
    assert wrong["failures"] == [
        "intent: expected goodbye, got greet (0.97)",
        "answer_contains: '<script>alert(1)</script>' not in the reply",
    ]

"""`--json`: the run as JSON (shape in faq-report.schema.json and docs/faq-format.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bot.faqtest.models import CaseResult, TurnResult
from bot.faqtest.runner import Run
from bot.faqtest.summary import Summary, Tally


def _tally(tally: Tally) -> dict[str, int]:
    return {"passed": tally.passed, "failed": tally.failed}


def _turn(turn: TurnResult) -> dict[str, Any]:
    answer = turn.answer
    return {
        "user": turn.expect.user,
        "reply": answer.text if answer else None,
        "intent": answer.intent if answer else None,
        "confidence": answer.confidence if answer else None,
        "entities": dict(answer.entities) if answer else {},
        "sources": list(answer.sources) if answer else [],
        "escalated": answer.escalated if answer else None,
        "failures": list(turn.messages),
    }


def _case(result: CaseResult) -> dict[str, Any]:
    return {
        "id": result.case.id,
        "file": str(result.case.file),
        "tags": list(result.case.tags),
        "passed": result.passed,
        "sender": result.sender,
        "seconds": round(result.seconds, 3),
        "skipped_turns": result.skipped_turns,
        "turns": [_turn(t) for t in result.turns],
    }


def report_dict(run: Run, summary: Summary) -> dict[str, Any]:
    """The JSON report as Python data."""
    return {
        "summary": {
            "passed": summary.passed,
            "failed": summary.failed,
            "pass_rate": round(summary.cases.rate, 4),
            "by_tag": {tag: _tally(t) for tag, t in summary.by_tag.items()},
            "by_intent": {intent: _tally(t) for intent, t in summary.by_intent.items()},
        },
        "url": run.url,
        "seconds": round(run.seconds, 3),
        "cases": [_case(r) for r in run.results],
    }


def write_json(path: Path, run: Run, summary: Summary) -> None:
    """Write the JSON report (UTF-8, Chinese kept readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report_dict(run, summary), ensure_ascii=False, indent=2)
    path.write_text(text + "\n", "utf-8")

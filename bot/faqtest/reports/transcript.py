"""A case as plain text: what was sent, what came back, what was expected, what failed."""

from __future__ import annotations

import json

from bot.faqtest.models import CaseResult, Expect

_EXPECT_FIELDS = (
    "intent",
    "intent_any",
    "entities",
    "answer_contains",
    "answer_contains_any",
    "answer_excludes",
    "sources",
    "escalated",
)


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def expectations(expect: Expect) -> str:
    """The checks a turn declares, e.g. `intent=greet sources=[]`."""
    parts = []
    for name in _EXPECT_FIELDS:
        value = getattr(expect, name)
        if value is None:
            continue
        if not isinstance(value, str):
            value = _json(list(value) if isinstance(value, tuple) else value)
        parts.append(f"{name}={value}")
    return " ".join(parts) or "(no checks)"


def _indent(text: str, prefix: str) -> str:
    lines = text.splitlines() or [""]
    return ("\n" + prefix).join(lines)


def transcript(result: CaseResult) -> str:
    """The whole conversation of a case, one labelled block per turn; failures marked ✗."""
    case = result.case
    head = f"case {case.id} ({case.file}{f':{case.line}' if case.line else ''})"
    lines = [f"{head} sender={result.sender}"]
    pad = " " * 13
    for n, turn in enumerate(result.turns, 1):
        lines.append(f"turn {n}")
        lines.append(f"  user:      {turn.expect.user}")
        lines.append(f"  expected:  {expectations(turn.expect)}")
        answer = turn.answer
        if answer is None:
            lines.append(f"  error:     {turn.error}")
        else:
            lines.append(f"  reply:     {_indent(answer.text, pad)}")
            lines.append(f"  intent:    {answer.intent or '(none)'} ({answer.confidence:.2f})")
            lines.append(f"  entities:  {_json(answer.entities)}")
            lines.append(f"  sources:   {_json(list(answer.sources))}")
            lines.append(f"  escalated: {_json(answer.escalated)}")
        lines.extend(f"  ✗ {failure}" for failure in turn.failures)
    if result.skipped_turns:
        lines.append(f"({result.skipped_turns} later turn(s) not run after the error)")
    return "\n".join(lines)

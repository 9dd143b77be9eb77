"""The checks of one turn: each compares one optional field of `Expect` with the `Answer`.

Every check returns failure messages (empty when it passes, or when the field is unset), each
starting with the field name so a reader can find the line in the case file.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.faqtest.models import Answer, Expect

Check = Callable[[Expect, Answer], list[str]]


def _got_intent(answer: Answer) -> str:
    return f"{answer.intent or '(none)'} ({answer.confidence:.2f})"


def _list(items: tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join(items) + "]"


def check_intent(expect: Expect, answer: Answer) -> list[str]:
    """`intent`: the top intent must be exactly this one."""
    if expect.intent is None or answer.intent == expect.intent:
        return []
    return [f"intent: expected {expect.intent}, got {_got_intent(answer)}"]


def check_intent_any(expect: Expect, answer: Answer) -> list[str]:
    """`intent_any`: the top intent must be one of these."""
    if expect.intent_any is None or answer.intent in expect.intent_any:
        return []
    return [f"intent_any: expected one of {_list(expect.intent_any)}, got {_got_intent(answer)}"]


def check_entities(expect: Expect, answer: Answer) -> list[str]:
    """`entities`: each named entity must have this canonical value; others are ignored."""
    failures = []
    for name, want in (expect.entities or {}).items():
        got = answer.entities.get(name)
        if got != want:
            failures.append(f"entities.{name}: expected {want}, got {got or '(none)'}")
    return failures


def check_answer_contains(expect: Expect, answer: Answer) -> list[str]:
    """`answer_contains`: every string must appear in the reply text."""
    text = answer.text
    return [
        f"answer_contains: {s!r} not in the reply"
        for s in expect.answer_contains or ()
        if s not in text
    ]


def check_answer_contains_any(expect: Expect, answer: Answer) -> list[str]:
    """`answer_contains_any`: at least one string must appear in the reply text."""
    wanted = expect.answer_contains_any
    if wanted is None or any(s in answer.text for s in wanted):
        return []
    return [f"answer_contains_any: none of {_list([repr(s) for s in wanted])} in the reply"]


def check_answer_excludes(expect: Expect, answer: Answer) -> list[str]:
    """`answer_excludes`: no string may appear in the reply text."""
    text = answer.text
    return [
        f"answer_excludes: {s!r} is in the reply" for s in expect.answer_excludes or () if s in text
    ]


def check_sources(expect: Expect, answer: Answer) -> list[str]:
    """`sources`: every listed id must be cited; `[]` means nothing may be cited."""
    if expect.sources is None:
        return []
    cited = _list(answer.sources)
    if not expect.sources:
        return [f"sources: expected no citation, got {cited}"] if answer.sources else []
    return [
        f"sources: {doc} not cited (cited: {cited})"
        for doc in expect.sources
        if doc not in answer.sources
    ]


def check_escalated(expect: Expect, answer: Answer) -> list[str]:
    """`escalated`: whether the turn handed the user off to a human."""
    if expect.escalated is None or answer.escalated == expect.escalated:
        return []
    want, got = (str(v).lower() for v in (expect.escalated, answer.escalated))
    return [f"escalated: expected {want}, got {got}"]


CHECKS: tuple[Check, ...] = (
    check_intent,
    check_intent_any,
    check_entities,
    check_answer_contains,
    check_answer_contains_any,
    check_answer_excludes,
    check_sources,
    check_escalated,
)


def check_turn(expect: Expect, answer: Answer) -> list[str]:
    """Every failure of every check, in the order the fields are documented."""
    return [failure for check in CHECKS for failure in check(expect, answer)]

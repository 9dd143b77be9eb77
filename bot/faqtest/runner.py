"""Replay cases against a running bot: one fresh conversation per case, N cases at a time."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.faqtest.checks import check_turn
from bot.faqtest.client import CHAT_TIMEOUT_S, BotClient, Health
from bot.faqtest.errors import BotResponseError, BotTimeoutError
from bot.faqtest.models import Case, CaseResult, TurnResult

DEFAULT_CONCURRENCY = 4
OnHealth = Callable[[Health], None]
OnCase = Callable[[CaseResult], None]


@dataclass(frozen=True, slots=True)
class Run:
    """The outcome of one run: the health seen first, then every case in input order."""

    url: str
    health: Health
    results: list[CaseResult]
    seconds: float


def new_sender(case: Case) -> str:
    """A sender nobody else uses, so each case starts a fresh conversation."""
    return f"faq-{case.id}-{secrets.token_hex(4)}"


async def run_case(client: BotClient, case: Case) -> CaseResult:
    """Send the case's turns in order in one conversation and check each answer.

    A request that fails (4xx/5xx, timeout, contract violation) fails its turn and stops the
    case: later turns would run in a conversation that is not the one the case describes.
    BotUnreachableError propagates: the whole run is meaningless without a bot.
    """
    sender = new_sender(case)
    started = time.perf_counter()
    turns: list[TurnResult] = []
    for expect in case.turns:
        try:
            answer = await client.chat(sender, expect.user)
        except (BotResponseError, BotTimeoutError) as exc:
            turns.append(TurnResult(expect, None, error=str(exc)))
            break
        turns.append(TurnResult(expect, answer, tuple(check_turn(expect, answer))))
    return CaseResult(
        case=case,
        turns=tuple(turns),
        sender=sender,
        seconds=time.perf_counter() - started,
        skipped_turns=len(case.turns) - len(turns),
    )


async def run_cases(
    client: BotClient,
    cases: Sequence[Case],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    on_case: OnCase | None = None,
) -> list[CaseResult]:
    """Run `cases` with at most `concurrency` in flight; results keep the input order."""
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    gate = asyncio.Semaphore(concurrency)

    async def one(case: Case) -> CaseResult:
        async with gate:
            result = await run_case(client, case)
        if on_case is not None:
            on_case(result)
        return result

    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(one(case)) for case in cases]
    except BaseExceptionGroup as errors:
        # The group cancelled the other cases; callers handle BotUnreachableError, not groups.
        raise errors.exceptions[0] from None
    return [task.result() for task in tasks]


async def run(
    url: str,
    cases: Sequence[Case],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    timeout_s: float = CHAT_TIMEOUT_S,
    on_health: OnHealth | None = None,
    on_case: OnCase | None = None,
) -> Run:
    """Check `/healthz` (BotUnreachableError if nothing answers), then run every case."""
    started = time.perf_counter()
    async with BotClient(url, timeout_s=timeout_s) as client:
        health = await client.health()
        if on_health is not None:
            on_health(health)
        results = await run_cases(client, cases, concurrency=concurrency, on_case=on_case)
    return Run(client.base_url, health, results, time.perf_counter() - started)

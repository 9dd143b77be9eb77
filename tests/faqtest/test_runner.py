"""Running cases against the fake bot: conversations, order, concurrency, errors."""

from __future__ import annotations

import re

import pytest

from bot.faqtest.client import BotClient, Health
from bot.faqtest.errors import BotUnreachableError
from bot.faqtest.models import Case, Expect
from bot.faqtest.runner import new_sender, run, run_case, run_cases
from bot.launcher import free_port
from tests.faqtest.fake_bot import FakeBot


def case(id_: str, *users: str, **checks: object) -> Case:
    """A case whose last turn carries `checks`."""
    last = Expect(user=users[-1], **checks)  # type: ignore[arg-type]
    return Case(id=id_, turns=(*(Expect(user=u) for u in users[:-1]), last))


def test_each_case_gets_a_fresh_unique_sender() -> None:
    one = case("parks-count", "hi")
    senders = {new_sender(one) for _ in range(50)}
    assert len(senders) == 50
    assert all(re.fullmatch(r"faq-parks-count-[0-9a-f]{8}", s) for s in senders)


async def test_turns_of_a_case_run_in_order_in_one_conversation(
    bot_url: str, fake_bot: FakeBot
) -> None:
    async with BotClient(bot_url) as client:
        result = await run_case(client, case("human", "你好", "我要转人工", escalated=True))
        sender = client.sender_of(result.sender)
    assert result.passed
    assert [r["text"] for r in fake_bot.received] == ["你好", "我要转人工"]
    assert {r["sender"] for r in fake_bot.received} == {sender}


async def test_failed_checks_fail_the_case_but_later_turns_still_run(bot_url: str) -> None:
    failing = Case(
        id="c",
        turns=(Expect(user="你好", intent="goodbye"), Expect(user="我要转人工", escalated=True)),
    )
    async with BotClient(bot_url) as client:
        result = await run_case(client, failing)
    assert not result.passed
    assert [t.passed for t in result.turns] == [False, True]
    assert result.failures == ["turn 1: intent: expected goodbye, got greet (0.97)"]


async def test_an_error_response_fails_the_case_and_stops_it(
    bot_url: str, fake_bot: FakeBot
) -> None:
    async with BotClient(bot_url) as client:
        result = await run_case(client, case("err", "你好", "422", "你好"))
    assert not result.passed
    assert len(fake_bot.received) == 2
    assert result.skipped_turns == 1
    assert result.turns[1].answer is None
    assert result.failures == [
        "turn 2: bot answered 422 empty_text: text must not be empty",
        "1 later turn(s) not run",
    ]


async def test_a_timeout_fails_only_its_case(bot_url: str) -> None:
    async with BotClient(bot_url, timeout_s=0.2) as client:
        results = await run_cases(client, [case("slow", "slow"), case("ok", "你好")])
    assert [r.passed for r in results] == [False, True]
    assert "no answer within" in results[0].failures[0]


@pytest.mark.parametrize("concurrency", [1, 3])
async def test_concurrency_is_bounded_and_order_kept(
    bot_url: str, fake_bot: FakeBot, concurrency: int
) -> None:
    fake_bot.delay_s = 0.05
    cases = [case(f"c{i}", "你好", intent="greet") for i in range(8)]
    done: list[str] = []
    async with BotClient(bot_url) as client:
        results = await run_cases(
            client, cases, concurrency=concurrency, on_case=lambda r: done.append(r.case.id)
        )
    assert [r.case.id for r in results] == [c.id for c in cases]
    assert sorted(done) == sorted(c.id for c in cases)
    assert fake_bot.max_in_flight == concurrency


async def test_concurrency_must_be_positive(bot_url: str) -> None:
    async with BotClient(bot_url) as client:
        with pytest.raises(ValueError, match="at least 1"):
            await run_cases(client, [], concurrency=0)


async def test_run_checks_health_first(bot_url: str, fake_bot: FakeBot) -> None:
    fake_bot.health_status = 503
    seen: list[Health] = []
    outcome = await run(bot_url, [case("a", "你好")], on_health=seen.append)
    assert [h.status for h in seen] == [503]
    assert outcome.health.failing == ("rasa (RasaUnavailableError)",)
    assert [r.passed for r in outcome.results] == [True]


async def test_an_unreachable_bot_stops_the_run() -> None:
    with pytest.raises(BotUnreachableError):
        await run(f"http://127.0.0.1:{free_port()}", [case("a", "你好")])


async def test_a_bot_that_goes_away_mid_run_stops_the_run(bot_url: str) -> None:
    async with BotClient(bot_url) as client:
        client.base_url = f"http://127.0.0.1:{free_port()}"  # health passed, then it vanished
        with pytest.raises(BotUnreachableError):
            await run_cases(client, [case("a", "你好"), case("b", "你好")])

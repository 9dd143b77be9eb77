"""The load benchmark: its client against the live stack, its verdicts and its report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis

from bench import load, load_report
from bot.launcher import Stack


def _report(bot16_p50: float = 25.0, raw16_p50: float = 22.0, lost: int = 0) -> dict[str, Any]:
    def run(kind: str, target: str, conc: int, p50: float, rate: float) -> dict[str, Any]:
        latency = {"p50_ms": p50, "p95_ms": p50 * 2, "p99_ms": p50 * 3, "max_ms": p50 * 4}
        latency |= {"mean_ms": p50, "requests": 10}
        return {
            "kind": kind,
            "target": target,
            "concurrency": conc,
            "conversations": 5,
            "sent": 10,
            "answered": 10 - lost,
            "lost": lost,
            "duplicated": 0,
            "out_of_order": 0,
            "seconds": 1.0,
            "throughput_per_s": rate,
            "latency": latency,
            "failures": [],
        }

    return {
        "machine": {
            "timestamp": "t",
            "git_commit": "abc",
            "rasa": "3.6.21",
            "python_rasa": "3.10",
            "cpu_count": 2,
            "load_avg_1m_at_start": 0.1,
        },
        "plan": load.plan_dict(load.Plan.quick()),
        "runs": [
            run("latency", "raw", 16, raw16_p50, 50),
            run("latency", "bot", 16, bot16_p50, 45),
            run("sustained", "raw", 64, 900, 60),
            run("sustained", "bot", 64, 950, 120),
        ],
        "cold_start_s": {"actions": 3.0, "rasa": 20.0, "bot": 2.0, "stack": 20.0},
        "rss_mb": {
            "idle": {"actions": 90.0, "rasa": 900.0, "bot": 80.0},
            "after_load": {"actions": 95.0, "rasa": 1000.0, "bot": 90.0},
            "peak": {"actions": 95.0, "rasa": 1100.0, "bot": 100.0},
        },
        "quality": {"retrieval_hit_at_1": 0.96, "intent_macro_f1": 0.97},
    }


def test_verdicts_compare_each_figure_with_its_limit() -> None:
    verdicts = {t["target"]: t["passed"] for t in load.targets_verdict(_report())}
    assert verdicts["p50 at concurrency 16 (ms)"] is True
    assert verdicts["front-end overhead, p50 bot / raw at 16"] is True
    assert verdicts["sustained messages/s through the bot"] is True
    assert verdicts["lost + duplicated replies, all runs"] is True
    slow = {t["target"]: t for t in load.targets_verdict(_report(40.0, 20.0, lost=1))}
    assert slow["p50 at concurrency 16 (ms)"]["passed"] is False
    assert slow["front-end overhead, p50 bot / raw at 16"]["value"] == 2.0
    assert slow["lost + duplicated replies, all runs"]["passed"] is False


def test_report_files_are_written(tmp_path: Path) -> None:
    data = _report()
    data["targets"] = load.targets_verdict(data)
    load_report.write_results(data, tmp_path)
    markdown = (tmp_path / "load.md").read_text("utf-8")
    assert "| p50 at concurrency 16 (ms) | 25.0 | 30.0 | PASS |" in markdown
    assert "| 16 (latency) | 1.14× |" in markdown
    assert (tmp_path / "load-latency.png").read_bytes().startswith(b"\x89PNG")


def test_conversations_are_distinct_and_two_messages_long() -> None:
    convs = load.conversations("t", 300, ["q1", "q2"])
    assert len({c.sender for c in convs}) == 300
    assert all(len(c.texts) == 2 for c in convs)


@pytest.mark.stack
async def test_load_client_counts_answers_and_finds_no_duplicates(stack: Stack) -> None:
    """A small run through the bot and raw Rasa, verified in Rasa's trackers and our log."""
    questions = load.load_questions()
    assert stack.redis_url is not None
    redis = Redis.from_url(stack.redis_url)
    try:
        async with aiohttp.ClientSession() as session:
            for target in (load.RawRasa(stack.rasa_url), load.Bot(stack.bot_url)):
                convs = load.conversations(f"test-{target.name}", 6, questions)
                outcome = await load.run_load(session, target, convs, 3, 60)
                await load.verify(session, stack.rasa_url, redis, target, convs, outcome)
                assert (outcome.sent, outcome.answered, outcome.lost) == (12, 12, 0)
                assert (outcome.duplicated, outcome.out_of_order) == (0, 0)
                assert outcome.hist.get_total_count() == 12
                # Sending a conversation's messages again shows up as duplicates.
                again = await load.run_load(session, target, convs[:2], 2, 60)
                await load.verify(session, stack.rasa_url, redis, target, convs[:2], again)
                assert again.duplicated >= 4
    finally:
        await redis.aclose()


def test_quality_is_read_from_the_committed_results() -> None:
    quality = load.quality()
    assert 0.9 < quality["retrieval_hit_at_1"] <= 1
    assert quality["retrieval_baseline_hit_at_1"] < quality["retrieval_hit_at_1"]
    assert 0.9 < quality["intent_macro_f1"] <= 1

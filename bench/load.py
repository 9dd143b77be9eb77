"""End-to-end load benchmark: our front end (POST /api/chat) beside raw Rasa, in one run.

Run from the repository root (the model must be trained: `make train`)::

    .venv/bin/python -m bench.load            # the full run, about 5 minutes here
    .venv/bin/python -m bench.load --quick    # a smoke run with small counts

Steps:

1. A real redis-server (AOF on) and the stack exactly as the Procfile runs it (action server,
   `rasa run` with the Redis tracker and lock stores, the bot), on free loopback ports. Each
   process's cold start is the time from its launch until its health URL answers; the stack's
   is the slowest of the three, as they start together.
2. Idle RSS of each process (with its children).
3. For each concurrency (1, 16, 64): the same conversations sent once to Rasa's
   ``/webhooks/rest/webhook`` ("raw") and once through the bot's ``/api/chat`` ("bot"), each
   under fresh sender ids. A conversation is two messages sent in order (a question from
   tests/data/retrieval.yml, then a follow-up or small talk); ``concurrency`` conversations
   are in flight at once. Latency per message goes into an HdrHistogram. Through the bot,
   each conversation first opens a web chat session (``POST /api/chat/session``); that call
   is not timed, and the stack runs with a session rate limit the load cannot reach.
4. Sustained throughput: 1,000 distinct conversations (2,000 messages) at concurrency 64,
   raw and through the bot.
5. Profiles (full plan only): py-spy samples Rasa, the action server and the bot for 20 s of
   concurrency-16 load through the bot, after the scored runs; the flame graphs are
   bench/results/profile-{rasa,actions,bot}.svg.
6. Nothing lost, nothing duplicated: a message is *lost* if its request fails or gets no
   reply. Afterwards every conversation's Rasa tracker must hold each message exactly once and
   in order (a *duplicate* is a message Rasa saw twice); for the bot, its Redis message log
   must hold each message and one reply for it, in order.

Every loop is bounded by a count and a deadline and talks to 127.0.0.1 only.

Results: bench/results/load.json, load.md and load-latency.png; the processes' logs are
kept in bench/results/tmp/load/ until the next run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from hdrh.histogram import HdrHistogram
from redis.asyncio import Redis
from rich.console import Console

from bench.measure import MB, high_water_rss, machine_info, new_histogram, summarise, tree_rss
from bot.channels.contract import SessionRefusedError, WebSession, open_session
from bot.launcher import LaunchError, Stack, redis_server, start_stack
from bot.settings import Settings
from bot.state.keys import Keys

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
QUESTIONS = ROOT / "tests" / "data" / "retrieval.yml"
# Second messages: follow-ups the context must resolve, and small talk.
SECOND = ("那南湖区呢？", "谢谢", "好的 明白了", "那嘉定呢", "你是机器人吗", "再见")

CONCURRENCIES = (1, 16, 64)
TARGETS = {
    "p50_ms_at_16": 30.0,
    "p99_ms_at_16": 120.0,
    "overhead_ratio": 1.25,
    "throughput_per_s": 100.0,
    "cold_start_s": 25.0,
    "bot_rss_mb": 150.0,
    "rasa_rss_mb": 1200.0,
}
REQUEST_TIMEOUT_S = 60.0
PROFILE_SECONDS = 20
VERIFY_CONCURRENCY = 8
# Every conversation opens a session from 127.0.0.1; the default per-address limit is for
# browsers, not for thousands of conversations a minute.
STACK_ENV = {"WEB_SESSION_RATE_PER_MINUTE": "1000000", "WEB_SESSION_BURST": "1000000"}

console = Console()


@dataclass(frozen=True, slots=True)
class Conversation:
    """One sender and the messages it sends, in order."""

    sender: str
    texts: tuple[str, ...]


@dataclass(slots=True)
class Outcome:
    """What one load run did."""

    target: str
    concurrency: int
    conversations: int
    sent: int = 0
    answered: int = 0
    lost: int = 0
    duplicated: int = 0
    out_of_order: int = 0
    seconds: float = 0.0
    hist: HdrHistogram = field(default_factory=new_histogram)
    failures: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of the report."""
        return {
            "target": self.target,
            "concurrency": self.concurrency,
            "conversations": self.conversations,
            "sent": self.sent,
            "answered": self.answered,
            "lost": self.lost,
            "duplicated": self.duplicated,
            "out_of_order": self.out_of_order,
            "seconds": round(self.seconds, 2),
            "throughput_per_s": round(self.answered / self.seconds, 1) if self.seconds else 0.0,
            "latency": summarise(self.hist),
            "failures": self.failures[:10],
        }


def load_questions(path: Path = QUESTIONS) -> list[str]:
    """The retrieval benchmark's questions, the way entrepreneurs type them."""
    data = yaml.safe_load(path.read_text("utf-8"))
    return [str(item["question"]) for item in data["items"]]


def conversations(run: str, count: int, questions: Sequence[str]) -> list[Conversation]:
    """`count` distinct two-message conversations with sender ids unique to `run`."""
    return [
        Conversation(
            sender=f"bench-{run}-{i}",
            texts=(questions[i % len(questions)], SECOND[i % len(SECOND)]),
        )
        for i in range(count)
    ]


class Target:
    """Where a message goes and how its answer is recognised."""

    name = ""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def url(self) -> str:
        """The endpoint messages are posted to."""
        raise NotImplementedError

    async def prepare(self, session: aiohttp.ClientSession, sender: str) -> None:
        """Whatever a conversation needs before its first message (not timed)."""

    def headers(self, sender: str) -> dict[str, str]:
        """Extra request headers for the conversation's messages."""
        return {}

    def body(self, sender: str, text: str) -> dict[str, str]:
        """The request body for one message."""
        raise NotImplementedError

    def answered(self, payload: Any) -> bool:
        """True when the response carries at least one reply."""
        raise NotImplementedError

    def rasa_sender(self, sender: str) -> str:
        """The tracker id Rasa keeps this conversation under."""
        raise NotImplementedError


class RawRasa(Target):
    """Rasa's REST channel, straight."""

    name = "raw"

    def url(self) -> str:
        return f"{self.base_url}/webhooks/rest/webhook"

    def body(self, sender: str, text: str) -> dict[str, str]:
        return {"sender": sender, "message": text}

    def answered(self, payload: Any) -> bool:
        return isinstance(payload, list) and any(m.get("text") for m in payload)

    def rasa_sender(self, sender: str) -> str:
        return sender


class Bot(Target):
    """Our front end's `/api/chat` (session, rate limit, lock, log, Rasa, reply).

    A conversation's `sender` is its name here; `prepare` opens a web chat session for it
    (the bot picks the real sender id, `chat_id`), reused if the conversation is sent again.
    """

    name = "bot"

    def __init__(self, base_url: str) -> None:
        super().__init__(base_url)
        self.sessions: dict[str, WebSession] = {}

    def url(self) -> str:
        return f"{self.base_url}/api/chat"

    async def prepare(self, session: aiohttp.ClientSession, sender: str) -> None:
        if sender not in self.sessions:
            self.sessions[sender] = await open_session(session, self.base_url)

    def headers(self, sender: str) -> dict[str, str]:
        opened = self.sessions.get(sender)
        return opened.headers if opened is not None else {}

    def chat_id(self, sender: str) -> str:
        """The sender id the bot picked for the conversation (its name before `prepare`)."""
        opened = self.sessions.get(sender)
        return opened.sender if opened is not None else sender

    def body(self, sender: str, text: str) -> dict[str, str]:
        return {"sender": self.chat_id(sender), "text": text}

    def answered(self, payload: Any) -> bool:
        # The front end's own notices (busy, rate limited) carry no intent: Rasa did not answer.
        return (
            isinstance(payload, dict)
            and bool((payload.get("intent") or {}).get("name"))
            and any(r.get("text") for r in payload.get("replies", []))
        )

    def rasa_sender(self, sender: str) -> str:
        return f"web:{self.chat_id(sender)}"


async def run_load(
    session: aiohttp.ClientSession,
    target: Target,
    convs: Sequence[Conversation],
    concurrency: int,
    max_seconds: float,
) -> Outcome:
    """Send `convs` with `concurrency` in flight; stop taking new ones at the deadline."""
    outcome = Outcome(target.name, concurrency, len(convs))
    queue: asyncio.Queue[Conversation] = asyncio.Queue()
    for conv in convs:
        queue.put_nowait(conv)
    deadline = time.monotonic() + max_seconds
    url = target.url()

    async def worker() -> None:
        while time.monotonic() < deadline:
            try:
                conv = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            try:
                await target.prepare(session, conv.sender)
            except (aiohttp.ClientError, TimeoutError, ValueError, SessionRefusedError) as exc:
                outcome.sent += len(conv.texts)
                outcome.lost += len(conv.texts)
                outcome.failures.append(f"{conv.sender}: no session: {exc!r}"[:200])
                continue
            headers = target.headers(conv.sender)
            for text in conv.texts:
                outcome.sent += 1
                start = time.perf_counter_ns()
                try:
                    async with session.post(
                        url, json=target.body(conv.sender, text), headers=headers
                    ) as resp:
                        payload = await resp.json(content_type=None)
                        ok = resp.status == 200 and target.answered(payload)
                except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                    ok, payload = False, repr(exc)
                outcome.hist.record_value(max(1, (time.perf_counter_ns() - start) // 1000))
                if ok:
                    outcome.answered += 1
                else:
                    outcome.lost += 1
                    outcome.failures.append(f"{conv.sender}: {str(payload)[:200]}")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    outcome.seconds = time.perf_counter() - started
    outcome.conversations = len(convs) - queue.qsize()
    return outcome


async def verify(
    session: aiohttp.ClientSession,
    rasa_url: str,
    redis: Redis | None,
    target: Target,
    convs: Sequence[Conversation],
    outcome: Outcome,
) -> None:
    """Count duplicates and reordering in Rasa's trackers (and the bot's own log)."""
    gate = asyncio.Semaphore(VERIFY_CONCURRENCY)
    keys = Keys(Settings().redis_key_prefix)

    async def one(conv: Conversation) -> None:
        sent = list(conv.texts)
        async with gate:
            url = f"{rasa_url}/conversations/{target.rasa_sender(conv.sender)}/tracker"
            async with session.get(url) as resp:
                tracker = await resp.json()
            log: list[dict[str, Any]] = []
            if redis is not None and isinstance(target, Bot):
                raw = await redis.lrange(keys.log("web", target.chat_id(conv.sender)), 0, -1)
                log = [json.loads(item) for item in raw]
        seen = [e.get("text") for e in tracker.get("events", []) if e.get("event") == "user"]
        outcome.duplicated += max(0, len(seen) - len(sent))
        # The bot hands Rasa a normalised text (script, spacing), so its order is checked in
        # its own log, which keeps the user's words as sent.
        if isinstance(target, RawRasa) and len(seen) == len(sent) and seen != sent:
            outcome.out_of_order += 1
        if isinstance(target, Bot):
            users = [e.get("text") for e in log if e.get("role") == "user"]
            replies = sum(1 for e in log if e.get("role") == "bot")
            outcome.duplicated += max(0, len(users) - len(sent)) + max(0, replies - len(users))
            if len(users) == len(sent) and users != sent:
                outcome.out_of_order += 1

    # The queue is first in, first out: the conversations sent are the first ones.
    await asyncio.gather(*(one(c) for c in convs[: outcome.conversations]))


class RssSampler:
    """Samples each process's RSS (with children) every `interval` seconds, in a thread."""

    def __init__(self, pids: Mapping[str, int], interval: float = 0.5) -> None:
        self.pids = dict(pids)
        self.interval = interval
        self.peak: dict[str, int] = dict.fromkeys(self.pids, 0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self) -> dict[str, int]:
        """Take one sample now; returns it."""
        now = {name: tree_rss(pid) for name, pid in self.pids.items()}
        for name, rss in now.items():
            self.peak[name] = max(self.peak[name], rss)
        return now

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass(frozen=True, slots=True)
class Plan:
    """How much load: conversations per concurrency level and for the sustained run."""

    per_level: Mapping[int, int]
    sustained: int
    max_seconds: float
    profile: bool = False

    @classmethod
    def full(cls) -> Plan:
        """The committed figures: 100/400/400 conversations, then 1,000."""
        return cls({1: 100, 16: 400, 64: 400}, 1000, 120.0, profile=True)

    @classmethod
    def quick(cls) -> Plan:
        """A smoke run for tests and development."""
        return cls({1: 5, 16: 16, 64: 64}, 64, 30.0)


async def drive(
    stack: Stack, plan: Plan, questions: Sequence[str], sampler: RssSampler
) -> list[dict[str, Any]]:
    """Every load run, raw then bot at each level, then the sustained runs; verified."""
    targets: list[Target] = [RawRasa(stack.rasa_url), Bot(stack.bot_url)]
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    connector = aiohttp.TCPConnector(limit=0)
    runs: list[dict[str, Any]] = []
    redis = Redis.from_url(stack.redis_url) if stack.redis_url else None
    try:
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            # Warm-up: the first messages load lazy parts of Rasa and the fact store.
            for target in targets:
                warm = conversations(f"warm-{target.name}", 8, questions)
                await run_load(session, target, warm, 4, plan.max_seconds)
            levels = [(c, n, "latency") for c, n in plan.per_level.items()]
            levels.append((max(CONCURRENCIES), plan.sustained, "sustained"))
            for concurrency, count, kind in levels:
                for target in targets:
                    run_id = f"{kind}-c{concurrency}-{target.name}-{os.getpid()}"
                    convs = conversations(run_id, count, questions)
                    console.print(
                        f"  {kind}: {target.name:>3}, concurrency {concurrency}, "
                        f"{count} conversations …"
                    )
                    outcome = await run_load(session, target, convs, concurrency, plan.max_seconds)
                    await verify(session, stack.rasa_url, redis, target, convs, outcome)
                    row = {"kind": kind, **outcome.as_dict()}
                    runs.append(row)
                    lat = row["latency"]
                    console.print(
                        f"    {row['answered']}/{row['sent']} answered, "
                        f"{row['throughput_per_s']}/s, p50 {lat['p50_ms']} ms, "
                        f"p99 {lat['p99_ms']} ms, lost {row['lost']}, dup {row['duplicated']}"
                    )
                    sampler.sample()
            if plan.profile:
                await profile(session, Bot(stack.bot_url), stack, questions, plan.max_seconds)
    finally:
        if redis is not None:
            await redis.aclose()
    return runs


async def profile(
    session: aiohttp.ClientSession,
    target: Target,
    stack: Stack,
    questions: Sequence[str],
    max_seconds: float,
) -> None:
    """py-spy flame graphs of Rasa and the bot under the concurrency-16 load (not scored)."""
    py_spy = Path(sys.executable).with_name("py-spy")
    pids = {name: stack.group.get(name).popen.pid for name in ("rasa", "bot", "actions")}
    console.print(f"  profile: {target.name}, concurrency 16, py-spy on {', '.join(pids)} …")
    spies = [
        await asyncio.create_subprocess_exec(
            str(py_spy),
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(PROFILE_SECONDS),
            "--rate",
            "100",
            "--nonblocking",
            # rasa-sdk's Sanic serves from a worker process under a manager process.
            "--subprocesses",
            "--format",
            "flamegraph",
            "--output",
            str(RESULTS / f"profile-{name}.svg"),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        for name, pid in pids.items()
    ]
    convs = conversations(f"profile-{os.getpid()}", 10_000, questions)
    await run_load(session, target, convs, 16, min(max_seconds, PROFILE_SECONDS))
    for spy in spies:
        _, err = await asyncio.wait_for(spy.communicate(), PROFILE_SECONDS + 60)
        if spy.returncode != 0:
            console.print(f"  [yellow]py-spy failed: {err.decode(errors='replace')[-300:]}[/]")


def targets_verdict(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each target of the performance issue with our figure and PASS/FAIL."""
    lat = {
        (r["target"], r["concurrency"]): r["latency"]
        for r in data["runs"]
        if r["kind"] == "latency"
    }
    sustained = {r["target"]: r for r in data["runs"] if r["kind"] == "sustained"}
    bot16, raw16 = lat.get(("bot", 16)), lat.get(("raw", 16))
    bot_s = sustained.get("bot", {})
    rows: list[tuple[str, float | None, float, bool | None]] = []

    def add(name: str, value: float | None, limit: float, *, at_least: bool = False) -> None:
        ok = None if value is None else (value >= limit if at_least else value <= limit)
        rows.append((name, value, limit, ok))

    add("p50 at concurrency 16 (ms)", bot16 and bot16["p50_ms"], TARGETS["p50_ms_at_16"])
    add("p99 at concurrency 16 (ms)", bot16 and bot16["p99_ms"], TARGETS["p99_ms_at_16"])
    ratio = round(bot16["p50_ms"] / raw16["p50_ms"], 2) if bot16 and raw16 else None
    add("front-end overhead, p50 bot / raw at 16", ratio, TARGETS["overhead_ratio"])
    add(
        "sustained messages/s through the bot",
        bot_s.get("throughput_per_s"),
        TARGETS["throughput_per_s"],
        at_least=True,
    )
    lost = sum(r["lost"] + r["duplicated"] for r in data["runs"])
    add("lost + duplicated replies, all runs", lost, 0)
    add("whole-stack cold start (s)", data["cold_start_s"].get("stack"), TARGETS["cold_start_s"])
    add("bot peak RSS (MB)", data["rss_mb"]["peak"].get("bot"), TARGETS["bot_rss_mb"])
    add("Rasa peak RSS (MB)", data["rss_mb"]["peak"].get("rasa"), TARGETS["rasa_rss_mb"])
    return [
        {"target": name, "value": value, "limit": limit, "passed": ok}
        for name, value, limit, ok in rows
    ]


def quality() -> dict[str, Any]:
    """hit@1 and macro-F1 from the retrieval and NLU benchmarks' committed results."""
    out: dict[str, Any] = {}
    with contextlib.suppress(OSError, KeyError, ValueError):
        retrieval = json.loads((RESULTS / "retrieval.json").read_text("utf-8"))
        out["retrieval_hit_at_1"] = retrieval["systems"]["store"]["evaluation"]["hit@1"]
        out["retrieval_baseline_hit_at_1"] = retrieval["systems"]["baseline"]["evaluation"]["hit@1"]
    with contextlib.suppress(OSError, KeyError, ValueError):
        nlu = json.loads((RESULTS / "nlu.json").read_text("utf-8"))
        out["intent_macro_f1"] = nlu["ours"]["intent"]["macro_f1"]
        out["baseline_macro_f1"] = nlu["baseline"]["intent"]["macro_f1"]
    return out


@contextlib.contextmanager
def stack_environment() -> Iterator[None]:
    """`STACK_ENV` in our environment while the stack starts (its processes inherit it)."""
    saved = {name: os.environ.get(name) for name in STACK_ENV}
    os.environ.update(STACK_ENV)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def running_stack(log_dir: Path) -> Iterator[Stack]:
    """Redis and the three processes, stopped on exit."""
    with redis_server(log_dir) as url:
        with stack_environment():
            stack = start_stack(log_dir, url, progress=lambda s: console.print(f"  {s}"))
        try:
            yield stack
        finally:
            stack.group.stop()


def run(plan: Plan) -> dict[str, Any]:
    """The whole benchmark; returns the report data."""
    data: dict[str, Any] = {"machine": machine_info(), "plan": plan_dict(plan)}
    questions = load_questions()
    logs = RESULTS / "tmp" / "load"
    shutil.rmtree(logs, ignore_errors=True)
    console.print(f"  process logs: {logs.relative_to(ROOT)}/")
    with running_stack(logs) as st:
        data["cold_start_s"] = {k: round(v, 2) for k, v in st.ready_s.items()}
        pids = {p.name: p.popen.pid for p in st.group.procs}
        sampler = RssSampler(pids)
        idle = sampler.sample()
        with sampler:
            data["runs"] = asyncio.run(drive(st, plan, questions, sampler))
        after = sampler.sample()
        hwm = {name: high_water_rss(pid) or 0 for name, pid in pids.items()}
        data["rss_mb"] = {
            "idle": {k: round(v / MB, 1) for k, v in idle.items()},
            "after_load": {k: round(v / MB, 1) for k, v in after.items()},
            "peak": {k: round(max(v, hwm.get(k, 0)) / MB, 1) for k, v in sampler.peak.items()},
        }
    data["quality"] = quality()
    data["targets"] = targets_verdict(data)
    return data


def plan_dict(plan: Plan) -> dict[str, Any]:
    """The plan as JSON."""
    return {
        "per_level": {str(k): v for k, v in plan.per_level.items()},
        "sustained_conversations": plan.sustained,
        "messages_per_conversation": 2,
        "max_seconds_per_run": plan.max_seconds,
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small counts (a smoke run)")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where load.json/.md/.png go")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run, write the results, print the verdicts; exit 1 if the stack could not run."""
    from bench.load_report import write_results

    args = parse_args(argv)
    plan = Plan.quick() if args.quick else Plan.full()
    console.print(f"[bold]bench.load[/] ({'quick' if args.quick else 'full'} plan)")
    try:
        data = run(plan)
    except (LaunchError, RuntimeError) as exc:
        # A missing model or redis-server, or a process that did not start: say which.
        console.print(f"[red]The stack could not run: {exc}[/]")
        return 1
    write_results(data, args.results)
    for row in data["targets"]:
        verdict = {True: "PASS", False: "FAIL", None: "n/a"}[row["passed"]]
        console.print(f"  {verdict:4}  {row['target']}: {row['value']} (limit {row['limit']})")
    console.print(f"results: {args.results}/load.json, load.md, load-latency.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())

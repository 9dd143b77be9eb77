"""`bizbot faq-test`: replay YAML FAQ cases against the bot and report (docs/faq-format.md).

Exit codes: 0 all passed (or the pass rate reached --min-pass-rate), 1 cases failed, 2 the
input is unusable (malformed file, no case selected, bad option) or the bot is unreachable.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from bot import launcher
from bot.settings import ROOT

if TYPE_CHECKING:
    from bot.faqtest.client import Health
    from bot.faqtest.models import Case, CaseResult
    from bot.faqtest.runner import Run
    from bot.faqtest.summary import Summary

# bot.faqtest (aiohttp, jsonschema, matplotlib) is imported inside the command, as the other
# commands do, so that `bizbot --help` and the other commands do not pay for it.
DEFAULT_CONCURRENCY = 4  # = bot.faqtest.runner.DEFAULT_CONCURRENCY
DEFAULT_TIMEOUT_S = 30.0  # = bot.faqtest.client.CHAT_TIMEOUT_S
STACK_LOG_DIR = ROOT / "var" / "faq-stack"
EXIT_UNUSABLE = 2
EXIT_INTERRUPTED = 130


def register(app: typer.Typer) -> None:
    """Add `faq-test` to the main app."""
    app.command("faq-test")(faq_test)


def _tags(value: str | None) -> set[str] | None:
    if value is None:
        return None
    tags = {t.strip() for t in value.split(",") if t.strip()}
    if not tags:
        raise typer.BadParameter("give at least one tag, e.g. --tags qa,multi", param_hint="--tags")
    return tags


def _fail(console: Console, message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
    return typer.Exit(EXIT_UNUSABLE)


def faq_test(
    paths: Annotated[
        list[Path],
        typer.Argument(metavar="PATH...", help="Case files, or directories of *.yml/*.yaml."),
    ],
    url: Annotated[str, typer.Option(help="The running bot.")] = "http://127.0.0.1:8080",
    tags: Annotated[
        str | None, typer.Option(help="Comma-separated; run the cases having any of them.")
    ] = None,
    concurrency: Annotated[
        int, typer.Option(min=1, max=64, help="Cases in flight.")
    ] = DEFAULT_CONCURRENCY,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write a JSON report.")] = None,
    junit_out: Annotated[Path | None, typer.Option("--junit", help="Write JUnit XML.")] = None,
    html_out: Annotated[Path | None, typer.Option("--html", help="Write an HTML report.")] = None,
    min_pass_rate: Annotated[
        float | None,
        typer.Option(min=0.0, max=1.0, help="Exit 0 if at least this fraction of cases pass."),
    ] = None,
    serve_stack: Annotated[
        bool, typer.Option("--serve-stack", help="Start the stack here, test it, stop it.")
    ] = False,
    timeout: Annotated[
        float, typer.Option(min=1.0, help="Seconds allowed for each chat request.")
    ] = DEFAULT_TIMEOUT_S,
) -> None:
    """Run FAQ test cases against the bot; the last line is `N passed, N failed`."""
    from bot.faqtest.cases import load_paths, select
    from bot.faqtest.errors import BotUnreachableError, CaseFileError, NoCasesError
    from bot.faqtest.reports.console import print_failures
    from bot.faqtest.summary import exit_code, summarize

    out, err = Console(), Console(stderr=True)
    if not url.startswith(("http://", "https://")):
        raise typer.BadParameter("must start with http:// or https://", param_hint="--url")
    selected = _tags(tags)
    try:
        cases = select(load_paths(paths), selected)
    except CaseFileError as exc:
        err.print(
            f"[red]error:[/red] {len(exc.problems)} problem(s) in "
            f"{len(exc.files)} case file(s); no case ran:"
        )
        for problem in exc.problems:
            err.print(f"  {escape(str(problem))}", soft_wrap=True, highlight=False)
        raise typer.Exit(EXIT_UNUSABLE) from None
    except NoCasesError as exc:
        raise _fail(err, str(exc)) from None
    try:
        with contextlib.ExitStack() as stack, _sigterm_as_interrupt():
            if serve_stack:
                url = _start_stack(stack, err)
            run = asyncio.run(_run(url, cases, concurrency=concurrency, timeout_s=timeout, err=err))
    except BotUnreachableError as exc:
        raise _fail(err, str(exc)) from None
    except launcher.LaunchError as exc:
        raise _fail(err, f"the stack did not start: {exc}") from None
    except KeyboardInterrupt:
        err.print("[yellow]interrupted[/yellow]")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    summary = summarize(run.results)
    err.print(f"[dim]{len(run.results)} case(s) in {run.seconds:.1f}s against {escape(run.url)}[/]")
    print_failures(out, run.results)
    _write_reports(err, run, summary, json_out=json_out, junit_out=junit_out, html_out=html_out)
    code = exit_code(summary, min_pass_rate)
    if min_pass_rate is not None:
        verdict = "reached" if summary.cases.rate >= min_pass_rate else "below"
        out.print(f"pass rate {summary.cases.rate:.1%} ({verdict} --min-pass-rate {min_pass_rate})")
    # Plain echo, not rich: CI tools parse this exact last line.
    typer.echo(summary.line())
    raise typer.Exit(code)


def _start_stack(stack: contextlib.ExitStack, err: Console) -> str:
    """Start actions, Rasa and the bot; they stop when `stack` closes (also on errors)."""
    redis_url = os.environ.get("REDIS_URL") or None
    err.print(f"[dim]starting the stack (logs in {STACK_LOG_DIR}); Rasa takes about a minute[/]")
    with err.status("starting the stack…") as status:

        def say(message: str) -> None:
            status.update(message)
            err.print(f"[dim]{escape(message)}[/dim]")

        running = stack.enter_context(launcher.local_stack(STACK_LOG_DIR, redis_url, progress=say))
    return running.bot_url


async def _run(
    url: str, cases: list[Case], *, concurrency: int, timeout_s: float, err: Console
) -> Run:
    from bot.faqtest import runner

    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    # No bar when stderr is a log file or CI: a redrawn bar is only noise there.
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as progress:
        task = progress.add_task("FAQ cases", total=len(cases))
        failed = 0

        def on_health(health: Health) -> None:
            if not health.ok:
                failing = ", ".join(health.failing) or "no details"
                progress.console.print(
                    f"[yellow]warning:[/yellow] {escape(url)}/healthz answered {health.status}"
                    f" (degraded: {escape(failing)}); running anyway",
                    soft_wrap=True,
                )

        def on_case(result: CaseResult) -> None:
            nonlocal failed
            failed += not result.passed
            progress.update(task, advance=1, description=f"FAQ cases ({failed} failed)")

        return await runner.run(
            url,
            cases,
            concurrency=concurrency,
            timeout_s=timeout_s,
            on_health=on_health,
            on_case=on_case,
        )


def _write_reports(
    err: Console,
    run: Run,
    summary: Summary,
    *,
    json_out: Path | None,
    junit_out: Path | None,
    html_out: Path | None,
) -> None:
    from bot.faqtest.reports import write_json, write_junit

    try:
        if json_out is not None:
            write_json(json_out, run, summary)
        if junit_out is not None:
            write_junit(junit_out, run)
        if html_out is not None:
            from bot.faqtest.reports.html_report import write_html  # matplotlib: slow import

            write_html(html_out, run, summary)
    except OSError as exc:
        raise _fail(err, f"cannot write a report: {exc}") from None
    for path in (json_out, junit_out, html_out):
        if path is not None:
            err.print(f"[dim]wrote {escape(str(path))}[/dim]")


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    # CI cancels jobs with SIGTERM, whose default action skips `finally`: the stack's
    # processes (in their own sessions) would outlive us. Treat it like Ctrl-C instead.
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)

"""`bizbot unanswered ...`: list and export the questions the bot could not answer.

Exit codes: 0 done, 2 nothing to read (REDIS_URL unset), Redis unreachable or a bad option,
or the output file cannot be written.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bot.desk.unanswered import (
    Unanswered,
    UnansweredLog,
    export_cases,
    format_ts,
    group_similar,
)
from bot.settings import Settings
from bot.state.keys import Keys
from bot.state.redis import StateUnavailableError, open_redis

EXIT_UNUSABLE = 2
VARIANTS_SHOWN = 3

app = typer.Typer(
    help="Questions the bot could not answer (fallbacks, 'not in my sources'), from Redis.",
    no_args_is_help=True,
)

Limit = Annotated[
    int | None,
    typer.Option(min=1, help="Read only the newest N logged questions (default: all)."),
]


def _fail(console: Console, message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True, highlight=False)
    return typer.Exit(EXIT_UNUSABLE)


def _where(url: str) -> str:
    # Name the server without the password a Redis URL may carry.
    parts = urlsplit(url)
    try:
        port = parts.port or 6379
    except ValueError:  # not a number
        port = None
    return f"{parts.hostname or '?'}:{port or '?'}"


def _read(err: Console, limit: int | None) -> list[Unanswered]:
    try:
        settings = Settings()
    except ValidationError as exc:
        raise _fail(err, f"invalid settings: {exc.errors()[0]['msg']}") from None
    if settings.redis_url is None:
        raise _fail(
            err,
            "REDIS_URL is not set: without Redis the log lives in the running bot's embedded "
            "store and cannot be read from here; set REDIS_URL to the bot's Redis.",
        )
    try:
        return asyncio.run(_entries(settings.redis_url, Keys(settings.redis_key_prefix), limit))
    except StateUnavailableError:
        raise _fail(err, f"cannot reach Redis at {_where(settings.redis_url)}") from None
    except ValueError as exc:
        # redis-py rejects a URL whose scheme it does not know (it must be redis://…).
        raise _fail(err, f"REDIS_URL is not a usable Redis URL: {exc}") from None


async def _entries(url: str, keys: Keys, limit: int | None) -> list[Unanswered]:
    async with open_redis(url) as redis:
        return await UnansweredLog(redis, keys).entries(limit=limit)


def _tally(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{name} {n}" for name, n in counts.items())


@app.command("list")
def list_groups(
    limit: Limit = None,
    top: Annotated[int | None, typer.Option(min=1, help="Show only the N largest groups.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the groups as JSON.")] = False,
) -> None:
    """Group similar unanswered questions, most frequent first."""
    out, err = Console(), Console(stderr=True)
    groups = group_similar(_read(err, limit))[:top]
    if as_json:
        # Plain echo, not rich: scripts parse this.
        typer.echo(json.dumps([asdict(g) for g in groups], ensure_ascii=False, indent=2))
        return
    if not groups:
        out.print("No unanswered questions are logged.")
        return
    table = Table(title=f"{len(groups)} group(s) of unanswered questions")
    for column in ("count", "question", "variants", "channels", "top intent", "last seen"):
        table.add_column(column, overflow="fold", justify="right" if column == "count" else "left")
    for group in groups:
        others = group.variants[1:]
        shown = [escape(text) for text in others[:VARIANTS_SHOWN]]
        if len(others) > VARIANTS_SHOWN:
            shown.append(f"… and {len(others) - VARIANTS_SHOWN} more")
        table.add_row(
            str(group.count),
            escape(group.representative),
            "\n".join(shown) or "—",
            escape(_tally(group.channels)),
            escape(group.top_intent),
            format_ts(group.last_ts),
        )
    out.print(table)


@app.command()
def export(
    out_file: Annotated[Path, typer.Argument(metavar="OUT.yml", help="The case file to write.")],
    limit: Limit = None,
    min_count: Annotated[
        int, typer.Option(min=1, help="Export only groups asked at least K times.")
    ] = 1,
) -> None:
    """Write the groups as `bizbot faq-test` cases whose expectations are left to fill in."""
    out, err = Console(), Console(stderr=True)
    entries = _read(err, limit)
    groups = [g for g in group_similar(entries) if g.count >= min_count]
    if not groups:
        why = f"no group was asked at least {min_count} times" if entries else "the log is empty"
        out.print(f"Nothing to export ({why}); {escape(str(out_file))} was not written.")
        return
    try:
        out_file.write_text(export_cases(groups), encoding="utf-8")
    except OSError as exc:
        raise _fail(err, f"cannot write {out_file}: {exc.strerror or exc}") from None
    questions = sum(g.count for g in groups)
    out.print(
        f"wrote {len(groups)} case(s) ({questions} question(s)) to {escape(str(out_file))}; "
        "fill in their expectations before using them (docs/unanswered.md)",
        soft_wrap=True,
        highlight=False,
    )

"""`bizbot rasa ...`: generated Rasa training data."""

from __future__ import annotations

import typer
from rich.console import Console

from bot import rasa_lookups

app = typer.Typer(no_args_is_help=True)
console = Console()


@app.command()
def lookups(
    check: bool = typer.Option(False, "--check", help="Fail if the file is out of date."),
) -> None:
    """Write rasa_project/data/lookups.yml from bot/facts/data/entities.yml."""
    text = rasa_lookups.generate()
    target = rasa_lookups.LOOKUPS_FILE
    current = target.read_text("utf-8") if target.exists() else None
    if current == text:
        console.print(f"{target.name} is up to date")
        return
    if check:
        console.print(f"[red]{target} is out of date: run `bizbot rasa lookups`.[/]")
        raise typer.Exit(1)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(text, "utf-8")
    tmp.replace(target)
    console.print(f"wrote {target}")

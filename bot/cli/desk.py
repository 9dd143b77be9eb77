"""`bizbot desk ...`: service-desk administration (agent tokens)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from bot.desk.agents import Agent, AgentConfigError, entry_for, new_token, validate_name

app = typer.Typer(help="Service-desk administration.", no_args_is_help=True)


@app.callback()
def desk() -> None:
    """Service-desk administration: agent tokens for the desk console."""
    # An explicit callback keeps `token` a subcommand while it is the only one.


@app.command()
def token(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="The agent's name (1-32 of A-Z a-z 0-9 _ . -).")
    ],
    admin: Annotated[bool, typer.Option("--admin", help="May also manage the desk.")] = False,
) -> None:
    """Make a new console token for NAME and print it with its DESK_AGENTS entry."""
    try:
        agent = Agent(validate_name(name), admin=admin)
    except AgentConfigError as exc:
        Console(stderr=True).print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(2) from None
    secret = new_token()
    # Plain echo, not rich: the token and the entry must be copied exactly, never wrapped.
    typer.echo(f"Token for {agent.name} ({agent.role}); it is shown only this once:")
    typer.echo(f"\n    {secret}\n")
    typer.echo("Give it to the agent privately. Add this entry to DESK_AGENTS (entries are")
    typer.echo("comma-separated; replace any old entry for this name) and restart the bot:")
    typer.echo(f"\n    {entry_for(agent, secret)}\n")

"""Process commands: the bot server, the Rasa and action-server launchers, the terminal chat."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import typer
from pydantic import ValidationError
from rich.console import Console

from bot.settings import ROOT, Settings

console = Console()
log = logging.getLogger("bizbot")
RASA_PROJECT = ROOT / "rasa_project"
DEFAULT_RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"


def configure_logging(level: str) -> None:
    """One log format for every bizbot process."""
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def rasa_environment(settings: Settings, base: dict[str, str]) -> tuple[Path, dict[str, str]]:
    """Pick Rasa's endpoints file and fill its variables from our settings."""
    env = dict(base)
    env["ACTION_SERVER_URL"] = settings.action_server_url
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    # Two cores: let TensorFlow use one thread pool of two, not a pool per core per op.
    env.setdefault("TF_NUM_INTRAOP_THREADS", "2")
    env.setdefault("TF_NUM_INTEROP_THREADS", "1")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if settings.redis_url is None:
        return RASA_PROJECT / "endpoints.memory.yml", env
    url = urlsplit(settings.redis_url)
    if url.scheme not in {"redis", "rediss"}:
        raise typer.BadParameter("REDIS_URL must start with redis:// or rediss://")
    env["RASA_REDIS_HOST"] = url.hostname or "127.0.0.1"
    env["RASA_REDIS_PORT"] = str(url.port or 6379)
    env["RASA_REDIS_DB"] = (url.path or "/0").lstrip("/") or "0"
    env["RASA_REDIS_PASSWORD"] = url.password or ""
    return RASA_PROJECT / "endpoints.yml", env


def register(app: typer.Typer) -> None:
    """Add the process commands to the main app."""

    @app.command()
    def serve() -> None:
        """Run the bot: web chat, /api/chat and the channels."""
        from aiohttp import web

        from bot.app import create_app
        from bot.desk.agents import AgentConfigError
        from bot.desk.hours import DeskHoursError

        # A wrong setting is the operator's to fix: say which, without a traceback.
        try:
            settings = Settings()
        except ValidationError as exc:
            console.print(f"[bold red]Configuration error:[/] {exc}")
            raise typer.Exit(2) from exc
        configure_logging(settings.log_level)
        try:
            application = create_app(settings)
        except (AgentConfigError, DeskHoursError) as exc:
            console.print(f"[bold red]Configuration error:[/] {exc}")
            raise typer.Exit(2) from exc
        url = f"http://{settings.bot_host}:{settings.bot_port}/"
        web.run_app(
            application,
            host=settings.bot_host,
            port=settings.bot_port,
            print=lambda _: console.print(f"[bold green]Web chat:[/] {url}"),
            access_log=None,
        )

    @app.command("rasa-server")
    def rasa_server(
        rasa_python: Annotated[
            Path, typer.Option(envvar="RASA_PYTHON", help="The Python Rasa is installed in.")
        ] = DEFAULT_RASA_PYTHON,
    ) -> None:
        """Run `rasa run --enable-api` on 127.0.0.1 with Redis or the in-memory default.

        Rasa starts through rasa_project/rasa_run.py, which applies our fixes to Rasa 3.6.
        """
        settings = Settings()
        configure_logging(settings.log_level)
        endpoints, env = rasa_environment(settings, dict(os.environ))
        if settings.redis_url is None:
            log.warning(
                "REDIS_URL is not set: Rasa keeps trackers in memory; "
                "conversations are NOT persistent"
            )
        if not rasa_python.exists():
            console.print(f"[red]Rasa is not installed at {rasa_python}: run `make setup`.[/]")
            raise typer.Exit(2)
        args = [
            str(rasa_python),
            str(RASA_PROJECT / "rasa_run.py"),
            "run",
            "--enable-api",
            "-i",
            "127.0.0.1",
            "-p",
            str(settings.rasa_port),
            "--endpoints",
            str(endpoints),
            "--credentials",
            str(RASA_PROJECT / "credentials.yml"),
            "--model",
            str(RASA_PROJECT / "models"),
        ]
        if settings.rasa_token:
            args += ["--auth-token", settings.rasa_token.get_secret_value()]
        os.chdir(RASA_PROJECT)
        os.execve(args[0], args, env)  # noqa: S606 -- replace this process with Rasa

    @app.command("action-server")
    def action_server() -> None:
        """Run the rasa-sdk action server with the project's actions."""
        settings = Settings()
        env = dict(os.environ)
        env.setdefault("SEEDS_DIR", str(settings.seeds_dir))
        env.setdefault("FACTS_DIR", str(settings.facts_dir))
        args = [
            sys.executable,
            "-m",
            "rasa_sdk",
            "--actions",
            "actions",
            "-p",
            str(settings.action_server_port),
        ]
        os.chdir(RASA_PROJECT)
        os.execve(args[0], args, env)  # noqa: S606 -- replace this process with rasa-sdk

    @app.command()
    def chat(url: str = typer.Option("http://127.0.0.1:8080", help="The running bot.")) -> None:
        """Chat with a running stack in the terminal (Ctrl-D to quit)."""
        from bot.cli.terminal_chat import run

        raise typer.Exit(asyncio.run(run(url, console)))

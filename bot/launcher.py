"""Start the whole stack (action server, Rasa, bot) as child processes and wait for health.

Used by `bizbot faq-test --serve-stack`, the benchmarks and the test fixtures, so that each
starts the stack exactly the way the Procfile does (`bizbot action-server`, `bizbot
rasa-server`, `bizbot serve`), only on free ports and with logs in a folder of its choice.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from bot.settings import ROOT

RASA_BIN = ROOT / ".venv-rasa" / "bin" / "rasa"
MODEL = ROOT / "rasa_project" / "models" / "bizbot.tar.gz"
RASA_START_TIMEOUT_S = 240.0
Progress = Callable[[str], None]


class LaunchError(Exception):
    """A process of the stack failed to start or to become healthy."""


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Proc:
    """One child process with its log file."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    started: float = field(default_factory=time.monotonic)

    def tail(self, lines: int = 40) -> str:
        """The end of the process's output, for error messages."""
        text = self.log.read_text("utf-8", errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM the process group, then SIGKILL if it does not exit in time."""
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(5)


@dataclass
class Group:
    """Processes started together and stopped in reverse order."""

    log_dir: Path
    procs: list[Proc] = field(default_factory=list)

    def start(self, name: str, args: list[str], env: Mapping[str, str]) -> Proc:
        """Start `args` in its own process group, output to `<log_dir>/<name>.log`."""
        log = self.log_dir / f"{name}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(  # noqa: S603 -- our own commands, no shell
                args,
                cwd=ROOT,
                env=dict(env),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        proc = Proc(name, popen, log)
        self.procs.append(proc)
        return proc

    def get(self, name: str) -> Proc:
        """The process started under `name`."""
        return next(p for p in self.procs if p.name == name)

    def stop(self) -> None:
        """Stop everything, newest first."""
        for proc in reversed(self.procs):
            proc.stop()
        self.procs.clear()


def wait_http(url: str, proc: Proc, timeout: float, *, any_status: bool = False) -> float:
    """Poll `url` until it answers 200 (any status if `any_status`); seconds since start."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise LaunchError(f"{proc.name} exited ({proc.popen.returncode}):\n{proc.tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 -- loopback only
                if resp.status == 200:
                    return time.monotonic() - proc.started
        except urllib.error.HTTPError:
            if any_status:
                return time.monotonic() - proc.started
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    raise LaunchError(f"{proc.name} not ready at {url} after {timeout:.0f}s:\n{proc.tail()}")


def child_env(**overrides: str | None) -> dict[str, str]:
    """Our environment minus stack settings (so a .env cannot redirect a test stack)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BOT_", "RASA_", "REDIS_", "ACTION_SERVER_"))
    }
    env["PYTHONUNBUFFERED"] = "1"
    env["RASA_TELEMETRY_ENABLED"] = "false"
    env.update({k: v for k, v in overrides.items() if v is not None})
    return env


@contextlib.contextmanager
def redis_server(log_dir: Path, *, port: int | None = None) -> Iterator[str]:
    """A real redis-server with AOF on; yields its URL.

    Started again with the same `log_dir` and `port`, it reloads what the last one wrote.
    """
    exe = shutil.which("redis-server")
    if exe is None:
        raise RuntimeError("redis-server is not installed: apt-get install redis-server")
    port = port or free_port()
    data = log_dir / f"redis-{port}"
    data.mkdir(parents=True, exist_ok=True)
    group = Group(log_dir)
    proc = group.start(
        "redis",
        [
            exe,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(data),
            "--appendonly",
            "yes",
            "--save",
            "",
        ],
        env=os.environ,
    )
    deadline = time.monotonic() + 10
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            break
        if time.monotonic() > deadline or proc.popen.poll() is not None:
            raise RuntimeError(f"redis-server did not start:\n{proc.tail()}")
        time.sleep(0.1)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        group.stop()


@dataclass
class Stack:
    """Addresses of a running stack, its processes and how long each took to be ready."""

    bot_url: str
    rasa_url: str
    action_url: str
    redis_url: str | None
    group: Group
    ready_s: dict[str, float] = field(default_factory=dict)


@contextlib.contextmanager
def local_stack(
    log_dir: Path,
    redis_url: str | None,
    *,
    bot_port: int | None = None,
    progress: Progress | None = None,
) -> Iterator[Stack]:
    """Run actions, Rasa and the bot on free ports until the block exits."""
    stack = start_stack(log_dir, redis_url, bot_port=bot_port, progress=progress)
    try:
        yield stack
    finally:
        stack.group.stop()


def start_stack(
    log_dir: Path,
    redis_url: str | None,
    *,
    bot_port: int | None = None,
    progress: Progress | None = None,
) -> Stack:
    """Start the three processes; the caller stops `stack.group`."""
    say = progress or (lambda _: None)
    for needed, fix in ((RASA_BIN, "make setup"), (MODEL, "make train")):
        if not needed.exists():
            raise LaunchError(f"{needed} is missing: run `{fix}` first")
    log_dir.mkdir(parents=True, exist_ok=True)
    bot_port = bot_port or free_port()
    rasa_port, action_port = free_port(), free_port()
    stack = Stack(
        bot_url=f"http://127.0.0.1:{bot_port}",
        rasa_url=f"http://127.0.0.1:{rasa_port}",
        action_url=f"http://127.0.0.1:{action_port}",
        redis_url=redis_url,
        group=Group(log_dir),
    )
    env = child_env(
        BOT_PORT=str(bot_port),
        RASA_PORT=str(rasa_port),
        RASA_URL=stack.rasa_url,
        ACTION_SERVER_PORT=str(action_port),
        ACTION_SERVER_URL=stack.action_url,
        REDIS_URL=redis_url,
    )
    bizbot = str(Path(sys.executable).with_name("bizbot"))
    try:
        say("starting the action server, Rasa and the bot")
        actions = stack.group.start("actions", [bizbot, "action-server"], env)
        rasa = stack.group.start("rasa", [bizbot, "rasa-server"], env)
        bot = stack.group.start("bot", [bizbot, "serve"], env)
        # Each process is timed on its own, in parallel: the bot answers (503 while Rasa
        # loads) long before its /healthz is green, which is the whole stack's figure.
        waits = {
            "actions": (f"{stack.action_url}/health", actions, 60.0, False),
            "rasa": (f"{stack.rasa_url}/version", rasa, RASA_START_TIMEOUT_S, False),
            "bot": (f"{stack.bot_url}/healthz", bot, 30.0, True),
        }
        with ThreadPoolExecutor(len(waits)) as pool:
            futures = {
                name: pool.submit(wait_http, url, proc, timeout, any_status=any_status)
                for name, (url, proc, timeout, any_status) in waits.items()
            }
            try:
                for name, future in futures.items():
                    stack.ready_s[name] = future.result()
                    say(f"{name} answering after {stack.ready_s[name]:.1f}s")
            except BaseException:
                # Stopped processes end the other waits at once, so the pool can shut down.
                stack.group.stop()
                raise
        stack.ready_s["stack"] = wait_http(f"{stack.bot_url}/healthz", bot, 30)
        say(f"stack healthy at {stack.bot_url} ({stack.ready_s['stack']:.1f}s)")
    except BaseException:
        stack.group.stop()
        raise
    return stack

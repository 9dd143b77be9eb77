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
    args: list[str]
    env: dict[str, str]
    started: float = field(default_factory=time.monotonic)

    def tail(self, lines: int = 40) -> str:
        """The end of the process's output, for error messages."""
        text = self.log.read_text("utf-8", errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM the process group, then SIGKILL if it does not exit in time."""
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGCONT)  # a paused process cannot stop
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(5)

    def kill(self) -> None:
        """SIGKILL the process group at once: a crash, not a shutdown (fault injection)."""
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(10)

    def pause(self) -> None:
        """SIGSTOP the process group: it keeps its sockets but answers nothing."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT a paused process group."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGCONT)


@dataclass
class Group:
    """Processes started together and stopped in reverse order."""

    log_dir: Path
    procs: list[Proc] = field(default_factory=list)

    def start(self, name: str, args: list[str], env: Mapping[str, str]) -> Proc:
        """Start `args` in its own process group, output to `<log_dir>/<name>.log`."""
        proc = _spawn(name, args, dict(env), self.log_dir / f"{name}.log", append=False)
        self.procs.append(proc)
        return proc

    def restart(self, name: str) -> Proc:
        """Start `name` again with the same command and environment (its log is appended to).

        The old process must have exited (see `Proc.kill`); the new one takes its place.
        """
        old = self.get(name)
        if old.popen.poll() is None:
            raise LaunchError(f"{name} is still running; kill or stop it first")
        proc = _spawn(name, old.args, old.env, old.log, append=True)
        self.procs[self.procs.index(old)] = proc
        return proc

    def get(self, name: str) -> Proc:
        """The process started under `name`."""
        return next(p for p in self.procs if p.name == name)

    def stop(self) -> None:
        """Stop everything, newest first."""
        for proc in reversed(self.procs):
            proc.stop()
        self.procs.clear()


def _spawn(name: str, args: list[str], env: dict[str, str], log: Path, *, append: bool) -> Proc:
    with log.open("ab" if append else "wb") as out:
        popen = subprocess.Popen(  # noqa: S603 -- our own commands, no shell
            args,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Proc(name, popen, log, args, env)


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


class RedisServer:
    """A real redis-server with AOF on, in `log_dir`, that can be killed and started again.

    Started again with the same `log_dir` and `port`, it reloads what the last one wrote
    (AOF with `appendfsync everysec`, Redis's default: a crash loses at most about a second).
    """

    def __init__(self, log_dir: Path, *, port: int | None = None) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            raise RuntimeError("redis-server is not installed: apt-get install redis-server")
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        data = log_dir / f"redis-{self.port}"
        data.mkdir(parents=True, exist_ok=True)
        self.group = Group(log_dir)
        self._args = [
            exe,
            *("--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(data)),
            *("--appendonly", "yes", "--appendfsync", "everysec", "--save", ""),
        ]

    @property
    def proc(self) -> Proc:
        """The redis-server process."""
        return self.group.get("redis")

    def start(self) -> None:
        """Start redis-server (again, after `kill`) and wait until it accepts connections."""
        if self.group.procs:
            proc = self.group.restart("redis")
        else:
            proc = self.group.start("redis", self._args, env=os.environ)
        deadline = time.monotonic() + 10
        while True:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.5),
            ):
                break
            if time.monotonic() > deadline or proc.popen.poll() is not None:
                raise RuntimeError(f"redis-server did not start:\n{proc.tail()}")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL redis-server (a crash: no final AOF flush)."""
        self.proc.kill()

    def stop(self) -> None:
        """Stop redis-server cleanly."""
        self.group.stop()


@contextlib.contextmanager
def redis_server(log_dir: Path, *, port: int | None = None) -> Iterator[str]:
    """A real redis-server with AOF on; yields its URL (see `RedisServer`)."""
    server = RedisServer(log_dir, port=port)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@dataclass
class Stack:
    """Addresses of a running stack, its processes and how long each took to be ready."""

    bot_url: str
    rasa_url: str
    action_url: str
    redis_url: str | None
    group: Group
    ready_s: dict[str, float] = field(default_factory=dict)
    bot_urls: list[str] = field(default_factory=list)
    """Every bot replica's address (`bot_url` is the first); processes `bot`, `bot2`, …"""

    def health_url(self, name: str) -> str:
        """The URL that answers 200 once process `name` is ready."""
        if name == "actions":
            return f"{self.action_url}/health"
        if name == "rasa":
            return f"{self.rasa_url}/version"
        return f"{self.bot_urls[bot_index(name)]}/healthz"

    def restart(self, name: str, timeout: float = RASA_START_TIMEOUT_S) -> float:
        """Start process `name` again after a crash; seconds until it is ready."""
        proc = self.group.restart(name)
        return wait_http(self.health_url(name), proc, timeout, any_status=name.startswith("bot"))


def bot_index(name: str) -> int:
    """`bot` is replica 0, `bot2` replica 1, …"""
    return int(name.removeprefix("bot") or "1") - 1


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
    bots: int = 1,
    env: Mapping[str, str] | None = None,
) -> Stack:
    """Start the action server, Rasa and `bots` bot replicas; the caller stops `stack.group`.

    `env` adds settings for every process (channel credentials, fake API addresses, …).
    Replicas need a shared `redis_url`: that is where they meet.
    """
    say = progress or (lambda _: None)
    for needed, fix in ((RASA_BIN, "make setup"), (MODEL, "make train")):
        if not needed.exists():
            raise LaunchError(f"{needed} is missing: run `{fix}` first")
    if bots > 1 and redis_url is None:
        raise LaunchError("bot replicas share their state through Redis: give a redis_url")
    log_dir.mkdir(parents=True, exist_ok=True)
    bot_ports = [bot_port or free_port(), *(free_port() for _ in range(bots - 1))]
    rasa_port, action_port = free_port(), free_port()
    stack = Stack(
        bot_url=f"http://127.0.0.1:{bot_ports[0]}",
        rasa_url=f"http://127.0.0.1:{rasa_port}",
        action_url=f"http://127.0.0.1:{action_port}",
        redis_url=redis_url,
        group=Group(log_dir),
        bot_urls=[f"http://127.0.0.1:{port}" for port in bot_ports],
    )
    base = child_env(
        RASA_PORT=str(rasa_port),
        RASA_URL=stack.rasa_url,
        ACTION_SERVER_PORT=str(action_port),
        ACTION_SERVER_URL=stack.action_url,
        REDIS_URL=redis_url,
    )
    base.update(env or {})
    bizbot = str(Path(sys.executable).with_name("bizbot"))
    bot_names = ["bot", *(f"bot{i + 1}" for i in range(1, bots))]
    try:
        say(f"starting the action server, Rasa and {bots} bot process(es)")
        stack.group.start("actions", [bizbot, "action-server"], base)
        stack.group.start("rasa", [bizbot, "rasa-server"], base)
        for name, port in zip(bot_names, bot_ports, strict=True):
            stack.group.start(name, [bizbot, "serve"], {**base, "BOT_PORT": str(port)})
        # Each process is timed on its own, in parallel: the bot answers (503 while Rasa
        # loads) long before its /healthz is green, which is the whole stack's figure.
        timeouts = {"actions": 60.0, "rasa": RASA_START_TIMEOUT_S}
        names = ["actions", "rasa", *bot_names]
        with ThreadPoolExecutor(len(names)) as pool:
            futures = {
                name: pool.submit(
                    wait_http,
                    stack.health_url(name),
                    stack.group.get(name),
                    timeouts.get(name, 30.0),
                    any_status=name.startswith("bot"),
                )
                for name in names
            }
            try:
                for name, future in futures.items():
                    stack.ready_s[name] = future.result()
                    say(f"{name} answering after {stack.ready_s[name]:.1f}s")
            except BaseException:
                # Stopped processes end the other waits at once, so the pool can shut down.
                stack.group.stop()
                raise
        for name in bot_names:
            ready = wait_http(stack.health_url(name), stack.group.get(name), 30)
            stack.ready_s["stack"] = max(stack.ready_s.get("stack", 0.0), ready)
        say(f"stack healthy at {', '.join(stack.bot_urls)} ({stack.ready_s['stack']:.1f}s)")
    except BaseException:
        stack.group.stop()
        raise
    return stack

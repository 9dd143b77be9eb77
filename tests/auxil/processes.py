"""Start and stop the real processes tests run against (Redis, Rasa, action server, bot)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
RASA_BIN = ROOT / ".venv-rasa" / "bin" / "rasa"
MODEL = ROOT / "rasa_project" / "models" / "bizbot.tar.gz"


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

    def tail(self, lines: int = 40) -> str:
        """The end of the process's output, for failure messages."""
        text = self.log.read_text("utf-8", errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM, then SIGKILL if it does not exit in time."""
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

    def start(self, name: str, args: list[str], env: Mapping[str, str], cwd: Path = ROOT) -> Proc:
        """Start `args` in its own process group, output to `<log_dir>/<name>.log`."""
        log = self.log_dir / f"{name}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(
                args,
                cwd=cwd,
                env=dict(env),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        proc = Proc(name, popen, log)
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        """Stop everything, newest first."""
        for proc in reversed(self.procs):
            proc.stop()
        self.procs.clear()


def wait_http(url: str, proc: Proc, timeout: float, *, status: int = 200) -> None:
    """Poll `url` until it answers `status`; fail with the process's log if it dies or hangs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.name} exited ({proc.popen.returncode}):\n{proc.tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 -- loopback
                if resp.status == status:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{proc.name} not ready at {url} after {timeout}s:\n{proc.tail()}")


@contextlib.contextmanager
def redis_server(log_dir: Path) -> Iterator[str]:
    """A real redis-server on a free port, with AOF on; yields its URL."""
    exe = shutil.which("redis-server")
    if exe is None:
        raise RuntimeError("redis-server is not installed: apt-get install redis-server")
    port = free_port()
    data = log_dir / f"redis-{port}"
    data.mkdir(parents=True)
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


def base_env(**overrides: str | None) -> dict[str, str]:
    """The environment for child processes: ours, minus any .env-style leftovers."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BOT_", "RASA_", "REDIS_", "ACTION_SERVER_"))
    }
    env["PYTHONUNBUFFERED"] = "1"
    env["RASA_TELEMETRY_ENABLED"] = "false"
    for key, value in overrides.items():
        if value is not None:
            env[key] = value
    return env

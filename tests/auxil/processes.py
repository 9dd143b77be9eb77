"""Real servers tests run against: a redis-server per session (the stack is in bot.launcher)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from bot.launcher import MODEL, RASA_BIN, Group, free_port

ROOT = Path(__file__).resolve().parents[2]
__all__ = ["MODEL", "RASA_BIN", "ROOT", "free_port", "redis_server"]


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

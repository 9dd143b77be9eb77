"""Measuring helpers shared by the benchmarks: latency histograms, RSS and the machine."""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
from hdrh.histogram import HdrHistogram

ROOT = Path(__file__).resolve().parent.parent
RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"
MB = 2**20


def new_histogram() -> HdrHistogram:
    """Microseconds from 1 µs to 60 s, three significant digits."""
    return HdrHistogram(1, 60_000_000, 3)


def summarise(hist: HdrHistogram) -> dict[str, Any]:
    """p50/p95/p99/max/mean in ms and the sample count."""

    def ms(micros: float) -> float:
        return round(micros / 1000, 2)

    return {
        "p50_ms": ms(hist.get_value_at_percentile(50)),
        "p95_ms": ms(hist.get_value_at_percentile(95)),
        "p99_ms": ms(hist.get_value_at_percentile(99)),
        "max_ms": ms(hist.get_max_value()),
        "mean_ms": ms(hist.get_mean_value()),
        "requests": int(hist.get_total_count()),
    }


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += int(proc.memory_info().rss)
    return total


def high_water_rss(pid: int) -> int | None:
    """The kernel's peak RSS (VmHWM) of one process, where /proc has it."""
    status = Path(f"/proc/{pid}/status")
    with contextlib.suppress(OSError):
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return None


def _command_output(args: Sequence[str]) -> str | None:
    try:
        done = subprocess.run(list(args), cwd=ROOT, capture_output=True, text=True, check=False)
    except OSError:
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip() or None


def machine_info() -> dict[str, Any]:
    """CPU, memory, load, interpreter versions, time and commit of this run."""
    rasa_side = _command_output(
        [
            str(RASA_PYTHON),
            "-c",
            "import sys, importlib.metadata as m; print(sys.version.split()[0], m.version('rasa'))",
        ]
    )
    rasa_python, rasa_version = (rasa_side or "? ?").split()[:2]
    return {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": _command_output(["git", "rev-parse", "HEAD"]),
        "cpu_count": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 1e9, 1),
        "load_avg_1m_at_start": round(os.getloadavg()[0], 2),
        "platform": platform.platform(),
        "python_bench": platform.python_version(),
        "python_rasa": rasa_python,
        "rasa": rasa_version,
    }

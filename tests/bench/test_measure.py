"""The shared measuring helpers of the benchmarks."""

from __future__ import annotations

import os

import psutil
import pytest

from bench import measure


def test_summarise_histogram_in_milliseconds() -> None:
    hist = measure.new_histogram()
    for micros in range(1000, 101_000, 1000):
        hist.record_value(micros)
    summary = measure.summarise(hist)
    assert summary["requests"] == 100
    assert summary["p50_ms"] == pytest.approx(50, rel=0.01)
    assert summary["p99_ms"] == pytest.approx(99, rel=0.01)


def test_rss_of_this_process_is_counted_and_a_gone_process_is_zero() -> None:
    own = psutil.Process().memory_info().rss
    # Children (a test stack, if one runs) count too.
    assert measure.tree_rss(os.getpid()) >= own > 10 * measure.MB
    assert (measure.high_water_rss(os.getpid()) or 0) >= own
    assert measure.tree_rss(2**22 + 1) == 0

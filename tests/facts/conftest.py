"""Shared fixtures: the real seeds built once per session into a temporary directory."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.facts import BuildResult, FactStore, build_index

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    """The index of the real seeds (built once; jieba loads once per session)."""
    return build_index(SEEDS, tmp_path_factory.mktemp("facts"))


@pytest.fixture(scope="session")
def store(built: BuildResult) -> FactStore:
    """The store loaded from :func:`built`."""
    return FactStore.load(built.index_path)


@pytest.fixture
def seeds(tmp_path: Path) -> Path:
    """A private, writable copy of seeds/ for tests that break or extend it."""
    target = tmp_path / "seeds"
    shutil.copytree(SEEDS, target)
    return target

"""The fact store, opened once per action-server process."""

from __future__ import annotations

from functools import cache

from actions import config
from bot.facts import FactStore, open_store


@cache
def fact_store() -> FactStore:
    """Build the index if the seeds changed, then load it (first call only)."""
    return open_store(config.SEEDS_DIR, config.FACTS_DIR)


# rasa-sdk imports this package before it listens, so loading here (index and jieba, about
# 2 s) keeps that cost out of the first user's answer and makes /health mean "ready".
fact_store()

"""Telegram channel (placeholder until the channel lands)."""

from __future__ import annotations

from aiohttp import web


def setup(app: web.Application) -> None:
    """Register the channel's routes and lifecycle on `app` when it is configured."""

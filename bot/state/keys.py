"""The Redis key scheme: every key the bot writes is built here.

All keys start with the configured prefix (`REDIS_KEY_PREFIX`, default `bizbot:`), so the
bot can share a Redis server with Rasa's tracker store (`rasa:` prefix) without clashes.

- `{p}conv:{channel}:{chat_id}` (hash): channel address, script, hand-off state, last seen.
  TTL `CONVERSATION_TTL_DAYS`, refreshed on activity.
- `{p}log:{channel}:{chat_id}` (list): the bounded message log, JSON entries, newest last.
  Same TTL.
- `{p}lock:{channel}:{chat_id}` (string): the per-conversation processing lock, 30 s TTL,
  so one conversation's messages are handled one at a time, in order, across replicas.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Keys:
    """Builds keys under one prefix."""

    prefix: str

    def conversation(self, channel: str, chat_id: str) -> str:
        """Hash with the conversation's address and state."""
        return f"{self.prefix}conv:{channel}:{chat_id}"

    def log(self, channel: str, chat_id: str) -> str:
        """List with the bounded message log."""
        return f"{self.prefix}log:{channel}:{chat_id}"

    def lock(self, channel: str, chat_id: str) -> str:
        """Per-conversation processing lock."""
        return f"{self.prefix}lock:{channel}:{chat_id}"

    def user_keys(self, channel: str, chat_id: str) -> list[str]:
        """Every key that holds data about one user (used by /forget)."""
        return [
            self.conversation(channel, chat_id),
            self.log(channel, chat_id),
            self.lock(channel, chat_id),
        ]

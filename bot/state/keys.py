"""The Redis key scheme: every key the bot writes is built here.

All keys start with the configured prefix (`REDIS_KEY_PREFIX`, default `bizbot:`), so the
bot can share a Redis server with Rasa's tracker store (`rasa:` prefix) without clashes.

- `{p}conv:{channel}:{chat_id}` (hash): channel address, script, hand-off state, last seen.
  TTL `CONVERSATION_TTL_DAYS`, refreshed on activity.
- `{p}log:{channel}:{chat_id}` (list): the bounded message log, JSON entries, newest last.
  Same TTL.
- `{p}lock:{channel}:{chat_id}` (string): the per-conversation processing lock, 30 s TTL,
  so one conversation's messages are handled one at a time, in order, across replicas.
- `{p}rate:{channel}:{chat_id}` (hash): the user's token bucket (tokens, updated), 10 min TTL.
- `{p}dedupe:{channel}:{message_id}` (string): set once per inbound message (WeChat MsgId, or
  FromUserName + CreateTime for events; Telegram `update_id`), 10 min TTL, so retries that
  reach any replica are answered once.
- `{p}wechat:answer:{message_id}` (string): a WeChat answer waiting to be delivered, 10 min TTL,
  so a retry on any replica can carry it as the passive reply.
- `{p}wechat:delivered:{message_id}` (string): the delivery claim: whichever HTTP response or
  customer-service send sets it first delivers the answer, so it goes out exactly once.
- `{p}wechat:access_token` (string): the cached WeChat access token, TTL from its expiry.

The conversation hash also holds `script` (hans/hant), `handoff` (the hand-off state), the
channel address (`chat_type`, `username`, `display_name` on Telegram; `openid`, `app_id` on
WeChat) and `wechat_buttons` (the last turn's button titles, so a typed title acts as a tap).
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

    def rate(self, channel: str, chat_id: str) -> str:
        """The user's rate-limit token bucket."""
        return f"{self.prefix}rate:{channel}:{chat_id}"

    def dedupe(self, channel: str, message_id: str) -> str:
        """Marks an inbound message as seen."""
        return f"{self.prefix}dedupe:{channel}:{message_id}"

    def wechat_answer(self, message_id: str) -> str:
        """A computed WeChat answer awaiting delivery."""
        return f"{self.prefix}wechat:answer:{message_id}"

    def wechat_delivery(self, message_id: str) -> str:
        """The exactly-once delivery claim of a WeChat answer."""
        return f"{self.prefix}wechat:delivered:{message_id}"

    def wechat_access_token(self) -> str:
        """The cached WeChat API access token."""
        return f"{self.prefix}wechat:access_token"

    def user_keys(self, channel: str, chat_id: str) -> list[str]:
        """Every key that holds data about one user (used by /forget)."""
        return [
            self.conversation(channel, chat_id),
            self.log(channel, chat_id),
            self.lock(channel, chat_id),
            self.rate(channel, chat_id),
        ]

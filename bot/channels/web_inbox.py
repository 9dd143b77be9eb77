"""The web chat's inbox: messages for a web user that arrive outside a request (agent replies).

Web users have no push address, so deliveries are appended to a Redis stream per user and
the page reads it over Server-Sent Events (`GET /api/chat/events`).
"""

from __future__ import annotations

import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.desk.errors import DeliveryRetryableError
from bot.state.keys import Keys

INBOX_LENGTH = 200


class WebInbox:
    """Appends messages to a web user's inbox stream."""

    def __init__(self, redis: Redis, keys: Keys, *, ttl_s: int) -> None:
        self._redis = redis
        self._keys = keys
        self._ttl = ttl_s

    def stream(self, chat_id: str) -> str:
        """The user's inbox stream key."""
        return self._keys.web_inbox(chat_id)

    async def send(self, chat_id: str, text: str) -> None:
        """Deliver `text` to the user's inbox (the desk's sender for the web channel)."""
        key = self._keys.web_inbox(chat_id)
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.xadd(
                    key,
                    {"text": text, "ts": f"{time.time():.3f}"},
                    maxlen=INBOX_LENGTH,
                    approximate=True,
                )
                pipe.expire(key, self._ttl)
                await pipe.execute()
        except RedisError as exc:
            raise DeliveryRetryableError("Redis is unavailable") from exc

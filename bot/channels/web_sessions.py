"""Web chat sessions: the server picks each web user's sender id and a bearer token for it.

Only the token's SHA-256 is stored (`{p}web:session:{sender}`, see `bot/state/keys.py`), with
the conversation's TTL, refreshed on activity; `/forget` deletes it with the user's other keys.
Knowing a sender id is not enough to read that user's pushed messages or to write as them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.channels.contract import SENDER_MAX, TOKEN_MAX, WebSession
from bot.state.keys import Keys
from bot.state.redis import StateUnavailableError

# Compared against when the sender has no session, so a miss takes as long as a wrong token.
_NO_SESSION = hashlib.sha256(b"").hexdigest()


def token_hash(token: str) -> str:
    """The hex SHA-256 of a token, as stored (any string hashes; lone surrogates too)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class WebSessions:
    """Opens web chat sessions and checks their tokens."""

    def __init__(self, redis: Redis, keys: Keys, *, ttl_s: int) -> None:
        self._redis = redis
        self._keys = keys
        self._ttl = ttl_s

    async def create(self) -> WebSession:
        """A new session under a sender id nobody has."""
        return await self.issue(secrets.token_hex(16))

    async def issue(self, sender: str) -> WebSession:
        """A new token for `sender`; it replaces the sender's previous token, if any.

        The web route only ever passes a fresh random id (`create`); a known id is for tools
        and tests that run in-process and need a conversation under a name they chose.
        """
        if not sender or len(sender) > SENDER_MAX:
            raise ValueError("a sender id has 1 to 128 characters")
        token = secrets.token_urlsafe(32)
        try:
            await self._redis.set(self._keys.web_session(sender), token_hash(token), ex=self._ttl)
        except RedisError as exc:
            raise StateUnavailableError("Redis is unavailable") from exc
        return WebSession(sender, token)

    async def verify(self, sender: str, token: str) -> bool:
        """Whether `token` is the sender's session token; a match refreshes the session's TTL.

        StateUnavailableError when Redis cannot say (the caller answers 503, never lets in).
        """
        if not sender or len(sender) > SENDER_MAX or not token or len(token) > TOKEN_MAX:
            return False
        key = self._keys.web_session(sender)
        try:
            stored = await self._redis.get(key)
        except RedisError as exc:
            raise StateUnavailableError("Redis is unavailable") from exc
        expected = stored if isinstance(stored, str) else _NO_SESSION
        matches = hmac.compare_digest(token_hash(token), expected) and stored is not None
        if matches:
            try:
                await self._redis.expire(key, self._ttl)
            except RedisError as exc:
                raise StateUnavailableError("Redis is unavailable") from exc
        return matches

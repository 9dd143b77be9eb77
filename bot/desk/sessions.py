"""Console sessions in Redis: a random session id in the cookie, its CSRF token server-side."""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.state.keys import Keys
from bot.state.redis import StateUnavailableError, as_strs

SESSION_TTL_S = 12 * 3600
# What `secrets.token_urlsafe` makes. Anything else (a cookie that is not even UTF-8, whose
# bytes arrive as surrogate escapes) is no session, and never reaches a Redis key.
_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


@dataclass(frozen=True, slots=True)
class Session:
    """A logged-in agent's session."""

    id: str
    agent: str
    csrf: str
    fingerprint: str

    def csrf_matches(self, given: str) -> bool:
        """Constant-time comparison of the request's CSRF token with the session's."""
        return hmac.compare_digest(given.encode("utf-8", "replace"), self.csrf.encode())


class SessionStore:
    """Creates, reads and ends console sessions."""

    def __init__(self, redis: Redis, keys: Keys, *, ttl_s: int = SESSION_TTL_S) -> None:
        self._redis = redis
        self._keys = keys
        self.ttl_s = ttl_s

    async def create(self, agent: str, fingerprint: str) -> Session:
        """A new session; `fingerprint` ties it to the agent's current token hash."""
        session = Session(
            id=secrets.token_urlsafe(32),
            agent=agent,
            csrf=secrets.token_urlsafe(32),
            fingerprint=fingerprint,
        )
        key = self._keys.desk_session(session.id)
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hset(
                    key,
                    mapping={
                        "agent": agent,
                        "csrf": session.csrf,
                        "fingerprint": fingerprint,
                    },
                )
                pipe.expire(key, self.ttl_s)
                await pipe.execute()
        except RedisError as exc:
            raise StateUnavailableError("Redis is unavailable") from exc
        return session

    async def get(self, session_id: str) -> Session | None:
        """The session, or None when unknown or expired."""
        if not _SESSION_ID.fullmatch(session_id):
            return None
        try:
            raw = as_strs(await self._redis.hgetall(self._keys.desk_session(session_id)))
        except RedisError as exc:
            raise StateUnavailableError("Redis is unavailable") from exc
        if not raw.get("agent"):
            return None
        return Session(session_id, raw["agent"], raw.get("csrf", ""), raw.get("fingerprint", ""))

    async def delete(self, session_id: str) -> None:
        """End the session."""
        try:
            await self._redis.delete(self._keys.desk_session(session_id))
        except RedisError as exc:
            raise StateUnavailableError("Redis is unavailable") from exc

"""A per-user token bucket in Redis, shared by every bot replica."""

from __future__ import annotations

import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.state.keys import Keys
from bot.state.redis import StateUnavailableError

BUCKET_TTL_S = 600

# One round trip, atomic across replicas: refill by elapsed time, then take a token.
_TAKE = """
local rate, burst, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
return allowed
"""


class RateLimiter:
    """`allow()` is True while the user has tokens left; they refill at a steady rate."""

    def __init__(self, redis: Redis, keys: Keys, *, per_minute: float, burst: int) -> None:
        self._script = redis.register_script(_TAKE)
        self._keys = keys
        self._rate = per_minute / 60.0
        self._burst = burst

    async def allow(self, channel: str, chat_id: str) -> bool:
        """Take one token for this user, if there is one."""
        try:
            allowed = await self._script(
                keys=[self._keys.rate(channel, chat_id)],
                args=[self._rate, self._burst, f"{time.time():.6f}", BUCKET_TTL_S],
            )
        except RedisError as exc:
            raise StateUnavailableError("Redis is unavailable") from exc
        return bool(allowed)

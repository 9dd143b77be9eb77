"""Claims and first sightings: exactly one winner, also across a Redis restart."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from bot.launcher import RedisServer
from bot.state.dedupe import claim, first_sighting
from bot.state.keys import Keys
from bot.state.redis import open_redis


async def test_a_claim_after_redis_restarted_has_one_winner(tmp_path: Path) -> None:
    server = RedisServer(tmp_path)
    server.start()
    try:
        async with open_redis(server.url) as redis:
            # Open pooled connections, then restart Redis under them: they are all stale.
            await asyncio.gather(*(redis.ping() for _ in range(8)))
            server.kill()
            server.start()
            keys = Keys("t:")
            won = await asyncio.gather(
                *(first_sighting(redis, keys, "wechat", "m1") for _ in range(8))
            )
    finally:
        server.stop()
    assert won.count(True) == 1


class LostReply(Redis):
    """A Redis client whose first SET runs on the server but whose reply is lost."""

    lost = False

    async def set(self, *args: Any, **kwargs: Any) -> Any:
        result = await super().set(*args, **kwargs)
        if not self.lost:
            self.lost = True
            raise RedisConnectionError("Connection closed by server.")
        return result


async def test_a_retried_claim_knows_it_won_before_the_reply_was_lost(redis_url: str) -> None:
    client = LostReply.from_url(redis_url, decode_responses=True)
    try:
        assert await claim(client, "t:claim:lost-reply", 60) is True
        assert await claim(client, "t:claim:lost-reply", 60) is False
    finally:
        await client.delete("t:claim:lost-reply")
        await client.aclose()

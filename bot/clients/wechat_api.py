"""Client of WeChat's customer-service message API, with the access token cached in Redis."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from typing import Any

import aiohttp
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.state.keys import Keys

log = logging.getLogger(__name__)

TOKEN_ERRCODES = frozenset({40001, 40014, 42001})
"""Invalid, malformed or expired access token: refresh once and try again."""
BUSY_ERRCODE = -1
""""System busy": nothing was done, so the call may be retried."""
TOKEN_EARLY_S = 300


class WeChatError(Exception):
    """Base class for every failure talking to the WeChat API."""


class WeChatUnavailableError(WeChatError):
    """WeChat could not be reached, or kept failing (5xx, "system busy"), after the retries."""


class WeChatTimeoutError(WeChatUnavailableError):
    """WeChat did not answer in time."""


class WeChatResponseError(WeChatError):
    """WeChat answered with an unexpected status or a body we cannot read."""


class WeChatApiError(WeChatError):
    """WeChat answered with a non-zero `errcode`."""

    def __init__(self, errcode: int, errmsg: str, path: str) -> None:
        super().__init__(f"WeChat errcode {errcode} on {path}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


class _RetryableError(Exception):
    """Internal: this attempt failed in a way another attempt may fix."""


class WeChatClient:
    """Sends customer-service messages; one instance per app, shared session and Redis."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        redis: Redis,
        keys: Keys,
        *,
        base_url: str,
        app_id: str,
        app_secret: str,
        timeout_s: float = 5.0,
        retries: int = 2,
        backoff_s: float = 0.2,
    ) -> None:
        self._session = session
        self._redis = redis
        self._key = keys.wechat_access_token()
        self._base = base_url.rstrip("/")
        self._credentials = {
            "grant_type": "client_credential",
            "appid": app_id,
            "secret": app_secret,
        }
        self._timeout = aiohttp.ClientTimeout(total=timeout_s, connect=min(timeout_s, 3.0))
        self._retries = retries
        self._backoff = backoff_s
        # One fetch at a time per replica; other replicas share the result through Redis.
        self._lock = asyncio.Lock()

    async def send_text(self, openid: str, content: str) -> None:
        """Send one text message to the user; refreshes the token once if WeChat rejects it."""
        body = {"touser": openid, "msgtype": "text", "text": {"content": content}}
        token = await self.access_token()
        try:
            await self._call("/cgi-bin/message/custom/send", token, body)
        except WeChatApiError as exc:
            if exc.errcode not in TOKEN_ERRCODES:
                raise
            log.info("WeChat rejected the access token (errcode %d); refreshing", exc.errcode)
            await self._call("/cgi-bin/message/custom/send", await self.access_token(token), body)

    async def access_token(self, stale: str | None = None) -> str:
        """The cached token, or a new one when none is cached or the cached one is `stale`."""
        cached = await self._cached()
        if cached and cached != stale:
            return cached
        async with self._lock:
            cached = await self._cached()
            if cached and cached != stale:
                return cached
            data = await self._request("GET", "/cgi-bin/token", params=self._credentials)
            token, expires_in = data.get("access_token"), data.get("expires_in")
            if not isinstance(token, str) or not token or not isinstance(expires_in, int):
                raise WeChatResponseError("WeChat's token answer lacks access_token/expires_in")
            # Renew well before expiry; short-lived tokens (tests) are cached for half their life.
            ttl = expires_in - TOKEN_EARLY_S if expires_in > 2 * TOKEN_EARLY_S else expires_in // 2
            try:
                await self._redis.set(self._key, token, ex=max(ttl, 1))
            except RedisError as exc:
                log.warning("could not cache the WeChat access token: %s", exc)
            return token

    async def _cached(self) -> str | None:
        try:
            value = await self._redis.get(self._key)
        except RedisError as exc:
            log.warning("WeChat token cache unavailable, fetching a new token: %s", exc)
            return None
        return str(value) if value else None

    async def _call(self, path: str, token: str, body: Mapping[str, Any]) -> None:
        # WeChat shows \\u escapes literally, so the JSON must carry raw UTF-8.
        data = json.dumps(body, ensure_ascii=False).encode()
        await self._request("POST", path, params={"access_token": token}, data=data)

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str],
        data: bytes | None = None,
    ) -> dict[str, Any]:
        # A POST that timed out may have been delivered, so only GETs retry timeouts;
        # connection failures, 5xx and "system busy" mean nothing happened and are retried.
        attempts = self._retries + 1
        for attempt in range(attempts):
            try:
                return await self._once(method, path, params, data)
            except _RetryableError as exc:
                if attempt + 1 >= attempts:
                    raise WeChatUnavailableError(f"WeChat failed on {path}: {exc}") from exc
                log.warning(
                    "WeChat %s failed (attempt %d/%d): %s", path, attempt + 1, attempts, exc
                )
                await asyncio.sleep(self._backoff * 2**attempt)
            except TimeoutError as exc:
                if method != "GET" or attempt + 1 >= attempts:
                    raise WeChatTimeoutError(f"WeChat timed out on {path}") from exc
                log.warning("WeChat %s timed out (attempt %d/%d)", path, attempt + 1, attempts)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _once(
        self, method: str, path: str, params: Mapping[str, str], data: bytes | None
    ) -> dict[str, Any]:
        headers = {"Content-Type": "application/json; charset=utf-8"} if data else None
        try:
            async with self._session.request(
                method,
                self._base + path,
                params=params,
                data=data,
                headers=headers,
                timeout=self._timeout,
            ) as resp:
                if resp.status >= 500:
                    raise _RetryableError(f"HTTP {resp.status}")
                if resp.status >= 400:
                    raise WeChatResponseError(f"WeChat answered HTTP {resp.status} on {path}")
                try:
                    body = await resp.json(content_type=None)
                except ValueError as exc:
                    raise WeChatResponseError(f"WeChat sent invalid JSON on {path}") from exc
        except aiohttp.ConnectionTimeoutError as exc:
            raise _RetryableError("connect timeout") from exc  # nothing was sent yet
        except aiohttp.ServerTimeoutError as exc:
            raise TimeoutError from exc
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
            # The message names host and port only, never the token in the query.
            raise _RetryableError(type(exc).__name__) from exc
        if not isinstance(body, dict):
            raise WeChatResponseError(f"WeChat's answer on {path} is not an object")
        errcode = body.get("errcode", 0)
        if not isinstance(errcode, int):
            raise WeChatResponseError(f"WeChat's errcode on {path} is not a number")
        if errcode == BUSY_ERRCODE:
            raise _RetryableError("system busy (errcode -1)")
        if errcode:
            raise WeChatApiError(errcode, str(body.get("errmsg", "")), path)
        return body

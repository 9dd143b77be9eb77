"""A stand-in WeChat: its API server (token, customer-service messages) and its webhook calls."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from wechatpy.crypto import WeChatCrypto

TOKEN = "test-token"
APP_ID = "wx0123456789abcdef"
APP_SECRET = "test-secret"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, as WeChat shows it
ACCOUNT = "gh_0123456789ab"


@dataclass
class FakeWeChatApi:
    """Issues tokens and records customer-service messages; can fail on demand."""

    app_id: str = APP_ID
    app_secret: str = APP_SECRET
    expires_in: int = 7200
    token_fetches: int = 0
    sent: list[dict[str, Any]] = field(default_factory=list)
    send_attempts: int = 0
    invalid_tokens: set[str] = field(default_factory=set)
    send_statuses: list[int] = field(default_factory=list)
    """HTTP statuses for the next sends (popped first); 200 means go on normally."""
    send_errcodes: list[int] = field(default_factory=list)
    """errcodes for the next sends (popped after the statuses)."""
    send_delay_s: float = 0.0
    raw_bodies: list[bytes] = field(default_factory=list)
    per_user: Counter[str] = field(default_factory=Counter)
    """Messages sent per openid (cheap to poll under load)."""
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _serial: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def app(self) -> web.Application:
        """The aiohttp app to serve with `aiohttp_server`."""
        app = web.Application()
        app.router.add_get("/cgi-bin/token", self._token)
        app.router.add_post("/cgi-bin/message/custom/send", self._send)
        return app

    def texts(self, openid: str | None = None) -> list[str]:
        """Contents of the text messages sent so far (to `openid`, if given)."""
        return [m["text"]["content"] for m in self.sent if openid is None or m["touser"] == openid]

    async def wait_sent(self, count: int, timeout_s: float = 10.0) -> None:
        """Wait until `count` messages were sent, then a little longer to catch extras."""
        async with asyncio.timeout(timeout_s):
            while len(self.sent) < count:
                self._changed.clear()
                await self._changed.wait()
        await asyncio.sleep(0.3)

    async def _token(self, request: web.Request) -> web.Response:
        q = request.query
        if q.get("grant_type") != "client_credential":
            return web.json_response({"errcode": 40002, "errmsg": "invalid grant_type"})
        if (q.get("appid"), q.get("secret")) != (self.app_id, self.app_secret):
            return web.json_response({"errcode": 40125, "errmsg": "invalid appsecret"})
        self.token_fetches += 1
        token = f"token-{next(self._serial)}"
        return web.json_response({"access_token": token, "expires_in": self.expires_in})

    async def _send(self, request: web.Request) -> web.Response:
        self.send_attempts += 1
        if self.send_delay_s:
            await asyncio.sleep(self.send_delay_s)
        if self.send_statuses and (status := self.send_statuses.pop(0)) != 200:
            return web.Response(status=status, text="upstream trouble")
        token = request.query.get("access_token", "")
        if not token.startswith("token-") or token in self.invalid_tokens:
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        if self.send_errcodes and (errcode := self.send_errcodes.pop(0)):
            return web.json_response({"errcode": errcode, "errmsg": "scripted failure"})
        # Kept so tests can check for raw UTF-8: WeChat shows \u escapes literally.
        self.raw_bodies.append(await request.read())
        message = await request.json()
        self.sent.append(message)
        self.per_user[message["touser"]] += 1
        self._changed.set()
        return web.json_response({"errcode": 0, "errmsg": "ok"})


def sign(*parts: str) -> str:
    """WeChat's signature: SHA-1 of the sorted, concatenated parts."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()  # noqa: S324


def signed_query(
    timestamp: int | None = None, nonce: str = "1234567890", token: str = TOKEN
) -> dict[str, str]:
    """The query WeChat adds to every webhook call."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {"signature": sign(token, ts, nonce), "timestamp": ts, "nonce": nonce}


def message_xml(
    msg_type: str = "text",
    *,
    openid: str = "oUser0001",
    content: str = "你好",
    msg_id: str | None = "1000001",
    create_time: int | None = None,
    event: str | None = None,
) -> str:
    """An inbound message as WeChat pushes it."""
    created = int(time.time()) if create_time is None else create_time
    extra = ""
    if msg_type == "text":
        extra = f"<Content><![CDATA[{content}]]></Content>"
    elif msg_type == "event":
        extra = f"<Event><![CDATA[{event or 'subscribe'}]]></Event>"
    elif msg_type == "image":
        extra = "<PicUrl><![CDATA[http://example.com/p.jpg]]></PicUrl><MediaId>m1</MediaId>"
    if msg_id is not None and msg_type != "event":
        extra += f"<MsgId>{msg_id}</MsgId>"
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{created}</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>"
        f"{extra}</xml>"
    )


def crypto() -> WeChatCrypto:
    """wechatpy's safe-mode crypto with the test credentials."""
    return WeChatCrypto(TOKEN, AES_KEY, APP_ID)


def encrypted_request(xml: str, nonce: str = "987654321") -> tuple[dict[str, str], str]:
    """Query and body of a safe-mode call carrying `xml`, encrypted and signed by wechatpy."""
    ts = str(int(time.time()))
    envelope = str(crypto().encrypt_message(xml, nonce, ts))
    encrypt = envelope.split("<Encrypt><![CDATA[", 1)[1].split("]]>", 1)[0]
    query = {
        **signed_query(int(ts), nonce),
        "encrypt_type": "aes",
        "msg_signature": sign(TOKEN, ts, nonce, encrypt),
    }
    # WeChat's safe-mode body carries only the account id and the ciphertext.
    body = (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
        f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    )
    return query, body

"""WeChat's wire format: signatures, defused XML, safe-mode envelopes and text limits."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import struct
from dataclasses import dataclass
from xml.etree.ElementTree import ParseError

from aiohttp import web
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import WeChatException

from bot.clients.rasa import Turn
from bot.settings import Settings

MAX_BODY_BYTES = 32 * 1024
MAX_TEXT_BYTES = 2048
"""Passive and customer-service text messages: a safe bound for WeChat's content limit."""
TIMESTAMP_WINDOW_S = 300
BODY_READ_TIMEOUT_S = 5.0
TRUNCATED_NOTE = "\n（回复较长，未能全部显示。）"

# WeChat ids (openid, gh_ account id) are short and URL-safe; they end up in Redis keys.
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_NONCE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_DIGITS = re.compile(r"[0-9]{1,20}")  # str.isdigit() would also accept "²" and "١"
# Characters XML 1.0 cannot carry at all, even in CDATA.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_SENTENCE_END = "。！？；!?;"


class WeChatXmlError(ValueError):
    """The body is not a well-formed, entity-free, bounded WeChat XML message."""


class SignatureError(Exception):
    """A signature or timestamp did not check out."""


def sign(*parts: str) -> str:
    """WeChat's signature: SHA-1 over the sorted, concatenated parts."""
    # SHA-1 is what WeChat's protocol mandates; we only verify and reproduce it.
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()  # noqa: S324


def check_fresh(timestamp: str, nonce: str, now: float) -> None:
    """Raise `SignatureError` unless the query's timestamp is within the replay window."""
    if not _DIGITS.fullmatch(timestamp) or not _NONCE.fullmatch(nonce):
        raise SignatureError("malformed timestamp or nonce")
    if abs(int(timestamp) - now) > TIMESTAMP_WINDOW_S:
        raise SignatureError("timestamp outside the replay window")


def check_signature(token: str, signature: str, timestamp: str, nonce: str) -> None:
    """Raise `SignatureError` unless `signature` is the query's signature under `token`."""
    if not _same(sign(token, timestamp, nonce), signature):
        raise SignatureError("bad signature")


def _same(expected: str, given: str) -> bool:
    # Constant time; bytes, because compare_digest rejects non-ASCII str.
    return hmac.compare_digest(expected.encode(), given.lower().encode())


async def read_body(request: web.Request) -> bytes:
    """At most `MAX_BODY_BYTES`, within `BODY_READ_TIMEOUT_S`, whatever the headers claim."""
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise WeChatXmlError("body too large")
    body = bytearray()
    try:
        async with asyncio.timeout(BODY_READ_TIMEOUT_S):
            while chunk := await request.content.read(8192):
                body += chunk
                if len(body) > MAX_BODY_BYTES:
                    raise WeChatXmlError("body too large")
    except TimeoutError as exc:
        raise WeChatXmlError("body too slow") from exc
    return bytes(body)


def parse_xml(body: bytes) -> dict[str, str]:
    """The flat fields of `<xml>…</xml>`; no DTDs, no entities, at most `MAX_BODY_BYTES`."""
    if len(body) > MAX_BODY_BYTES:
        raise WeChatXmlError("body too large")
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError, LookupError) as exc:
        raise WeChatXmlError(f"unreadable XML: {type(exc).__name__}") from exc
    if root.tag != "xml":
        raise WeChatXmlError("root element is not <xml>")
    return {child.tag: (child.text or "") for child in root if len(child) == 0}


@dataclass(frozen=True, slots=True)
class Inbound:
    """One message or event pushed by WeChat."""

    to_user: str
    from_user: str
    create_time: str
    msg_type: str
    content: str = ""
    msg_id: str = ""
    event: str = ""
    recognition: str = ""

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> Inbound:
        """Validate the fields we rely on; raises `WeChatXmlError`."""
        to_user, from_user = fields.get("ToUserName", ""), fields.get("FromUserName", "")
        create_time, msg_type = fields.get("CreateTime", ""), fields.get("MsgType", "")
        msg_id = fields.get("MsgId", "")
        if not (_ID.fullmatch(to_user) and _ID.fullmatch(from_user)):
            raise WeChatXmlError("missing or malformed ToUserName/FromUserName")
        if (
            not _DIGITS.fullmatch(create_time)
            or not msg_type
            or (msg_id and not _DIGITS.fullmatch(msg_id))
        ):
            raise WeChatXmlError("missing or malformed CreateTime/MsgType/MsgId")
        return cls(
            to_user=to_user,
            from_user=from_user,
            create_time=create_time,
            msg_type=msg_type.lower(),
            content=fields.get("Content", ""),
            msg_id=msg_id,
            event=fields.get("Event", "").lower(),
            recognition=fields.get("Recognition", ""),
        )

    @property
    def dedupe_id(self) -> str:
        """MsgId, or FromUserName + CreateTime for events (which have no MsgId)."""
        return self.msg_id or f"{self.from_user}:{self.create_time}"

    @property
    def text(self) -> str | None:
        """What the user wrote: text, or voice with WeChat's speech recognition on."""
        if self.msg_type == "text":
            return self.content if self.content.strip() else None
        if self.msg_type == "voice" and self.recognition.strip():
            return self.recognition
        return None


class Cipher:
    """Safe (AES) mode: verify and decrypt inbound envelopes, encrypt replies (wechatpy)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> Cipher | None:
        """The configured cipher, or None when safe mode is not set up."""
        if settings.wechat_encoding_aes_key is None or settings.wechat_token is None:
            return None
        if not settings.wechat_app_id:
            raise ValueError("WECHAT_ENCODING_AES_KEY needs WECHAT_APP_ID (safe mode checks it)")
        return cls(
            settings.wechat_token.get_secret_value(),
            settings.wechat_encoding_aes_key.get_secret_value(),
            settings.wechat_app_id,
        )

    def __init__(self, token: str, encoding_aes_key: str, app_id: str) -> None:
        if len(encoding_aes_key) != 43:
            raise ValueError("WECHAT_ENCODING_AES_KEY must be the 43 characters WeChat shows")
        self._token = token
        self._crypto = WeChatCrypto(token, encoding_aes_key, app_id)

    def decrypt(
        self, envelope: dict[str, str], msg_signature: str, timestamp: str, nonce: str
    ) -> dict[str, str]:
        """The inner message's fields; `SignatureError` or `WeChatXmlError` when bad."""
        encrypt = envelope.get("Encrypt", "")
        if not encrypt:
            raise WeChatXmlError("safe-mode body without <Encrypt>")
        # Constant-time check here; wechatpy re-checks with a plain comparison.
        if not _same(sign(self._token, timestamp, nonce, encrypt), msg_signature):
            raise SignatureError("bad msg_signature")
        try:
            # A dict bypasses wechatpy's own XML parsing of the envelope.
            plain = self._crypto.decrypt_message(
                {"Encrypt": encrypt}, msg_signature, timestamp, nonce
            )
        except (ValueError, TypeError, IndexError, struct.error, WeChatException) as exc:
            raise WeChatXmlError(f"cannot decrypt: {type(exc).__name__}") from exc
        return parse_xml(str(plain).encode())

    def encrypt(self, xml: str, nonce: str, timestamp: str) -> str:
        """The encrypted, signed reply envelope."""
        return str(self._crypto.encrypt_message(xml, nonce, timestamp))


def _cdata(text: str) -> str:
    text = _XML_ILLEGAL.sub("", text)
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply(to_user: str, from_user: str, content: str, create_time: int) -> str:
    """A passive text reply."""
    return (
        f"<xml><ToUserName>{_cdata(to_user)}</ToUserName>"
        f"<FromUserName>{_cdata(from_user)}</FromUserName>"
        f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{_cdata(content)}</Content></xml>"
    )


def turn_text(turn: Turn) -> tuple[str, dict[str, str]]:
    """The turn as one text, buttons as a "可回复：…" line; plus title → payload."""
    buttons = {b.title: b.payload for r in turn.replies for b in r.buttons if b.title}
    text = "\n\n".join(r.text for r in turn.replies if r.text)
    if buttons:
        text = f"{text}\n\n可回复：{' / '.join(buttons)}".strip()
    return text, buttons


def split_text(text: str, limit: int = MAX_TEXT_BYTES) -> list[str]:
    """Cut `text` into parts of at most `limit` UTF-8 bytes, at line or sentence ends."""
    parts: list[str] = []
    rest = text.strip()
    while len(rest.encode()) > limit:
        size, cut = 0, 0
        for i, char in enumerate(rest):
            size += len(char.encode())
            if size > limit:
                cut = i
                break
        head = rest[:cut]
        # Prefer a paragraph break, then a sentence end, in the second half of the part.
        for marks in ("\n", _SENTENCE_END):
            at = max(head.rfind(m) for m in marks)
            if at >= cut // 2:
                head = head[: at + 1]
                break
        parts.append(head.strip())
        rest = rest[len(head) :].strip()
    if rest:
        parts.append(rest)
    return parts


def fit_text(text: str, *, split: bool) -> list[str]:
    """The messages that carry `text`: split when several can be sent, else one, truncated."""
    if split:
        return split_text(text)
    parts = split_text(text, MAX_TEXT_BYTES - len(TRUNCATED_NOTE.encode()))
    return [parts[0] + TRUNCATED_NOTE] if len(parts) > 1 else parts

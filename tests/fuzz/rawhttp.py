"""HTTP/1.1 over a plain socket, so fuzzed requests reach the server byte for byte.

aiohttp's client cleans up what it sends (it re-encodes header values as UTF-8, refuses
control characters and picks its own Content-Type), which would hide exactly the inputs a
fuzzer is for: header bytes that are not UTF-8, odd charsets, bodies sent in chunks.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

PREVIEW_BYTES = 300
"""How much of a body a failing example shows (bodies can be hundreds of KiB)."""
CHUNK_BYTES = 4096


@dataclass(frozen=True, repr=False)
class Request:
    """One request as it goes on the wire; `target` is the path and query, already encoded."""

    method: str
    target: str
    headers: tuple[tuple[str, bytes], ...] = ()
    body: bytes = b""
    chunked: bool = False
    """Send the body with `Transfer-Encoding: chunked` instead of a `Content-Length`."""

    def __repr__(self) -> str:
        body = self.body[:PREVIEW_BYTES]
        more = f"… ({len(self.body)} bytes)" if len(self.body) > PREVIEW_BYTES else ""
        headers = [(name, value[:PREVIEW_BYTES]) for name, value in self.headers]
        return (
            f"Request({self.method} {self.target[:PREVIEW_BYTES]!r}, headers={headers!r}, "
            f"body={body!r}{more}, chunked={self.chunked})"
        )

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # Hypothesis prints failing examples with this hook, not __repr__.
        printer.text(repr(self))

    def encode(self, *, keep_alive: bool = False) -> bytes:
        """The request's bytes: request line, headers, framing and body."""
        lines = [f"{self.method} {self.target} HTTP/1.1".encode(), b"Host: 127.0.0.1"]
        if not keep_alive:
            lines.append(b"Connection: close")
        lines += [name.encode() + b": " + value for name, value in self.headers]
        if self.chunked:
            lines.append(b"Transfer-Encoding: chunked")
            body = b"".join(
                b"%x\r\n%s\r\n" % (len(part), part)
                for part in (
                    self.body[i : i + CHUNK_BYTES] for i in range(0, len(self.body), CHUNK_BYTES)
                )
            )
            body += b"0\r\n\r\n"
        else:
            lines.append(b"Content-Length: %d" % len(self.body))
            body = self.body
        return b"\r\n".join(lines) + b"\r\n\r\n" + body


@dataclass(frozen=True, repr=False)
class Response:
    """What came back, and how long it took."""

    status: int
    headers: dict[str, str]
    """Lower-case names; a repeated header keeps its last value."""
    body: bytes
    elapsed_s: float
    cookies: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"Response({self.status}, {self.body[:PREVIEW_BYTES]!r}, {self.elapsed_s:.3f} s)"

    @property
    def content_type(self) -> str:
        """The media type without parameters."""
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def text(self) -> str:
        """The body as UTF-8 (the app only ever sends UTF-8)."""
        return self.body.decode()

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)


async def send(
    host: str,
    port: int,
    request: Request,
    timeout_s: float,
    *,
    local_addr: tuple[str, int] | None = None,
) -> Response:
    """Send `request` on a new connection (from `local_addr`, if given) and read the whole
    response (the server closes)."""
    started = time.monotonic()
    async with asyncio.timeout(timeout_s):
        reader, writer = await asyncio.open_connection(host, port, local_addr=local_addr)
        try:
            writer.write(request.encode())
            raw = await reader.read()
        finally:
            writer.close()
            # The server may close first (a body it refused to read): nothing left to flush.
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
    return _parse(raw, time.monotonic() - started)


class Connection:
    """One kept-alive connection, for request after request (a new one costs the server
    more than most of the requests a fuzzer sends); reopened when the server closes it."""

    def __init__(self, host: str, port: int) -> None:
        self._address = (host, port)
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def send(self, request: Request, timeout_s: float) -> Response:
        """Send `request` and read its response."""
        started = time.monotonic()
        async with asyncio.timeout(timeout_s):
            reused = self._streams is not None
            try:
                return await self._exchange(request, started)
            except (asyncio.IncompleteReadError, ConnectionError):
                await self.close()
                if not reused:
                    raise
            # The server had closed the idle connection before reading the request.
            return await self._exchange(request, started)

    async def close(self) -> None:
        """Close the connection (the next request opens a new one)."""
        if self._streams is None:
            return
        _, writer = self._streams
        self._streams = None
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()

    async def _exchange(self, request: Request, started: float) -> Response:
        if self._streams is None:
            self._streams = await asyncio.open_connection(*self._address)
        reader, writer = self._streams
        writer.write(request.encode(keep_alive=True))
        head = await reader.readuntil(b"\r\n\r\n")
        response = _parse(head, 0.0)
        if request.method == "HEAD":
            body = b""  # the headers describe the body a GET would get
        elif response.headers.get("transfer-encoding", "").lower() == "chunked":
            body = await _read_chunks(reader)
        else:
            body = await reader.readexactly(int(response.headers.get("content-length", "0")))
        if response.headers.get("connection", "").lower() == "close":
            await self.close()
        return Response(
            response.status, response.headers, body, time.monotonic() - started, response.cookies
        )


async def _read_chunks(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
        body += await reader.readexactly(size)
        await reader.readexactly(2)
    await reader.readuntil(b"\r\n")  # the empty trailer
    return bytes(body)


def _parse(raw: bytes, elapsed_s: float) -> Response:
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        raise AssertionError(f"no complete HTTP response: {raw[:PREVIEW_BYTES]!r}")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split(" ", 2)[1])
    headers: dict[str, str] = {}
    cookies: dict[str, str] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
        if name.strip().lower() == "set-cookie":
            cookie_name, _, rest = value.strip().partition("=")
            cookies[cookie_name] = rest.split(";", 1)[0].strip('"')
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _unchunk(body)
    return Response(status, headers, body, elapsed_s, cookies)


def _unchunk(data: bytes) -> bytes:
    out = bytearray()
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += data[:size]
        data = data[size + 2 :]
    return bytes(out)

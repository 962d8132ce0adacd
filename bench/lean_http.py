"""A minimal HTTP/1.1 keep-alive GET client for measuring latency, not for general use.

The query benchmark needs a client whose own cost is small next to the server's: httpx spends
about 2 ms of CPU per request, which on a 2-core machine saturates a core at ~450 requests/s and
turns the client's event-loop queueing into the measured tail. This client sends pre-built
request bytes over asyncio streams and parses only what it must (status line, Content-Length or
chunked framing, ``Connection: close``); about 0.1 ms of CPU per request.

GET only; no redirects, no compression, no TLS. Anything else in a response is refused with a
``ProtocolError`` rather than guessed at.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_HEAD_BYTES = 64 * 1024


class ProtocolError(Exception):
    """The server's response is one this client does not handle."""


@dataclass
class Response:
    status: int
    body: bytes
    seconds: float  # from the first byte written to the last byte of the body read


class KeepAliveConnection:
    """One HTTP/1.1 connection to ``base_url`` (http://host:port); reopened if the server closes."""

    def __init__(self, base_url: str, headers: dict[str, str], timeout_s: float = 60.0) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"only http://host:port URLs are supported, not {base_url!r}")
        self.host, self.port = parts.hostname, parts.port or 80
        self.timeout_s = timeout_s
        extra = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        self._head_suffix = f" HTTP/1.1\r\nHost: {parts.netloc}\r\n{extra}\r\n".encode("latin-1")
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self.connects = 0

    def request_bytes(self, path_and_query: str) -> bytes:
        """The complete GET request for ``path_and_query`` (build once, send many times)."""
        return b"GET " + path_and_query.encode("ascii") + self._head_suffix

    async def get(self, request: bytes) -> Response:
        """Send one pre-built request (from ``request_bytes``) and read the whole response."""
        if self._streams is None:
            self._streams = await asyncio.open_connection(
                self.host, self.port, limit=MAX_HEAD_BYTES
            )
            self.connects += 1
        reader, writer = self._streams
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout_s):
                writer.write(request)
                status, keep_alive, body = await read_response(reader)
        except BaseException:
            await self.close()  # never reuse a stream left half-read
            raise
        seconds = time.perf_counter() - started
        if not keep_alive:
            await self.close()
        return Response(status, body, seconds)

    async def close(self) -> None:
        if self._streams is not None:
            writer = self._streams[1]
            self._streams = None
            writer.close()
            with contextlib.suppress(OSError):  # the peer may have reset it already
                await writer.wait_closed()


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool, bytes]:
    """(status, whether the connection stays open, body) of one response read from ``reader``."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        raise ProtocolError("the server closed the connection before answering") from exc
    except asyncio.LimitOverrunError as exc:
        raise ProtocolError(f"response head longer than {MAX_HEAD_BYTES} bytes") from exc
    status_line, *header_lines = head[:-4].split(b"\r\n")
    version, _, rest = status_line.partition(b" ")
    if version not in (b"HTTP/1.1", b"HTTP/1.0") or not rest[:3].isdigit():
        raise ProtocolError(f"not an HTTP/1.x status line: {status_line[:80]!r}")
    headers: dict[bytes, bytes] = {}
    for line in header_lines:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip().lower()
    keep_alive = version == b"HTTP/1.1" and headers.get(b"connection") != b"close"
    if b"content-length" in headers:
        body = await reader.readexactly(int(headers[b"content-length"]))
    elif headers.get(b"transfer-encoding") == b"chunked":
        body = await read_chunked(reader)
    else:
        raise ProtocolError("response with neither Content-Length nor chunked encoding")
    return int(rest[:3]), keep_alive, body


async def read_chunked(reader: asyncio.StreamReader) -> bytes:
    """A ``Transfer-Encoding: chunked`` body (chunk extensions and trailers are skipped)."""
    parts: list[bytes] = []
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers up to the blank line
                pass
            return b"".join(parts)
        chunk = await reader.readexactly(size + 2)
        if chunk[-2:] != b"\r\n":
            raise ProtocolError("chunk not terminated by CRLF")
        parts.append(chunk[:-2])

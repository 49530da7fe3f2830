"""A small keep-alive HTTP/1.1 client for the load generator: one request at a time per connection.

Why not httpx: at thousands of requests per second the client's own CPU would become the bottleneck on a
2-core machine and the benchmark would measure the load generator, not the server. This client writes a
request in one syscall and parses only the status line, ``Content-Length`` and ``Set-Cookie``. It does not
follow redirects or handle chunked bodies (the server under test always sends ``Content-Length``); anything
it does not understand raises ``HttpError`` with a clear message.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

__all__ = ["HttpConnection", "HttpError", "HttpPool", "HttpResponse"]

MAX_HEADER_BYTES = 64 * 1024


class HttpError(Exception):
    """The server's reply could not be read (connection closed, malformed or unsupported framing)."""


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    body: bytes
    cookies: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError as exc:
            raise HttpError(f"HTTP {self.status}: body is not JSON: {self.body[:200]!r}") from exc


def _encode(method: str, path: str, host: str, body: bytes | None, headers: Mapping[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines.extend(f"{k}: {v}" for k, v in headers.items())
    if body is not None:
        lines.append("Content-Type: application/json")
        lines.append(f"Content-Length: {len(body)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head + body if body is not None else head


def parse_head(head: bytes) -> tuple[int, int | None, dict[str, str], bool]:
    """``(status, content_length, cookies, keep_alive)`` from a response head (without the blank line)."""
    try:
        text = head.decode("latin-1")
        status_line, *header_lines = text.split("\r\n")
        version, code, *_ = status_line.split(" ", 2)
        status = int(code)
    except ValueError as exc:
        raise HttpError(f"malformed status line: {head[:80]!r}") from exc
    if not version.startswith("HTTP/1."):
        raise HttpError(f"unsupported protocol {version!r}")
    length: int | None = None
    cookies: dict[str, str] = {}
    keep_alive = True
    for line in header_lines:
        name, _, value = line.partition(":")
        name, value = name.strip().lower(), value.strip()
        if name == "content-length":
            if not value.isdigit():
                raise HttpError(f"bad Content-Length {value!r}")
            length = int(value)
        elif name == "transfer-encoding" and value.lower() != "identity":
            raise HttpError(f"unsupported Transfer-Encoding {value!r}")
        elif name == "set-cookie":
            pair = value.split(";", 1)[0]
            key, sep, val = pair.partition("=")
            if sep:
                cookies[key.strip()] = val.strip()
        elif name == "connection" and value.lower() == "close":
            keep_alive = False
    return status, length, cookies, keep_alive


class HttpConnection:
    """One keep-alive connection; ``request`` is not re-entrant (use one per concurrent caller).

    uvicorn closes a keep-alive connection idle for 5 s: a connection idle longer than ``IDLE_REOPEN_S`` is
    reopened before use, and a reused connection found closed before any reply byte is reopened and the
    request sent once more (the server never read it), as urllib3 and httpx do.
    """

    IDLE_REOPEN_S = 4.0

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._last_used = 0.0

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bool]:
        """``(reader, writer, reused)``."""
        idle = time.monotonic() - self._last_used > self.IDLE_REOPEN_S
        if self._writer is not None and (idle or self._writer.is_closing()):
            await self.close()
        if self._reader is None or self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
            return self._reader, self._writer, False
        return self._reader, self._writer, True

    async def request(
        self, method: str, path: str, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> HttpResponse:
        raw = None if body is None else (body if isinstance(body, bytes) else orjson.dumps(body))
        data = _encode(method, path, f"{self.host}:{self.port}", raw, headers or {})
        for attempt in (1, 2):
            reader, writer, reused = await self._open()
            try:
                writer.write(data)
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError) as exc:
                await self.close()
                nothing = not isinstance(exc, asyncio.IncompleteReadError) or not exc.partial
                if reused and nothing and attempt == 1:
                    continue  # the server had closed this idle connection: it never saw the request
                raise HttpError(f"{method} {path}: connection failed: {exc!r}") from exc
            except asyncio.LimitOverrunError as exc:
                await self.close()
                raise HttpError(f"{method} {path}: response head too large") from exc
            return await self._finish(method, path, reader, head)
        raise AssertionError("unreachable")

    async def _finish(
        self, method: str, path: str, reader: asyncio.StreamReader, head: bytes
    ) -> HttpResponse:
        try:
            status, length, cookies, keep_alive = parse_head(head[:-4])
            if length is None:
                raise HttpError(f"{method} {path}: HTTP {status} without Content-Length")
            payload = await reader.readexactly(length) if length else b""
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            await self.close()
            raise HttpError(f"{method} {path}: connection failed: {exc!r}") from exc
        except HttpError:
            await self.close()
            raise
        self._last_used = time.monotonic()
        if not keep_alive:
            await self.close()
        return HttpResponse(status, payload, cookies)

    async def close(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


class HttpPool:
    """Keep-alive connections shared by many concurrent callers.

    Fixed (the default): exactly ``size`` connections; a caller waits for a free one. ``elastic``: a caller
    that finds no idle connection opens one, and at most ``size`` idle ones are kept, as a reverse proxy
    keeps its upstream connections (nginx's ``keepalive``): concurrency is never capped by the pool.
    """

    def __init__(self, host: str, port: int, size: int = 32, *, elastic: bool = False) -> None:
        if size < 1:
            raise ValueError("HttpPool size must be >= 1")
        self.host, self.port = host, port
        self.size = size
        self.elastic = elastic
        self.opened = 0  # connections made for callers beyond the idle ones (elastic)
        # the most recently used first: at a low rate a few connections stay warm, not all of them going idle
        # past the server's keep-alive timeout in turn
        self._idle: asyncio.LifoQueue[HttpConnection] = asyncio.LifoQueue()
        self._all = {HttpConnection(host, port) for _ in range(size)}
        for conn in self._all:
            self._idle.put_nowait(conn)

    async def request(
        self, method: str, path: str, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> HttpResponse:
        if self.elastic and self._idle.empty():
            conn = HttpConnection(self.host, self.port)
            self._all.add(conn)
            self.opened += 1
        else:
            conn = await self._idle.get()
        try:
            return await conn.request(method, path, body, headers)
        finally:
            if self._idle.qsize() < self.size:
                self._idle.put_nowait(conn)
            else:
                self._all.discard(conn)
                await conn.close()

    async def close(self) -> None:
        for conn in list(self._all):
            await conn.close()

"""uvicorn's HTTP protocol (httptools) with one socket write per connection per turn of the event loop.

uvicorn writes a response's status line and headers, then its body, as two ``transport.write`` calls, and
uvloop sends each at once: two ``write`` system calls per response, two TCP segments, and two wake-ups of
the client. Here a connection's transport is wrapped so that what is written during one turn of the loop
is sent as one write at its end (``loop.call_soon``): a plain response goes out whole, a streamed one
chunk by chunk as before. A websocket upgraded from the connection keeps the wrapper: the frames written to
one client in one turn go out together too. Closing sends what is pending first; aborting drops it.

Measured in docs/performance-history.md, "Seventh round".
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["OneWriteHttpProtocol", "OneWriteTransport"]


class OneWriteTransport:
    """A transport whose writes of one loop turn reach the wrapped transport as one ``write``."""

    __slots__ = ("_loop", "_pending", "transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self.transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if self.transport.is_closing():
            self.transport.write(data)  # what the transport does then (drop it, warn), unchanged
            return
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(bytes(data))

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        pending = self._pending
        if not pending:
            return
        self._pending = []
        self.transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def abort(self) -> None:
        self._pending = []
        self.transport.abort()

    def write_eof(self) -> None:
        self.flush()
        self.transport.write_eof()

    def get_write_buffer_size(self) -> int:
        return self.transport.get_write_buffer_size() + sum(len(p) for p in self._pending)

    def __getattr__(self, name: str) -> Any:  # is_closing, get_extra_info, set_protocol, pause_reading...
        return getattr(self.transport, name)


class OneWriteHttpProtocol(HttpToolsProtocol):
    """``uvicorn.run(..., http=OneWriteHttpProtocol)``: httptools, each connection's transport wrapped."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.transport = OneWriteTransport(self.transport, self.loop)  # type: ignore[assignment]

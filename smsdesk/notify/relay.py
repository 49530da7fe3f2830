"""Long-polling between the worker processes of one node (``smsdesk serve --workers N``).

A Bayeux client's state (its queue, its held ``/meta/connect``) lives in the worker that answered its
handshake. Worker processes share one listening socket, so the kernel may hand a long-polling client's next
request to another worker. That worker passes the request to the owner over a Unix socket and returns the
owner's answer, so the client sees one server.

- Each worker's client ids begin with its name and a dot (``w4242.<40 hex>``); the owner's relay socket is
  ``<directory>/<name>.relay``.
- A batch is relayed when its first message with a ``clientId`` names another worker whose socket exists. A
  handshake (no ``clientId``) is answered where it lands. A request already relayed is never relayed again.
- When the owner is gone (its socket is missing or refuses), the batch is answered here: ``402::Unknown
  client``, and the client handshakes again, as after a server restart.
- If the client goes away while its connect is held, the relay connection closes and the owner sees it gone.
- Websockets need none of this: a websocket's messages all reach the worker that accepted it. A websocket
  that carries a clientId another worker issued (a client that switched transports) gets ``402`` and handshakes
  again on the socket.

Frames on the Unix socket: a 4-byte big-endian length, then the bytes. Request: a JSON header object
(``authorization``, ``cookie``), then the body. Answer: the status as JSON, then the body.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import struct
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import orjson

__all__ = ["Relay", "RelayHandler"]

log = logging.getLogger(__name__)

_LENGTH = struct.Struct(">I")
_FORWARDED = ("authorization", "cookie", "origin", "host")  # what authentication reads

# (body, headers, gone) -> (status, body); ``gone`` resolves when the relaying worker's client went away
RelayHandler = Callable[[bytes, Mapping[str, str], "asyncio.Future[Any]"], Awaitable[tuple[int, bytes]]]


async def _read_frame(reader: asyncio.StreamReader, limit: int) -> bytes:
    (size,) = _LENGTH.unpack(await reader.readexactly(_LENGTH.size))
    if size > limit:
        raise ValueError(f"relay frame of {size} bytes exceeds {limit}")
    return await reader.readexactly(size)


def _frame(data: bytes) -> bytes:
    return _LENGTH.pack(len(data)) + data


class Relay:
    def __init__(self, directory: str | os.PathLike[str], name: str, *, max_bytes: int = 1_000_000) -> None:
        if not name or "." in name or "/" in name:
            raise ValueError(f"a worker name must be non-empty, without '.' or '/': {name!r}")
        self.directory = Path(directory)
        self.name = name
        self.prefix = name + "."
        self.path = self.directory / f"{name}.relay"
        self._max_bytes = max_bytes + 4096
        self._server: asyncio.AbstractServer | None = None
        self._serving: set[asyncio.Task[None]] = set()
        self.relayed = 0  # batches this worker passed to another (observable in tests)

    # --- the relaying side ------------------------------------------------------------------------------

    def target(self, messages: list[dict[str, Any]]) -> Path | None:
        """The relay socket of the worker that owns this batch's client, when it is another, live worker."""
        for message in messages:
            client_id = message.get("clientId")
            if isinstance(client_id, str):
                owner, dot, _ = client_id.partition(".")
                if not dot or owner == self.name or not owner or "/" in owner:
                    return None
                path = self.directory / f"{owner}.relay"
                return path if path.exists() else None
        return None

    async def forward(self, path: Path, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes] | None:
        """The owner's answer, or ``None`` when it cannot be reached (the caller answers the batch itself).
        Cancelling this (the client went away) closes the connection, which the owner sees as gone."""
        try:
            reader, writer = await asyncio.open_unix_connection(str(path), limit=self._max_bytes)
        except OSError as exc:
            log.info("relay: worker socket %s unreachable (%s); answering here", path.name, exc)
            return None
        try:
            head = {k: headers[k] for k in _FORWARDED if k in headers}
            writer.write(_frame(orjson.dumps(head)) + _frame(body))
            await writer.drain()
            status = orjson.loads(await _read_frame(reader, 64))
            answer = await _read_frame(reader, self._max_bytes)
        except (OSError, asyncio.IncompleteReadError, ValueError, orjson.JSONDecodeError) as exc:
            log.warning("relay: worker %s failed mid-request (%s); answering here", path.name, exc)
            return None
        finally:
            writer.close()
            with contextlib.suppress(OSError, asyncio.CancelledError):
                await writer.wait_closed()
        self.relayed += 1
        return int(status), answer

    # --- the owning side --------------------------------------------------------------------------------

    async def start(self, handler: RelayHandler) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # a previous process of the same name (pid reuse) left it
        self._server = await asyncio.start_unix_server(
            lambda r, w: self._accept(r, w, handler), str(self.path), limit=self._max_bytes
        )
        os.chmod(self.path, 0o600)

    async def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
        for task in list(self._serving):
            task.cancel()
        if self._serving:
            await asyncio.gather(*self._serving, return_exceptions=True)
        if server is not None:
            await server.wait_closed()

    async def _accept(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, handler: RelayHandler
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._serving.add(task)
        try:
            await self._serve(reader, writer, handler)
        finally:
            self._serving.discard(task)
            writer.close()

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, handler: RelayHandler
    ) -> None:
        try:
            head = orjson.loads(await _read_frame(reader, 64 * 1024))
            body = await _read_frame(reader, self._max_bytes)
        except (asyncio.IncompleteReadError, ValueError, orjson.JSONDecodeError, OSError) as exc:
            log.warning("relay: dropping a bad request (%s)", exc)
            return
        headers = {str(k): str(v) for k, v in head.items()} if isinstance(head, dict) else {}
        gone: asyncio.Future[Any] = asyncio.ensure_future(reader.read(1))  # EOF: the relaying side gave up
        try:
            status, answer = await handler(body, headers, gone)
        finally:
            gone.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await gone
        with contextlib.suppress(OSError):
            writer.write(_frame(orjson.dumps(status)) + _frame(answer))
            await writer.drain()

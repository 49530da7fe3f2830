"""A round-robin HTTP balancer without affinity, for the cluster test: every request goes to the next node.

A TCP balancer spreads connections, and a keep-alive client (the CometD Node client keeps its connections)
would then send all its requests over one connection to one node. Here each request is its own upstream
connection (``Connection: close`` on both sides), so consecutive requests of one client land on different
nodes, as behind a balancer without affinity whose clients reconnect. A websocket upgrade is piped, both
ways, to the node it lands on for as long as it lives. A node that refuses connections is skipped (as a
balancer's health check would), and a node that dies mid-request closes the client's connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools

__all__ = ["Balancer"]

_HEAD_MAX = 64 * 1024


class Balancer:
    def __init__(self, backends: list[tuple[str, int]]) -> None:
        self.backends = backends
        self._next = itertools.cycle(range(len(backends)))
        self._server: asyncio.Server | None = None
        self.port = 0
        self.requests = [0] * len(backends)  # per node (what reached it)
        self.websockets = [0] * len(backends)  # per node, open now
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, limit=_HEAD_MAX)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _upstream(self) -> tuple[int, asyncio.StreamReader, asyncio.StreamWriter] | None:
        for _ in range(len(self.backends)):
            index = next(self._next)
            host, port = self.backends[index]
            try:
                reader, writer = await asyncio.open_connection(host, port, limit=_HEAD_MAX)
            except OSError:
                continue  # a dead node: the next one
            self.requests[index] += 1
            return index, reader, writer
        return None

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._one(client_r, client_w)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            self._tasks.discard(task)
            client_w.close()

    async def _one(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        head = await client_r.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = [line for line in lines[1:] if line]
        names = {line.split(":", 1)[0].strip().lower(): line.split(":", 1)[1].strip() for line in headers}
        upgrade = names.get("upgrade", "").lower() == "websocket"
        picked = await self._upstream()
        if picked is None:
            client_w.write(
                b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
            await client_w.drain()
            return
        index, up_r, up_w = picked
        try:
            if upgrade:
                self.websockets[index] += 1
                up_w.write(head)
                await up_w.drain()
                pipes = {
                    asyncio.ensure_future(self._pipe(client_r, up_w)),
                    asyncio.ensure_future(self._pipe(up_r, client_w)),
                }
                try:  # either side gone (the node killed, the client left): both closed
                    await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    self.websockets[index] -= 1
                    for pipe in pipes:
                        pipe.cancel()
                    await asyncio.gather(*pipes, return_exceptions=True)
                return
            kept = [
                h for h in headers if h.split(":", 1)[0].strip().lower() not in ("connection", "keep-alive")
            ]
            out = "\r\n".join([lines[0], *kept, "Connection: close", "", ""]).encode("latin-1")
            if "chunked" in names.get("transfer-encoding", "").lower():
                body = await self._chunked(client_r)  # forwarded as it came (the header kept)
            else:
                length = int(names.get("content-length", "0") or 0)
                body = await client_r.readexactly(length) if length else b""
            up_w.write(out + body)
            await up_w.drain()
            await self._pipe(up_r, client_w)  # the answer, until the node closes (Connection: close)
        finally:
            up_w.close()

    @staticmethod
    async def _chunked(reader: asyncio.StreamReader) -> bytes:
        raw = bytearray()
        while True:
            line = await reader.readuntil(b"\r\n")
            raw += line
            size = int(line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while True:  # trailers, then the empty line
                    trailer = await reader.readuntil(b"\r\n")
                    raw += trailer
                    if trailer == b"\r\n":
                        return bytes(raw)
            raw += await reader.readexactly(size + 2)

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            with contextlib.suppress(OSError, RuntimeError):
                if writer.can_write_eof():
                    writer.write_eof()

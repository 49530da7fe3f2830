"""The HTTP protocol of a serving process (``smsdesk/cli/http_protocol.py``): a connection's writes of one turn
of the event loop leave as one write; responses, pipelined requests, closing and websockets work as before."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
import websockets
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from smsdesk.cli.http_protocol import OneWriteHttpProtocol, OneWriteTransport


class _Transport:
    """What the wrapper writes to."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False
        self.aborted = False

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 4242)}.get(name, default)


def _wrapped() -> tuple[OneWriteTransport, _Transport]:
    inner = _Transport()
    return OneWriteTransport(inner, asyncio.get_running_loop()), inner  # type: ignore[arg-type]


async def test_the_writes_of_one_turn_leave_as_one_at_its_end() -> None:
    t, inner = _wrapped()
    t.write(b"HTTP/1.1 200 OK\r\n\r\n")
    t.writelines([b"hel", memoryview(b"lo")])
    t.write(b"")
    assert inner.writes == [] and t.get_write_buffer_size() == 24
    await asyncio.sleep(0)
    assert inner.writes == [b"HTTP/1.1 200 OK\r\n\r\nhello"]
    t.write(b"next")
    await asyncio.sleep(0)
    assert inner.writes[1:] == [b"next"] and t.get_write_buffer_size() == 0


async def test_close_sends_what_is_pending_first_and_abort_drops_it() -> None:
    t, inner = _wrapped()
    t.write(b"last words")
    t.close()
    assert inner.writes == [b"last words"] and inner.closed
    t.write(b"after close")  # straight to the closing transport, which decides what to do with it
    assert inner.writes[-1] == b"after close"
    await asyncio.sleep(0)
    assert len(inner.writes) == 2

    t, inner = _wrapped()
    t.write(b"never sent")
    t.abort()
    await asyncio.sleep(0)
    assert inner.writes == [] and inner.aborted


async def test_other_transport_methods_reach_the_wrapped_transport() -> None:
    t, _ = _wrapped()
    assert t.get_extra_info("peername") == ("127.0.0.1", 4242)
    assert not t.is_closing()


async def _hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse("hello " + request.path_params["name"])


async def _echo(ws: WebSocket) -> None:
    await ws.accept()
    async for text in ws.iter_text():
        await ws.send_text(text)
        await ws.send_text(text.upper())  # two frames in one turn: one write, both arrive


@pytest.fixture
async def server() -> AsyncIterator[uvicorn.Server]:
    app = Starlette(routes=[Route("/hello/{name}", _hello), WebSocketRoute("/ws", _echo)])
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, http=OneWriteHttpProtocol, ws="websockets-sansio", log_level="warning"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # it failed to start: say why
        await asyncio.sleep(0.01)
    yield server
    server.should_exit = True
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, 10)


def _port(server: uvicorn.Server) -> int:
    return int(server.servers[0].sockets[0].getsockname()[1])


async def test_responses_keep_alive_pipelining_and_close_work_through_the_wrapper(
    server: uvicorn.Server,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", _port(server))
    try:
        writer.write(b"GET /hello/ann HTTP/1.1\r\nhost: x\r\n\r\n")
        first = await asyncio.wait_for(reader.read(65536), 5)
        assert first.startswith(b"HTTP/1.1 200 OK\r\n") and first.endswith(b"\r\n\r\nhello ann")
        (connection,) = server.server_state.connections
        assert isinstance(connection.transport, OneWriteTransport)  # type: ignore[attr-defined]
        writer.write(b"GET /hello/bo HTTP/1.1\r\nhost: x\r\n\r\nGET /hello/cy HTTP/1.1\r\nhost: x\r\n\r\n")
        both = b""
        while both.count(b"HTTP/1.1 200 OK") < 2 or not both.endswith(b"hello cy"):
            both += await asyncio.wait_for(reader.read(65536), 5)
        assert both.index(b"hello bo") < both.index(b"hello cy")
        writer.write(b"GET /hello/dee HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        last = b""
        while chunk := await asyncio.wait_for(reader.read(65536), 5):
            last += chunk
        assert last.endswith(b"hello dee")  # sent whole before the server closed the connection
    finally:
        writer.close()


async def test_a_websocket_upgraded_from_the_connection_works(server: uvicorn.Server) -> None:
    async with websockets.connect(f"ws://127.0.0.1:{_port(server)}/ws") as ws:
        for text in ("one", "two"):
            await ws.send(text)
            assert [await asyncio.wait_for(ws.recv(), 5) for _ in range(2)] == [text, text.upper()]

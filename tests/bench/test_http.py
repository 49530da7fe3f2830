"""The load generator's HTTP client against a tiny loopback server that closes keep-alive connections."""

from __future__ import annotations

import asyncio

import pytest

from smsdesk.bench.http import HttpConnection, HttpError, HttpPool

REPLY = b'HTTP/1.1 200 OK\r\nContent-Length: 11\r\nSet-Cookie: JSESSIONID=s1; Path=/\r\n\r\n{"ok":true}'


async def _server(behaviour: str) -> tuple[asyncio.Server, int, list[bytes]]:
    seen: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        seen.append(head.split(b"\r\n", 1)[0])
        if behaviour == "partial":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{")
        else:
            writer.write(REPLY)  # then close: the client's pooled connection goes stale
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], seen


async def test_a_connection_closed_by_the_server_is_reopened_once() -> None:
    server, port, seen = await _server("close")
    conn = HttpConnection("127.0.0.1", port)
    try:
        first = await conn.request("POST", "/a", {"x": 1})
        assert (first.status, first.json(), first.cookies) == (200, {"ok": True}, {"JSESSIONID": "s1"})
        await asyncio.sleep(0.05)  # the server has closed its end by now
        assert (await conn.request("GET", "/b")).status == 200
        assert seen == [b"POST /a HTTP/1.1", b"GET /b HTTP/1.1"]  # each request reached the server once
    finally:
        await conn.close()
        server.close()


async def test_a_truncated_reply_is_an_error_not_a_retry() -> None:
    server, port, seen = await _server("partial")
    conn = HttpConnection("127.0.0.1", port)
    try:
        with pytest.raises(HttpError, match="connection failed"):
            await conn.request("GET", "/c")
        assert seen == [b"GET /c HTTP/1.1"]
    finally:
        await conn.close()
        server.close()


async def test_an_elastic_pool_opens_a_connection_when_none_is_idle_and_keeps_at_most_size_idle() -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                await asyncio.sleep(0.05)  # slow enough for the callers to overlap
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    fixed = HttpPool("127.0.0.1", port, 2)
    elastic = HttpPool("127.0.0.1", port, 2, elastic=True)
    try:
        for pool in (fixed, elastic):
            replies = await asyncio.gather(*(pool.request("GET", "/") for _ in range(6)))
            assert [r.status for r in replies] == [200] * 6
        assert fixed.opened == 0  # the six calls took turns on two connections
        assert elastic.opened == 4  # two idle ones, four more opened at once
        assert len(elastic._all) == 2 and elastic._idle.qsize() == 2  # only two kept afterwards
    finally:
        await fixed.close()
        await elastic.close()
        server.close()
        await server.wait_closed()


async def test_the_pool_reuses_its_most_recently_used_connection_first() -> None:
    """Calls one at a time go over one connection, not each of the idle ones in turn (at a low rate those
    would all outlive the server's keep-alive timeout and be reopened)."""
    peers: list[object] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peers.append(writer.get_extra_info("peername"))
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    pool = HttpPool("127.0.0.1", server.sockets[0].getsockname()[1], 8, elastic=True)
    try:
        for _ in range(5):
            assert (await pool.request("GET", "/")).status == 200
        assert len(peers) == 1
    finally:
        await pool.close()
        server.close()
        await server.wait_closed()

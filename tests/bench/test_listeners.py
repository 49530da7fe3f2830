"""Which processes serve a port: a real listening socket, polled by this test's event loop, and a process that
holds the same socket without polling it (as uvicorn's supervisor does) or before it starts serving."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from asyncio.subprocess import PIPE
from pathlib import Path

from smsdesk.bench.listeners import listening_inodes, serving_pids, watched_inodes
from smsdesk.bench.server import free_port

FDINFO = """pos:\t0
flags:\t02000002
mnt_id:\t17
tfd:       11 events:       19 data:                b  pos:0 ino:419d sdev:9
tfd:       13 events:       19 data:                d  pos:0 ino:419f sdev:9
"""

TCP = """  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 555 1 0 100 0 0 10 0
   1: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 556 1 0 20 4 30 10 -1
   2: 0100007F:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 557 1 0 100 0 0 10 0
"""


def test_parsing_fdinfo_and_the_tcp_table(tmp_path: Path) -> None:
    assert watched_inodes(FDINFO) == {0x419D, 0x419F}
    assert watched_inodes("pos:\t0\n") == set()
    table = tmp_path / "tcp"
    table.write_text(TCP)
    assert listening_inodes(8080, [str(table)]) == {555}  # the established connection is not a listener
    assert listening_inodes(8081, [str(table), "/nonexistent"]) == {557}
    assert listening_inodes(9999, [str(table)]) == set()


async def test_a_process_serves_once_its_loop_polls_the_listening_socket() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    port = sock.getsockname()[1]
    me = os.getpid()
    # a child that holds the listening socket but never polls it, like a supervisor or a worker still starting
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import sys; sys.stdin.read()", stdin=PIPE, pass_fds=[sock.fileno()]
    )
    try:
        assert serving_pids([me, holder.pid], port) == set()  # bound and listening, polled by nobody
        server = await asyncio.get_running_loop().create_server(asyncio.Protocol, sock=sock)
        await asyncio.sleep(0.05)  # a loop turn or two: the socket is registered with epoll
        assert serving_pids([me, holder.pid], port) == {me}
        server.close()
        await server.wait_closed()
    finally:
        holder.kill()
        await holder.wait()
    assert serving_pids([me], free_port()) is None  # nothing listens there

"""Which processes serve a TCP port: the ones whose event loop polls its listening socket (Linux ``/proc``).

Why: with ``smsdesk serve --workers N`` uvicorn's supervisor binds the socket, then starts N worker
processes that each build the app and only then start accepting. ``GET /health`` answers as soon as the
first worker accepts; connections opened before the others are up all land on that one, and the long-lived
ones (CometD, the keep-alive pool) stay there. So the harness waits until N processes serve.

A process serves the port when one of its epoll instances watches the listening socket: each
``/proc/<pid>/fdinfo/<epoll fd>`` line ``tfd: <fd> events: ... ino:<hex inode>`` names a watched file, and
the listening socket's inode is in ``/proc/net/tcp`` (or ``tcp6``) under the port, state ``0A`` (LISTEN).
asyncio and uvloop both register the socket in epoll within one loop turn of starting to serve.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

__all__ = ["listening_inodes", "serving_pids", "watched_inodes"]

_LISTEN = "0A"


def listening_inodes(port: int, tables: Iterable[str] = ("/proc/net/tcp", "/proc/net/tcp6")) -> set[int]:
    """Inodes of the sockets listening on ``port`` (any address)."""
    found: set[int] = set()
    for table in tables:
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if len(f) > 9 and f[3] == _LISTEN and int(f[1].rsplit(":", 1)[1], 16) == port:
                found.add(int(f[9]))
    return found


def watched_inodes(fdinfo: str) -> set[int]:
    """The inodes an epoll instance watches, from the text of its ``/proc/<pid>/fdinfo/<fd>``."""
    out: set[int] = set()
    for line in fdinfo.splitlines():
        if line.startswith("tfd:"):
            for word in line.split():
                if word.startswith("ino:"):
                    out.add(int(word[4:], 16))
    return out


def _polls(pid: int, inodes: set[int]) -> bool:
    fd_dir = f"/proc/{pid}/fd"
    try:
        fds = os.listdir(fd_dir)
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"{fd_dir}/{fd}") != "anon_inode:[eventpoll]":
                continue
            if watched_inodes(Path(f"/proc/{pid}/fdinfo/{fd}").read_text()) & inodes:
                return True
        except OSError:
            continue  # closed meanwhile
    return False


def serving_pids(pids: Iterable[int], port: int) -> set[int] | None:
    """Those of ``pids`` that poll the socket listening on ``port``; None when no socket listens there yet."""
    inodes = listening_inodes(port)
    if not inodes:
        return None
    return {pid for pid in pids if _polls(pid, inodes)}

"""Waiting for a real ``smsdesk serve`` / ``smsdesk demo`` process to answer, the one way every test does it.

The machine running the tests may be busy: a server with two worker processes has taken over 240 s to start
beside other test runs. The wait polls ``GET /health`` for up to ``STARTUP_S``, fails at once when the
process exits (with the end of its log: what it wrote on stderr), and fails with the same log at the deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import time
from pathlib import Path

import httpx

__all__ = ["STARTUP_S", "free_port", "log_tail", "serving", "wait_serving"]

STARTUP_S = 300.0
EVERY_S = 0.2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def log_tail(log: Path | None, chars: int = 3000) -> str:
    if log is None:
        return "(no log)"
    with contextlib.suppress(OSError):
        return log.read_text(errors="replace")[-chars:]
    return "(no log written)"


def _exited(code: int | None, log: Path | None) -> None:
    if code is not None:
        raise AssertionError(f"the server exited with {code} before it answered:\n{log_tail(log)}")


def _late(url: str, within_s: float, log: Path | None) -> AssertionError:
    return AssertionError(
        f"the server on {url} did not answer /health within {within_s:.0f} s:\n{log_tail(log)}"
    )


def wait_serving(
    url: str, proc: subprocess.Popen[bytes], log: Path | None, *, within_s: float = STARTUP_S
) -> None:
    """Until ``url`` answers ``GET /health`` with 200 (``proc``: the server, ``log``: its stdout and stderr)."""
    deadline = time.monotonic() + within_s
    while True:
        _exited(proc.poll(), log)
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        if time.monotonic() > deadline:
            raise _late(url, within_s, log)
        time.sleep(EVERY_S)


async def serving(
    url: str, proc: asyncio.subprocess.Process, log: Path | None, *, within_s: float = STARTUP_S
) -> None:
    """``wait_serving`` for a server started with ``asyncio.create_subprocess_exec``."""
    deadline = time.monotonic() + within_s
    async with httpx.AsyncClient(timeout=2) as http:
        while True:
            _exited(proc.returncode, log)
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(f"{url}/health")).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise _late(url, within_s, log)
            await asyncio.sleep(EVERY_S)

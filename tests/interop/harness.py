"""Interop harness: installs the Node peers from the lock file, runs Node CometD clients and servers.

Node/npm absent: the interop tests skip with a clear message locally and fail when ``CI=true``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from tests.services import missing, npm_ci

HERE = Path(__file__).resolve().parent
IN_CI = os.environ.get("CI", "").lower() == "true"


def require_node() -> str:
    """Path of ``node`` with ``node_modules`` installed by ``npm ci`` (done once, on first use)."""
    node = shutil.which("node")
    if node is None:
        missing("node is needed for the CometD interop tests (apt-get install nodejs npm)")
    npm_ci(HERE, "for the CometD interop tests")
    return node


class NodeProcess:
    """A Node script speaking JSON lines on stdout and taking commands on stdin."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.seen: list[dict[str, Any]] = []

    async def next(self, seconds: float = 10.0) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), seconds)
        if not line:
            err = b""
            if self.proc.stderr is not None:
                err = await self.proc.stderr.read()
            raise AssertionError(f"node process ended: {err.decode()[-2000:]}")
        item: dict[str, Any] = json.loads(line)
        self.seen.append(item)
        return item

    async def expect(self, event: str, seconds: float = 10.0) -> dict[str, Any]:
        """Skip other lines until one with ``event``; fail on timeout."""
        async with asyncio.timeout(seconds):
            while True:
                item = await self.next(seconds)
                if item.get("event") == event:
                    return item

    async def quiet(self, seconds: float) -> list[dict[str, Any]]:
        """Lines printed during ``seconds`` (expected to be none of some kind)."""
        got: list[dict[str, Any]] = []
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                while True:
                    got.append(await self.next(seconds))
        return got

    async def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        await self.proc.stdin.drain()

    def pause(self) -> None:
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.proc.send_signal(signal.SIGCONT)


@contextlib.asynccontextmanager
async def node_process(*args: str) -> AsyncIterator[NodeProcess]:
    node = require_node()
    proc = await asyncio.create_subprocess_exec(
        node,
        *args,
        cwd=HERE,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        yield NodeProcess(proc)
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGCONT)
            proc.kill()
            await proc.wait()

"""Runs the npm ``smpp`` SMSC (``smsc/smsc.cjs``) under node and talks to it over JSON lines.

``node_modules`` is installed with ``npm ci`` on first use. Without node/npm the tests skip with a
clear message, except under ``CI=true`` where a missing peer is a failure.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.services import missing, npm_ci

SMSC_DIR = Path(__file__).parent / "smsc"
Event = dict[str, Any]


def ensure_node_modules() -> None:
    if shutil.which("node") is None:
        missing("node is needed to run the npm `smpp` SMSC peer (tests/sms/smsc; apt-get install nodejs npm)")
    npm_ci(SMSC_DIR, "to run the npm `smpp` SMSC peer (tests/sms/smsc)")


class SmscPeer:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self._proc = proc
        self.events: list[Event] = []
        self._changed = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())
        self.port = 0
        self._next_id = 0

    @classmethod
    async def start(cls, system_id: str, password: str) -> SmscPeer:
        ensure_node_modules()
        proc = await asyncio.create_subprocess_exec(
            shutil.which("node") or "node",
            str(SMSC_DIR / "smsc.cjs"),
            system_id,
            password,
            cwd=SMSC_DIR,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        peer = cls(proc)
        (listening,) = await peer.wait_for(lambda e: e["event"] == "listening")
        peer.port = int(listening["port"])
        return peer

    async def _read(self) -> None:
        assert self._proc.stdout is not None
        async for line in self._proc.stdout:
            event = json.loads(line)
            async with self._changed:
                self.events.append(event)
                self._changed.notify_all()

    def of(self, kind: str) -> list[Event]:
        return [e for e in self.events if e["event"] == kind]

    async def wait_for(
        self, match: Callable[[Event], bool], count: int = 1, within_s: float = 10
    ) -> list[Event]:
        async with asyncio.timeout(within_s), self._changed:
            await self._changed.wait_for(lambda: len([e for e in self.events if match(e)]) >= count)
            return [e for e in self.events if match(e)]

    async def command(self, **cmd: Any) -> None:
        """Send a command and wait until the SMSC has applied it."""
        assert self._proc.stdin is not None
        self._next_id += 1
        ident = self._next_id
        self._proc.stdin.write((json.dumps({**cmd, "seq": ident}) + "\n").encode())
        await self._proc.stdin.drain()
        await self.wait_for(lambda e: e["event"] == "done" and e["seq"] == ident)

    async def stop(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        try:
            await asyncio.wait_for(self._proc.wait(), 5)
        except TimeoutError:
            self._proc.kill()
            await self._proc.wait()
        self._reader.cancel()
        await asyncio.gather(self._reader, return_exceptions=True)

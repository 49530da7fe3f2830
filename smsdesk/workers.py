"""Background loops of one node: routing (and offer expiry), the SMS outbox, expired HTTP session cleanup.

Each loop wakes on a hint (``wake()``) or a short tick, so a lost hint costs latency only. Several nodes may
run them at once: every decision goes through the session engine's version check.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from smsdesk.actions.routing import Router
from smsdesk.runtime import Runtime

__all__ = ["RouterLoop", "SessionCleanupLoop"]

log = logging.getLogger("smsdesk.workers")


class RouterLoop:
    """Routing runs on one node at a time: the holder of the ``router`` lease (renewed every pass). Another
    node takes over within ``LEASE_MS`` when the holder dies, so agents' capacity is never overbooked by two
    routers deciding at once."""

    LEASE_MS = 5000

    def __init__(self, router: Router, *, tick_s: float = 0.5) -> None:
        self.router = router
        self.tick_s = tick_s
        self.node_id = router.rt.ids.token()
        self._event = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._event.set()

    async def run_once(self) -> int:
        rt = self.router.rt
        if not await rt.store.acquire_lease("router", self.node_id, rt.clock.now_ms(), self.LEASE_MS):
            return 0
        return await self.router.expire_offers() + await self.router.route_waiting()

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), self.tick_s)
            self._event.clear()
            try:
                while await self.run_once():
                    pass
            except Exception:  # a failing pass must not stop routing: log it and try again next tick
                log.exception("routing pass failed")

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="smsdesk-router")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class SessionCleanupLoop:
    def __init__(self, rt: Runtime, *, every_s: float = 600.0) -> None:
        self.rt = rt
        self.every_s = every_s
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            try:
                await self.rt.store.delete_expired_http_sessions(self.rt.clock.now_ms())
            except Exception:
                log.exception("HTTP session cleanup failed")
            await asyncio.sleep(self.every_s)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="smsdesk-session-cleanup")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

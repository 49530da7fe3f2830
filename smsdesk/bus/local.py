"""In-process hint bus (the default for a single node).

It behaves like ``redis.RedisBus`` on purpose: every message is serialised to JSON and parsed back, and
handlers run later on a dispatcher task, never inside ``publish``. Delivery is at most once; the queue is
bounded and a full queue drops the hint (receivers catch up from the store).
Contract: ``smsdesk/bus/base.py``, tested by ``tests/bus/test_contract.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from typing import Any

import orjson

from smsdesk.bus.base import Handler

__all__ = ["LocalBus"]

log = logging.getLogger(__name__)


class LocalBus:
    def __init__(self, *, max_pending: int = 10_000) -> None:
        self._handlers: dict[str, list[Handler]] = defaultdict(list)
        self._pending: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue(maxsize=max_pending)
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def subscribe(self, topic: str, handler: Handler) -> None:
        self._handlers[topic].append(handler)

    async def start(self) -> None:
        if self._closed:
            raise RuntimeError("LocalBus: cannot start a closed bus")
        if self._task is None:
            self._task = asyncio.create_task(self._dispatch(), name="LocalBus.dispatch")

    async def close(self) -> None:
        self._closed = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def publish(self, topic: str, message: dict[str, Any]) -> None:
        if self._task is None:
            raise RuntimeError("LocalBus: publish before start() or after close()")
        payload = orjson.dumps(message)  # raises TypeError for non-JSON values, like RedisBus
        try:
            self._pending.put_nowait((topic, payload))
        except asyncio.QueueFull:
            log.warning("LocalBus: queue full, dropping a hint on %s", topic)

    async def _dispatch(self) -> None:
        while True:
            topic, payload = await self._pending.get()
            for handler in list(self._handlers.get(topic, ())):
                try:
                    await handler(orjson.loads(payload))
                except Exception:
                    log.exception("LocalBus: handler for %s failed", topic)

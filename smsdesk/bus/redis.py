"""Redis pub/sub hint bus, so that a client on node A hears about events caused on node B.

Messages are JSON on Redis channels named after the topic. Pub/sub is at most once: while the connection is
down, hints are lost; that is fine because hints only say "read the store". After every (re)connect the bus
hands each handler a local ``Resync`` message (``smsdesk/bus/messages.py``) so that it catches up from the
store. Contract: ``smsdesk/bus/base.py``, tested by ``tests/bus/test_contract.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from smsdesk.bus.base import Handler
from smsdesk.bus.messages import Resync

__all__ = ["RedisBus"]

log = logging.getLogger(__name__)


class RedisBus:
    def __init__(self, url: str, *, reconnect_delay: float = 0.2, max_reconnect_delay: float = 5.0) -> None:
        self._url = url
        self._handlers: dict[str, list[Handler]] = defaultdict(list)
        self._reconnect_delay = reconnect_delay
        self._max_reconnect_delay = max_reconnect_delay
        self._client: aioredis.Redis | None = None
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self.connects = 0  # how many times the subscriber connected (observable in tests and logs)

    def subscribe(self, topic: str, handler: Handler) -> None:
        self._handlers[topic].append(handler)

    async def start(self) -> None:
        """Connect; raise ``ConnectionError`` when Redis does not answer at start (a config error)."""
        if self._task is not None:
            return
        self._client = aioredis.Redis.from_url(self._url)
        try:
            await self._client.ping()
        except (RedisError, OSError) as exc:
            await self._client.aclose()
            self._client = None
            raise ConnectionError(f"RedisBus: cannot reach {self._url}: {exc}") from exc
        self._task = asyncio.create_task(self._listen(), name="RedisBus.listen")
        if self._handlers:
            await self._subscribed.wait()

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def publish(self, topic: str, message: dict[str, Any]) -> None:
        if self._client is None:
            raise RuntimeError("RedisBus: publish before start() or after close()")
        payload = orjson.dumps(message)  # raises TypeError for non-JSON values
        try:
            await self._client.publish(topic, payload)
        except (RedisError, OSError) as exc:
            log.warning("RedisBus: hint on %s lost (%s); receivers will catch up from the store", topic, exc)

    async def _listen(self) -> None:
        delay = self._reconnect_delay
        while True:
            try:
                await self._listen_once()
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                log.warning("RedisBus: subscriber connection lost (%s); reconnecting in %.1fs", exc, delay)
            self._subscribed.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._max_reconnect_delay)

    async def _listen_once(self) -> None:
        assert self._client is not None
        pubsub = self._client.pubsub()
        try:
            if not self._handlers:
                await asyncio.Event().wait()  # nothing to listen to; park until cancelled
            await pubsub.subscribe(*self._handlers)
            self.connects += 1
            self._subscribed.set()
            resync = Resync().to_wire()
            for topic in self._handlers:
                await self._deliver(topic, resync)
            while True:
                item = await pubsub.get_message(ignore_subscribe_messages=True, timeout=30.0)
                if item is None or item.get("type") != "message":
                    continue
                topic = item["channel"].decode() if isinstance(item["channel"], bytes) else item["channel"]
                try:
                    message = orjson.loads(item["data"])
                except orjson.JSONDecodeError:
                    message = None
                if not isinstance(message, dict):
                    log.warning("RedisBus: dropping a message on %s that is not a JSON object", topic)
                    continue
                await self._deliver(topic, message)
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _deliver(self, topic: str, message: dict[str, Any]) -> None:
        for handler in list(self._handlers.get(topic, ())):
            try:
                await handler(message)
            except Exception:
                log.exception("RedisBus: handler for %s failed", topic)

"""The bus interface. Implementations: ``local.LocalBus`` (in-process, default), ``peers.PeerBus`` (the worker
processes of one node) and ``redis.RedisBus`` (several nodes).

Every message is a JSON object; even the in-process bus round-trips it through JSON so that a Redis
deployment can never behave differently. Delivery is at most once: a lost message costs latency, not data,
because receivers catch up from the store.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

__all__ = ["Bus", "Handler"]

Handler = Callable[[dict[str, Any]], Awaitable[None]]


class Bus(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def publish(self, topic: str, message: dict[str, Any]) -> None: ...

    def subscribe(self, topic: str, handler: Handler) -> None:
        """Register ``handler`` for ``topic``; call before ``start``."""
        ...

"""The per-client event queue behind every transport (long-polling and websocket alike).

Entries carry the store's event ids, which are monotonic, so a duplicate push is ignored. ``take`` hands out
what was not sent yet; for a client using the CometD ack extension the sent entries stay until the client
acknowledges a batch (the batch number is the last event id handed out), and an acknowledgement lower than
what was sent means the client lost a reply: those entries are handed out again. The queue is bounded;
``push`` raises ``QueueOverflow`` when it is full and the hub then drops the client (back-pressure).
Design notes: ``docs/notifications.md``.
"""

from __future__ import annotations

from collections import deque
from typing import Any

__all__ = ["ClientQueue", "QueueOverflow"]


class QueueOverflow(Exception):
    """The client does not keep up: more than ``max_size`` events are waiting."""


class ClientQueue:
    def __init__(self, max_size: int) -> None:
        if max_size < 1:
            raise ValueError("ClientQueue: max_size must be >= 1")
        self._max = max_size
        self._entries: deque[tuple[int, dict[str, Any]]] = deque()
        self._last_id = 0
        self._sent_upto = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def batch(self) -> int:
        """The ack batch number: the id of the last event handed out (0 before any)."""
        return self._sent_upto

    @property
    def has_unsent(self) -> bool:
        return bool(self._entries) and self._entries[-1][0] > self._sent_upto

    def start_after(self, event_id: int) -> None:
        """Ignore events up to ``event_id`` (ones committed before the client existed)."""
        self._last_id = max(self._last_id, event_id)

    def push(self, event_id: int, message: dict[str, Any]) -> bool:
        """Queue ``message``; ``False`` when ``event_id`` is not newer than the last one pushed."""
        if event_id <= self._last_id:
            return False
        if len(self._entries) >= self._max:
            raise QueueOverflow(f"client queue full ({self._max} events)")
        self._entries.append((event_id, message))
        self._last_id = event_id
        return True

    def take(self, *, keep: bool) -> list[dict[str, Any]]:
        """Hand out every unsent message; keep them until acknowledged when ``keep`` (ack extension)."""
        out = [m for i, m in self._entries if i > self._sent_upto]
        if self._entries:
            self._sent_upto = max(self._sent_upto, self._entries[-1][0])
        if not keep:
            self._entries.clear()
        return out

    def ack(self, batch: int) -> None:
        """The client received everything up to ``batch``; anything sent after it is sent again."""
        batch = max(0, min(batch, self._sent_upto))
        while self._entries and self._entries[0][0] <= batch:
            self._entries.popleft()
        self._sent_upto = batch

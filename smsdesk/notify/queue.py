"""The per-client event queue behind every transport (long-polling and websocket alike).

Entries carry the store's event ids, which are monotonic, so a duplicate push is ignored. ``take`` hands out
what was not sent yet; for a client using the CometD ack extension the sent entries stay until the client
acknowledges a batch (the batch number is the last event id handed out), and an acknowledgement lower than
what was sent means the client lost a reply: those entries are handed out again. The queue is bounded;
``push`` raises ``QueueOverflow`` when it is full and the hub then drops the client (back-pressure).

An entry may carry the message already encoded as JSON (``encoded``): one event goes to many clients (a
``@supervisors`` row to every supervisor), so it is encoded once and shared; ``take_encoded`` hands those
bytes out for a transport that writes them as they are. Design notes: ``docs/notifications.md``.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from smsdesk.notify.wire import encode_message

__all__ = ["ClientQueue", "QueueOverflow"]


class QueueOverflow(Exception):
    """The client does not keep up: more than ``max_size`` events are waiting."""


class ClientQueue:
    __slots__ = ("_acked", "_entries", "_last_id", "_max", "_sent_upto")

    def __init__(self, max_size: int) -> None:
        if max_size < 1:
            raise ValueError("ClientQueue: max_size must be >= 1")
        self._max = max_size
        self._entries: deque[tuple[int, dict[str, Any], bytes | None]] | None = None  # made on first push
        self._last_id = 0
        self._sent_upto = 0
        self._acked = 0

    def __len__(self) -> int:
        return len(self._entries) if self._entries else 0

    @property
    def batch(self) -> int:
        """The ack batch number: the id of the last event handed out (0 before any)."""
        return self._sent_upto

    @property
    def acked(self) -> int:
        """The last batch the client acknowledged (ack extension), or ``start_after``'s / ``reposition``'s."""
        return self._acked

    @property
    def has_unsent(self) -> bool:
        return bool(self._entries) and self._entries[-1][0] > self._sent_upto  # type: ignore[index]

    def start_after(self, event_id: int) -> None:
        """Ignore events up to ``event_id`` (ones committed before the client existed)."""
        self._last_id = max(self._last_id, event_id)
        self._acked = max(self._acked, event_id)
        self._sent_upto = max(self._sent_upto, event_id)

    def reposition(self, event_id: int) -> None:
        """The client has everything up to ``event_id`` (another node handed it out, or its acknowledgement
        says so): drop those entries; what follows counts as unsent."""
        entries = self._entries
        while entries and entries[0][0] <= event_id:
            entries.popleft()
        self._sent_upto = self._acked = event_id
        self._last_id = max(self._last_id, event_id)

    def merge(self, events: list[tuple[int, dict[str, Any], bytes | None]]) -> bool:
        """Insert events read from the store (ascending ids) among those pushed meanwhile, each once, in id
        order; ids up to the last handed out are skipped. ``False`` when the queue would overflow."""
        floor = self._sent_upto
        fresh = [e for e in events if e[0] > floor]
        if not fresh:
            return True
        have = self._entries or deque()
        known = {e[0] for e in have}
        merged = sorted([*have, *(e for e in fresh if e[0] not in known)], key=lambda e: e[0])
        if len(merged) > self._max:
            return False
        self._entries = deque(merged)
        self._last_id = max(self._last_id, merged[-1][0])
        return True

    def push(self, event_id: int, message: dict[str, Any], encoded: bytes | None = None) -> bool:
        """Queue ``message`` (and its JSON, when already encoded); ``False`` when ``event_id`` is not newer
        than the last one pushed. ``message`` may be shared with other queues: nothing here mutates it."""
        if event_id <= self._last_id:
            return False
        entries = self._entries
        if entries is None:
            entries = self._entries = deque()
        elif len(entries) >= self._max:
            raise QueueOverflow(f"client queue full ({self._max} events)")
        entries.append((event_id, message, encoded))
        self._last_id = event_id
        return True

    def _unsent(self) -> list[tuple[int, dict[str, Any], bytes | None]]:
        entries = self._entries
        if not entries:
            return []
        sent = self._sent_upto
        out = list(entries) if entries[0][0] > sent else [e for e in entries if e[0] > sent]
        self._sent_upto = max(sent, entries[-1][0])
        return out

    def take(self, *, keep: bool) -> list[dict[str, Any]]:
        """Hand out every unsent message; keep them until acknowledged when ``keep`` (ack extension)."""
        out = [m for _, m, _ in self._unsent()]
        if not keep and self._entries:
            self._entries.clear()
        return out

    def take_encoded(self) -> list[bytes]:
        """Hand out every unsent message as JSON and forget it (a client without the ack extension)."""
        entries = self._entries
        if not entries:
            return []
        unsent = entries if entries[0][0] > self._sent_upto else self._unsent()
        out = [e if e is not None else encode_message(m) for _, m, e in unsent]
        self._sent_upto = max(self._sent_upto, entries[-1][0])
        entries.clear()
        return out

    def ack(self, batch: int) -> None:
        """The client received everything up to ``batch``; anything sent after it is sent again."""
        batch = max(self._acked, min(batch, self._sent_upto))
        entries = self._entries
        while entries and entries[0][0] <= batch:
            entries.popleft()
        self._sent_upto = self._acked = batch

"""``MemoryOutboxStore``: the in-memory ``OutboxStore`` for tests and the demo without a database.

Same semantics as the SQL store must have (see ``outbox.py``): claiming leases a row, a lapsed lease
makes it due again, sent/failed rows are never claimed again. ``enqueue`` stands for the insert the
actions layer does inside its own transaction.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from smsdesk.sms.base import OutboundSms
from smsdesk.sms.outbox import OutboxRow

__all__ = ["MemoryOutboxStore", "OutboxState", "StoredOutboxRow"]


class OutboxState(enum.Enum):
    PENDING = "pending"  # waiting for (another) attempt
    SENT = "sent"  # accepted by the provider; provider_message_id is set
    FAILED = "failed"  # given up for good


@dataclass(frozen=True, slots=True)
class StoredOutboxRow:
    row: OutboxRow
    state: OutboxState = OutboxState.PENDING
    provider_message_id: str | None = None
    status: str | None = None
    last_error: str | None = None
    done_ms: int | None = None


class MemoryOutboxStore:
    def __init__(self) -> None:
        self._rows: dict[str, StoredOutboxRow] = {}
        self._order: list[str] = []

    def enqueue(self, provider: str, sms: OutboundSms, *, now_ms: int) -> OutboxRow:
        if sms.outbox_id in self._rows:
            raise ValueError(f"outbox row {sms.outbox_id} already exists")
        row = OutboxRow(sms.outbox_id, provider, sms, attempts=0, next_attempt_ms=now_ms)
        self._rows[sms.outbox_id] = StoredOutboxRow(row)
        self._order.append(sms.outbox_id)
        return row

    def get(self, outbox_id: str) -> StoredOutboxRow:
        return self._rows[outbox_id]

    def all(self) -> list[StoredOutboxRow]:
        return [self._rows[i] for i in self._order]

    async def claim_due(self, *, now_ms: int, lease_ms: int, limit: int) -> list[OutboxRow]:
        due = [  # in the order they were enqueued, as the SQL store (by row id)
            s
            for i in self._order
            if (s := self._rows[i]).state is OutboxState.PENDING and s.row.next_attempt_ms <= now_ms
        ]
        claimed: list[OutboxRow] = []
        for stored in due[:limit]:
            leased = replace(stored.row, next_attempt_ms=now_ms + lease_ms)
            self._rows[leased.outbox_id] = replace(stored, row=leased)
            claimed.append(stored.row)
        return claimed

    def _pending(self, outbox_id: str) -> StoredOutboxRow:
        stored = self._rows.get(outbox_id)
        if stored is None:
            raise KeyError(f"no outbox row {outbox_id}")
        return stored

    async def mark_sent(self, outbox_id: str, *, provider_message_id: str, status: str, now_ms: int) -> None:
        stored = self._pending(outbox_id)
        row = replace(stored.row, attempts=stored.row.attempts + 1)
        self._rows[outbox_id] = replace(
            stored,
            row=row,
            state=OutboxState.SENT,
            provider_message_id=provider_message_id,
            status=status,
            done_ms=now_ms,
        )

    async def reschedule(self, outbox_id: str, *, attempts: int, next_attempt_ms: int, error: str) -> None:
        stored = self._pending(outbox_id)
        row = replace(stored.row, attempts=attempts, next_attempt_ms=next_attempt_ms)
        self._rows[outbox_id] = replace(stored, row=row, last_error=error)

    async def mark_failed(self, outbox_id: str, *, attempts: int, error: str, now_ms: int) -> None:
        stored = self._pending(outbox_id)
        row = replace(stored.row, attempts=attempts)
        self._rows[outbox_id] = replace(
            stored, row=row, state=OutboxState.FAILED, last_error=error, done_ms=now_ms, status="failed"
        )

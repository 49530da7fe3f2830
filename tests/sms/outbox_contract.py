"""The ``OutboxStore`` contract, as a reusable test class.

Every implementation passes the same suite (the in-memory store of the SMS package in
``test_outbox_store_contract.py``, the SQL-backed ``SqlOutbox`` there too, on SQLite and PostgreSQL): subclass
``OutboxStoreContract`` and provide the ``outbox`` fixture returning ``(store, enqueue)``, where
``enqueue(provider, sms, now_ms)`` inserts a pending row due at once, the way the session engine does, and
returns the store's id of it (``sms.outbox_id`` is only a label: a SQL store numbers its rows).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from smsdesk.clock import FakeClock
from smsdesk.sms.base import OutboundSms, SendResult, TemporaryFailure
from smsdesk.sms.fake import FakeProvider
from smsdesk.sms.outbox import OutboxRow, OutboxSettings, OutboxStore, OutboxWorker
from tests.sms.sinks import MemoryStatusSink

Enqueue = Callable[[str, OutboundSms, int], Awaitable[str]]


def _sms(i: int) -> OutboundSms:
    return OutboundSms(f"ob-{i}", "+15550000000", f"+1555123{i:04d}", f"text {i}")


def _carries(row: OutboxRow, sms: OutboundSms) -> bool:
    """The row holds this message (its ``outbox_id`` is the store's, not the label)."""
    got = row.sms
    return (got.outbox_id, got.from_number, got.to_number, got.text) == (
        row.outbox_id,
        sms.from_number,
        sms.to_number,
        sms.text,
    )


class OutboxStoreContract:
    async def test_claim_returns_due_rows_oldest_first_and_leases_them(
        self, outbox: tuple[OutboxStore, Enqueue]
    ) -> None:
        store, enqueue = outbox
        a, b, c = [await enqueue("fake", _sms(i), 0) for i in (1, 2, 3)]
        rows = await store.claim_due(now_ms=1_000, lease_ms=60_000, limit=2)
        assert [r.outbox_id for r in rows] == [a, b]
        assert _carries(rows[0], _sms(1)) and rows[0].provider == "fake" and rows[0].attempts == 0
        assert [r.outbox_id for r in await store.claim_due(now_ms=2_000, lease_ms=60_000, limit=10)] == [c]
        assert await store.claim_due(now_ms=3_000, lease_ms=60_000, limit=10) == []  # all leased
        again = await store.claim_due(now_ms=61_001, lease_ms=60_000, limit=10)  # a's and b's leases lapsed
        assert [r.outbox_id for r in again] == [a, b]

    async def test_the_first_enqueued_goes_first_whatever_its_due_time(
        self, outbox: tuple[OutboxStore, Enqueue]
    ) -> None:
        """Rows due together leave in the order they were written (a conversation's texts in order), even
        when a retry pushed the older one's due time past the newer one's."""
        store, enqueue = outbox
        a, b = [await enqueue("fake", _sms(i), 0) for i in (1, 2)]
        await store.claim_due(now_ms=0, lease_ms=60_000, limit=10)
        await store.reschedule(a, attempts=1, next_attempt_ms=5_000, error="503")
        await store.reschedule(b, attempts=1, next_attempt_ms=4_000, error="503")
        assert [r.outbox_id for r in await store.claim_due(now_ms=4_500, lease_ms=60_000, limit=10)] == [b]
        await store.reschedule(b, attempts=2, next_attempt_ms=4_800, error="503")
        rows = await store.claim_due(now_ms=5_000, lease_ms=60_000, limit=10)
        assert [r.outbox_id for r in rows] == [a, b]

    async def test_two_claimers_at_once_never_get_the_same_row(
        self, outbox: tuple[OutboxStore, Enqueue]
    ) -> None:
        store, enqueue = outbox
        ids = {await enqueue("fake", _sms(i), 0) for i in range(10)}
        first, second = await asyncio.gather(
            store.claim_due(now_ms=0, lease_ms=60_000, limit=6),
            store.claim_due(now_ms=0, lease_ms=60_000, limit=6),
        )
        got = [r.outbox_id for r in [*first, *second]]
        assert len(got) == len(set(got)) == 10 and set(got) == ids

    async def test_limit_is_respected(self, outbox: tuple[OutboxStore, Enqueue]) -> None:
        store, enqueue = outbox
        for i in range(5):
            await enqueue("fake", _sms(i), 0)
        assert len(await store.claim_due(now_ms=0, lease_ms=1_000, limit=2)) == 2
        assert len(await store.claim_due(now_ms=0, lease_ms=1_000, limit=10)) == 3

    async def test_sent_and_failed_rows_are_never_claimed_again(
        self, outbox: tuple[OutboxStore, Enqueue]
    ) -> None:
        store, enqueue = outbox
        a = await enqueue("fake", _sms(1), 0)
        b = await enqueue("fake", _sms(2), 0)
        await store.claim_due(now_ms=0, lease_ms=10, limit=10)
        await store.mark_sent(a, provider_message_id="SM1", status="queued", now_ms=1)
        await store.mark_failed(b, attempts=1, error="bad number", now_ms=1)
        assert await store.claim_due(now_ms=10**12, lease_ms=10, limit=10) == []

    async def test_reschedule_sets_attempts_and_due_time(self, outbox: tuple[OutboxStore, Enqueue]) -> None:
        store, enqueue = outbox
        a = await enqueue("fake", _sms(1), 0)
        await store.claim_due(now_ms=0, lease_ms=60_000, limit=10)
        await store.reschedule(a, attempts=1, next_attempt_ms=2_000, error="503")
        assert await store.claim_due(now_ms=1_999, lease_ms=60_000, limit=10) == []
        (row,) = await store.claim_due(now_ms=2_000, lease_ms=60_000, limit=10)
        assert row.outbox_id == a and row.attempts == 1

    async def test_worker_end_to_end(self, outbox: tuple[OutboxStore, Enqueue]) -> None:
        store, enqueue = outbox
        clock = FakeClock()
        outcomes: list[Any] = [TemporaryFailure("down"), SendResult("SM9", "sent")]

        def handler(_: OutboundSms) -> SendResult:
            outcome = outcomes.pop(0)
            if isinstance(outcome, Exception):
                raise outcome
            return outcome  # type: ignore[no-any-return]

        provider = FakeProvider(handler)
        worker = OutboxWorker(store, {"fake": provider}, clock, MemoryStatusSink(), OutboxSettings())
        await enqueue("fake", _sms(1), clock.now_ms())
        await worker.run_once()
        clock.advance(2)
        await worker.run_once()
        clock.advance(3600)
        assert await worker.run_once() == 0
        assert len(provider.sent) == 2

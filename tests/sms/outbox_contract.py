"""The ``OutboxStore`` contract, as a reusable test class.

Any implementation (the in-memory fake here, the SQL store in the store package) passes the same suite:
subclass ``OutboxStoreContract`` and provide the ``outbox`` fixture returning ``(store, enqueue)``, where
``enqueue(provider, sms, now_ms)`` inserts a pending row the way the actions layer does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from smsdesk.clock import FakeClock
from smsdesk.sms.base import OutboundSms, SendResult, TemporaryFailure
from smsdesk.sms.fake import FakeProvider
from smsdesk.sms.outbox import OutboxSettings, OutboxStore, OutboxWorker
from tests.sms.sinks import MemoryStatusSink

Enqueue = Callable[[str, OutboundSms, int], Awaitable[None]]


def _sms(i: int) -> OutboundSms:
    return OutboundSms(f"ob-{i}", "+15550000000", "+15551230001", f"text {i}")


class OutboxStoreContract:
    async def test_claim_returns_due_rows_oldest_first_and_leases_them(
        self, outbox: tuple[OutboxStore, Enqueue]
    ) -> None:
        store, enqueue = outbox
        await enqueue("fake", _sms(2), 1_000)
        await enqueue("fake", _sms(1), 500)
        await enqueue("fake", _sms(3), 5_000)
        rows = await store.claim_due(now_ms=1_000, lease_ms=60_000, limit=10)
        assert [r.outbox_id for r in rows] == ["ob-1", "ob-2"]
        assert rows[0].sms == _sms(1) and rows[0].provider == "fake" and rows[0].attempts == 0
        assert await store.claim_due(now_ms=2_000, lease_ms=60_000, limit=10) == []  # leased
        again = await store.claim_due(now_ms=61_001, lease_ms=60_000, limit=10)  # lease lapsed
        assert sorted(r.outbox_id for r in again) == ["ob-1", "ob-2", "ob-3"]

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
        await enqueue("fake", _sms(1), 0)
        await enqueue("fake", _sms(2), 0)
        await store.claim_due(now_ms=0, lease_ms=10, limit=10)
        await store.mark_sent("ob-1", provider_message_id="SM1", status="queued", now_ms=1)
        await store.mark_failed("ob-2", attempts=1, error="bad number", now_ms=1)
        assert await store.claim_due(now_ms=10**12, lease_ms=10, limit=10) == []

    async def test_reschedule_sets_attempts_and_due_time(self, outbox: tuple[OutboxStore, Enqueue]) -> None:
        store, enqueue = outbox
        await enqueue("fake", _sms(1), 0)
        await store.claim_due(now_ms=0, lease_ms=60_000, limit=10)
        await store.reschedule("ob-1", attempts=1, next_attempt_ms=2_000, error="503")
        assert await store.claim_due(now_ms=1_999, lease_ms=60_000, limit=10) == []
        (row,) = await store.claim_due(now_ms=2_000, lease_ms=60_000, limit=10)
        assert row.attempts == 1

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

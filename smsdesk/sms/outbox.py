"""The durable outbound queue: ``OutboxStore`` (interface) and ``OutboxWorker`` (the sender loop).

Policy lives here:

* **Transactional outbox.** The actions layer inserts an outbox row in the same transaction as the
  agent's message; this worker sends it later. A restart loses nothing: rows stay in the store, and a
  row claimed by a worker that died becomes due again when its lease ends.
* **Retry.** ``TemporaryFailure`` (network, 5xx, 429, SMSC throttling/not bound, timeouts) is retried
  with exponential back-off ``base_delay_s * 2**(attempt-1)`` capped at ``max_delay_s``, no jitter
  (deterministic under ``FakeClock``; one worker per deployment makes thundering herds moot).
* **Give up** on ``PermanentFailure``, on an unknown provider, or after ``max_attempts`` attempts: the
  row is marked failed and a ``StatusUpdate(status="failed", outbox_id=...)`` goes to the status sink so
  the agent sees it.
* **Concurrency, in order per recipient.** The rows of one claimed batch are grouped by recipient; up to
  ``concurrency`` recipients are sent to at once (a carrier's REST call takes 100-500 ms, so one send at a
  time would cap a deployment at a few SMS per second), while one recipient's rows go one after another,
  oldest first, so a customer reads the agent's messages in the order they were written.
* **Delivery is at least once.** If the process dies after the provider accepted a message but before
  ``mark_sent`` commits, the row is sent again after the lease. Providers that support it dedupe on
  ``outbox_id`` (the simulator does; Twilio and SMPP have no idempotency key).

``memory_outbox.MemoryOutboxStore`` is the in-memory implementation for tests; the SQL one belongs to
the store package and must pass the same contract suite (``tests/sms/outbox_contract.py``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from smsdesk.clock import Clock
from smsdesk.metrics import SMS_OUTBOUND
from smsdesk.periodic import Periodic
from smsdesk.sms.base import (
    OutboundSms,
    PermanentFailure,
    SendResult,
    SmsProvider,
    StatusSink,
    StatusUpdate,
    TemporaryFailure,
)

__all__ = ["OutboxRow", "OutboxSettings", "OutboxStore", "OutboxWorker", "backoff_delay_s"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """A pending send. ``attempts`` counts attempts already made (0 for a fresh row)."""

    outbox_id: str
    provider: str
    sms: OutboundSms
    attempts: int = 0
    next_attempt_ms: int = 0


@dataclass(frozen=True, slots=True)
class OutboxSettings:
    max_attempts: int = 8
    base_delay_s: float = 2.0
    max_delay_s: float = 300.0
    lease_s: float = 60.0
    batch_size: int = 100
    poll_interval_s: float = 1.0
    send_timeout_s: float = 30.0
    concurrency: int = 32
    """Recipients sent to at once within a batch; one recipient's rows are always sent one after another."""

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay_s <= 0 or self.max_delay_s < self.base_delay_s:
            raise ValueError("need 0 < base_delay_s <= max_delay_s")
        if self.lease_s <= self.send_timeout_s:
            raise ValueError("lease_s must exceed send_timeout_s, or a slow send could be sent twice")
        if self.batch_size < 1 or self.poll_interval_s <= 0 or self.concurrency < 1:
            raise ValueError("batch_size, poll_interval_s and concurrency must be positive")


class OutboxStore(Protocol):
    """Narrow storage interface the worker needs. Times are epoch milliseconds."""

    async def claim_due(self, *, now_ms: int, lease_ms: int, limit: int) -> list[OutboxRow]:
        """Pending rows with ``next_attempt_ms <= now_ms``, at most ``limit``, in the order they were
        enqueued (a conversation's texts leave in order, a retried one before the ones written after it).

        Atomically pushes each returned row's ``next_attempt_ms`` to ``now_ms + lease_ms`` so no other
        worker claims it while this one sends (and so it comes back if this worker dies).
        """
        ...

    async def mark_sent(self, outbox_id: str, *, provider_message_id: str, status: str, now_ms: int) -> None:
        """The provider accepted the row: record its id (for status callbacks) and stop retrying."""
        ...

    async def reschedule(self, outbox_id: str, *, attempts: int, next_attempt_ms: int, error: str) -> None:
        """A temporary failure: try again at ``next_attempt_ms``."""
        ...

    async def mark_failed(self, outbox_id: str, *, attempts: int, error: str, now_ms: int) -> None:
        """Give up for good."""
        ...


def backoff_delay_s(attempts: int, settings: OutboxSettings) -> float:
    """Delay after the ``attempts``-th failed attempt (1-based)."""
    exponent = min(max(attempts - 1, 0), 32)
    return float(min(settings.base_delay_s * (2**exponent), settings.max_delay_s))


class OutboxWorker:
    """Claims due rows and sends them through the provider named on each row.

    Drive it with ``run_once()`` in tests, or ``start()`` / ``close()`` for the background loop; call
    ``wake()`` after committing a new row to skip the poll delay.
    """

    def __init__(
        self,
        store: OutboxStore,
        providers_by_name: Mapping[str, SmsProvider],
        clock: Clock,
        status_sink: StatusSink,
        settings: OutboxSettings | None = None,
    ) -> None:
        self._store = store
        self._providers = dict(providers_by_name)
        self._clock = clock
        self._status_sink = status_sink
        self._settings = settings or OutboxSettings()
        self._loop = Periodic(
            self._drain,
            self._settings.poll_interval_s,
            name="sms-outbox-worker",
            log=log,
            what="outbox pass",
            wakeable=True,
            sleep=clock.sleep,
        )

    def wake(self) -> None:
        self._loop.wake()

    async def run_once(self) -> int:
        """Send every due row once; returns how many rows were processed."""
        s = self._settings
        rows = await self._store.claim_due(
            now_ms=self._clock.now_ms(), lease_ms=int(s.lease_s * 1000), limit=s.batch_size
        )
        by_recipient: dict[str, list[OutboxRow]] = {}
        for row in rows:
            by_recipient.setdefault(row.sms.to_number, []).append(row)
        if len(by_recipient) <= 1 or s.concurrency == 1:
            for row in rows:
                await self._process(row)
            return len(rows)
        gate = asyncio.Semaphore(s.concurrency)

        async def in_order(group: list[OutboxRow]) -> None:
            async with gate:
                for row in group:
                    await self._process(row)

        outcomes = await asyncio.gather(*(in_order(g) for g in by_recipient.values()), return_exceptions=True)
        for outcome in outcomes:  # every group has finished: now report the first store failure, if any
            if isinstance(outcome, BaseException):
                raise outcome
        return len(rows)

    async def _process(self, row: OutboxRow) -> None:
        attempt = row.attempts + 1
        provider = self._providers.get(row.provider)
        if provider is None:
            await self._fail(row, attempt, f"no SMS provider named {row.provider!r} is configured")
            return
        try:
            async with asyncio.timeout(self._settings.send_timeout_s):
                result: SendResult = await provider.send(row.sms)
        except PermanentFailure as exc:
            await self._fail(row, attempt, exc.message)
            return
        except TemporaryFailure as exc:
            await self._retry(row, attempt, exc.message)
            return
        except TimeoutError:
            await self._retry(row, attempt, f"{row.provider} did not answer in time")
            return
        except Exception as exc:  # a provider bug must not kill the worker; retry like a temporary error
            log.exception(
                "SMS provider %s raised unexpectedly for outbox row %s", row.provider, row.outbox_id
            )
            await self._retry(row, attempt, f"internal error: {type(exc).__name__}")
            return
        SMS_OUTBOUND.inc(row.provider, "sent")
        await self._store.mark_sent(
            row.outbox_id,
            provider_message_id=result.provider_message_id,
            status=result.status,
            now_ms=self._clock.now_ms(),
        )

    async def _retry(self, row: OutboxRow, attempt: int, error: str) -> None:
        if attempt >= self._settings.max_attempts:
            await self._fail(row, attempt, f"gave up after {attempt} attempts: {error}")
            return
        SMS_OUTBOUND.inc(row.provider, "retry")
        delay_ms = int(backoff_delay_s(attempt, self._settings) * 1000)
        await self._store.reschedule(
            row.outbox_id,
            attempts=attempt,
            next_attempt_ms=self._clock.now_ms() + delay_ms,
            error=error,
        )

    async def _fail(self, row: OutboxRow, attempt: int, error: str) -> None:
        SMS_OUTBOUND.inc(row.provider, "failed")
        await self._store.mark_failed(
            row.outbox_id, attempts=attempt, error=error, now_ms=self._clock.now_ms()
        )
        update = StatusUpdate(row.provider, None, "failed", error=error, outbox_id=row.outbox_id)
        try:
            await self._status_sink(update)
        except Exception:
            log.exception("status sink failed for outbox row %s", row.outbox_id)

    async def _drain(self) -> None:
        """Batch after batch while each is full; then the loop waits for ``wake()`` or the poll interval."""
        while await self.run_once() >= self._settings.batch_size:
            pass

    async def start(self) -> None:
        self._loop.start()

    async def close(self) -> None:
        await self._loop.close()

from __future__ import annotations

import asyncio

import pytest

from smsdesk.clock import FakeClock
from smsdesk.sms.base import OutboundSms, PermanentFailure, SendResult, TemporaryFailure
from smsdesk.sms.fake import FakeProvider
from smsdesk.sms.memory_outbox import MemoryOutboxStore, OutboxState
from smsdesk.sms.outbox import OutboxSettings, OutboxWorker, backoff_delay_s
from tests.sms.sinks import MemoryStatusSink

SETTINGS = OutboxSettings(max_attempts=4, base_delay_s=2, max_delay_s=5, lease_s=60, send_timeout_s=0.2)


def sms(i: int = 1) -> OutboundSms:
    return OutboundSms(f"ob-{i}", "+15550000000", "+15551230001", f"hello {i}", "s1", i)


def scripted(*outcomes: SendResult | Exception) -> FakeProvider:
    queue = list(outcomes)

    def handler(_: OutboundSms) -> SendResult:
        outcome = queue.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    return FakeProvider(handler)


def make(provider: FakeProvider, clock: FakeClock, settings: OutboxSettings = SETTINGS):
    store, status = MemoryOutboxStore(), MemoryStatusSink()
    worker = OutboxWorker(store, {"fake": provider}, clock, status, settings)
    return store, status, worker


def test_backoff_is_exponential_and_capped() -> None:
    s = OutboxSettings(base_delay_s=2, max_delay_s=300)
    assert [backoff_delay_s(n, s) for n in (1, 2, 3, 4, 9, 10, 100)] == [2, 4, 8, 16, 300, 300, 300]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attempts": 0},
        {"base_delay_s": 0},
        {"base_delay_s": 9, "max_delay_s": 1},
        {"lease_s": 5},
        {"batch_size": 0},
        {"concurrency": 0},
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        OutboxSettings(**kwargs)  # type: ignore[arg-type]


async def test_accepted_message_is_marked_sent_once(clock: FakeClock) -> None:
    provider = FakeProvider()
    store, status, worker = make(provider, clock)
    store.enqueue("fake", sms(), now_ms=clock.now_ms())
    assert await worker.run_once() == 1
    row = store.get("ob-1")
    assert (row.state, row.provider_message_id, row.status) == (OutboxState.SENT, "fake-ob-1", "queued")
    clock.advance(3600)
    assert await worker.run_once() == 0
    assert len(provider.sent) == 1 and status.updates == []


async def test_temporary_failures_back_off_then_succeed(clock: FakeClock) -> None:
    provider = scripted(TemporaryFailure("503"), TemporaryFailure("timeout"), SendResult("SM1", "sent"))
    store, status, worker = make(provider, clock)
    t0 = clock.now_ms()
    store.enqueue("fake", sms(), now_ms=t0)
    await worker.run_once()
    row = store.get("ob-1")
    assert row.state is OutboxState.PENDING and row.row.attempts == 1
    assert row.row.next_attempt_ms == t0 + 2000 and row.last_error == "503"
    clock.advance(1.9)
    assert await worker.run_once() == 0  # not due yet
    clock.advance(0.1)
    assert await worker.run_once() == 1
    assert store.get("ob-1").row.next_attempt_ms == clock.now_ms() + 4000
    clock.advance(4)
    await worker.run_once()
    done = store.get("ob-1")
    assert done.state is OutboxState.SENT and done.provider_message_id == "SM1" and done.row.attempts == 3
    assert len(provider.sent) == 3 and status.updates == []


async def test_permanent_failure_is_reported_to_the_agent(clock: FakeClock) -> None:
    store, status, worker = make(scripted(PermanentFailure("Twilio error 21211: invalid To")), clock)
    store.enqueue("fake", sms(), now_ms=clock.now_ms())
    await worker.run_once()
    assert store.get("ob-1").state is OutboxState.FAILED
    (update,) = status.updates
    assert (update.status, update.outbox_id, update.provider) == ("failed", "ob-1", "fake")
    assert update.provider_message_id is None and "21211" in (update.error or "")


async def test_gives_up_after_max_attempts(clock: FakeClock) -> None:
    provider = FakeProvider(lambda _: (_ for _ in ()).throw(TemporaryFailure("down")))
    store, status, worker = make(provider, clock)
    store.enqueue("fake", sms(), now_ms=clock.now_ms())
    for _ in range(10):
        await worker.run_once()
        clock.advance(5)
    assert len(provider.sent) == 4
    assert store.get("ob-1").state is OutboxState.FAILED
    assert status.updates[0].error == "gave up after 4 attempts: down"


async def test_unknown_provider_and_provider_bugs(clock: FakeClock) -> None:
    provider = scripted(RuntimeError("bug"), SendResult("ok"))
    store, status, worker = make(provider, clock)
    store.enqueue("nope", sms(1), now_ms=clock.now_ms())
    store.enqueue("fake", sms(2), now_ms=clock.now_ms())
    await worker.run_once()
    assert store.get("ob-1").state is OutboxState.FAILED
    assert "no SMS provider named 'nope'" in (status.updates[0].error or "")
    assert store.get("ob-2").last_error == "internal error: RuntimeError"
    clock.advance(2)
    await worker.run_once()
    assert store.get("ob-2").state is OutboxState.SENT


async def test_hanging_provider_times_out_as_temporary(clock: FakeClock) -> None:
    async def hang(_: OutboundSms) -> SendResult:
        await asyncio.sleep(10)
        raise AssertionError("unreachable")

    store, _, worker = make(FakeProvider(hang), clock)
    store.enqueue("fake", sms(), now_ms=clock.now_ms())
    await worker.run_once()
    assert store.get("ob-1").last_error == "fake did not answer in time"


async def test_restart_resumes_without_loss_or_duplicates(clock: FakeClock) -> None:
    store = MemoryOutboxStore()
    for i in (1, 2, 3):
        store.enqueue("fake", sms(i), now_ms=clock.now_ms())
    first = FakeProvider()
    await OutboxWorker(store, {"fake": first}, clock, MemoryStatusSink(), SETTINGS).run_once()
    store.enqueue("fake", sms(4), now_ms=clock.now_ms())
    # a worker claims row 4 and dies before sending: the lease keeps others off it until it lapses
    (claimed,) = await store.claim_due(now_ms=clock.now_ms(), lease_ms=60_000, limit=10)
    assert claimed.outbox_id == "ob-4"
    second = FakeProvider()
    restarted = OutboxWorker(store, {"fake": second}, clock, MemoryStatusSink(), SETTINGS)
    assert await restarted.run_once() == 0
    clock.advance(60)
    assert await restarted.run_once() == 1
    assert [m.outbox_id for m in first.sent] == ["ob-1", "ob-2", "ob-3"]
    assert [m.outbox_id for m in second.sent] == ["ob-4"]
    assert all(r.state is OutboxState.SENT for r in store.all())


async def test_background_loop_wakes_on_demand_and_polls(clock: FakeClock) -> None:
    provider = FakeProvider()
    store, _, worker = make(provider, clock)
    await worker.start()
    try:
        store.enqueue("fake", sms(1), now_ms=clock.now_ms())
        worker.wake()
        for _ in range(50):
            if provider.sent:
                break
            await asyncio.sleep(0.01)
        assert [m.outbox_id for m in provider.sent] == ["ob-1"]
        store.enqueue("fake", sms(2), now_ms=clock.now_ms())
        await asyncio.sleep(0.05)
        assert len(provider.sent) == 1  # idle until the poll interval passes on the clock
        clock.advance(SETTINGS.poll_interval_s)
        for _ in range(50):
            if len(provider.sent) == 2:
                break
            await asyncio.sleep(0.01)
        assert len(provider.sent) == 2
    finally:
        await worker.close()


async def test_memory_store_refuses_duplicates_and_unknown_rows(clock: FakeClock) -> None:
    store = MemoryOutboxStore()
    store.enqueue("fake", sms(), now_ms=0)
    with pytest.raises(ValueError, match="already exists"):
        store.enqueue("fake", sms(), now_ms=0)
    with pytest.raises(KeyError):
        await store.mark_failed("zzz", attempts=1, error="x", now_ms=0)


def to(recipient: int, i: int) -> OutboundSms:
    return OutboundSms(f"ob-{recipient}-{i}", "+15550000000", f"+1555123{recipient:04d}", f"m{i}", "s1", i)


async def test_recipients_are_sent_to_at_once_each_in_order(clock: FakeClock) -> None:
    """Three recipients' sends overlap (a slow carrier does not serialise the whole batch); one recipient's
    messages still leave oldest first, each after the previous one was accepted."""
    in_flight: list[str] = []
    overlap = 0
    release = asyncio.Event()

    async def slow(message: OutboundSms) -> SendResult:
        nonlocal overlap
        in_flight.append(message.outbox_id)
        overlap = max(overlap, len(in_flight))
        if len(in_flight) == 3:
            release.set()
        await asyncio.wait_for(release.wait(), 1)
        in_flight.remove(message.outbox_id)
        return SendResult(f"SM-{message.outbox_id}", "sent")

    provider = FakeProvider(slow)
    store, _, worker = make(provider, clock, OutboxSettings(send_timeout_s=5))
    for i in range(3):
        for r in range(3):
            store.enqueue("fake", to(r, i), now_ms=clock.now_ms())
    assert await worker.run_once() == 9
    assert overlap == 3
    for r in range(3):
        order = [m.outbox_id for m in provider.sent if m.to_number.endswith(f"{r:04d}")]
        assert order == [f"ob-{r}-0", f"ob-{r}-1", f"ob-{r}-2"]
    assert all(store.get(f"ob-{r}-{i}").state is OutboxState.SENT for r in range(3) for i in range(3))


async def test_one_at_a_time_when_concurrency_is_one(clock: FakeClock) -> None:
    active = 0
    most = 0

    async def handler(message: OutboundSms) -> SendResult:
        nonlocal active, most
        active += 1
        most = max(most, active)
        await asyncio.sleep(0)
        active -= 1
        return SendResult(f"SM-{message.outbox_id}", "sent")

    store, _, worker = make(FakeProvider(handler), clock, OutboxSettings(concurrency=1))
    for r in range(4):
        store.enqueue("fake", to(r, 0), now_ms=clock.now_ms())
    assert await worker.run_once() == 4 and most == 1

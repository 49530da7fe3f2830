"""``Periodic`` (smsdesk/periodic.py): the background loops' one shape, driven by a ``FakeClock``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest

from smsdesk.clock import FakeClock
from smsdesk.domain.errors import StoreUnavailable
from smsdesk.periodic import Periodic

log = logging.getLogger("tests.periodic")


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


class Passes:
    """An action that counts its passes and fails as told."""

    def __init__(self) -> None:
        self.n = 0
        self.fail: list[BaseException] = []

    async def __call__(self) -> None:
        self.n += 1
        if self.fail:
            raise self.fail.pop(0)


def loop_of(
    action: Passes, clock: FakeClock, *, first: bool = True, on_error: Callable[[], None] | None = None
) -> Periodic:
    return Periodic(
        action, 10, name="t", log=log, what="test pass", first=first, sleep=clock.sleep, on_error=on_error
    )


async def test_a_pass_at_once_then_one_every_interval_until_closed() -> None:
    clock, action = FakeClock(), Passes()
    loop = loop_of(action, clock)
    loop.start()
    await settle()
    assert action.n == 1 and loop.running
    clock.advance(9.9)
    await settle()
    assert action.n == 1
    clock.advance(0.1)
    await settle()
    assert action.n == 2
    await loop.close()
    assert not loop.running
    clock.advance(100)
    await settle()
    assert action.n == 2  # closed: no more passes
    await loop.close()  # closing twice is harmless


async def test_first_false_waits_one_interval_and_start_twice_is_one_loop() -> None:
    clock, action = FakeClock(), Passes()
    loop = loop_of(action, clock, first=False)
    loop.start()
    loop.start()
    await settle()
    assert action.n == 0
    clock.advance(10)
    await settle()
    assert action.n == 1
    await loop.close()


async def test_a_failing_pass_is_logged_and_the_loop_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    clock, action = FakeClock(), Passes()
    errors: list[int] = []
    action.fail = [RuntimeError("boom"), StoreUnavailable("the database is restarting")]
    loop = loop_of(action, clock, on_error=lambda: errors.append(action.n))
    with caplog.at_level(logging.WARNING, logger="tests.periodic"):
        loop.start()
        await settle()
        clock.advance(10)
        await settle()
        clock.advance(10)
        await settle()
    await loop.close()
    assert action.n == 3 and errors == [1, 2]
    failed, skipped = caplog.records
    assert failed.levelno == logging.ERROR and failed.getMessage() == "test pass failed"
    assert failed.exc_info is not None  # a traceback
    assert skipped.levelno == logging.WARNING and skipped.exc_info is None  # one line
    assert skipped.getMessage() == "test pass skipped: the database is restarting"


async def test_wake_ends_the_pause_and_a_wake_during_a_pass_is_not_lost() -> None:
    clock = FakeClock()
    entered, release = asyncio.Event(), asyncio.Event()
    passes = 0

    async def action() -> None:
        nonlocal passes
        passes += 1
        entered.set()
        await release.wait()

    loop = Periodic(action, 10, name="t", log=log, what="t", sleep=clock.sleep, wakeable=True)
    loop.start()
    await asyncio.wait_for(entered.wait(), 5)
    loop.wake()  # during the first pass
    entered.clear()
    release.set()
    await asyncio.wait_for(entered.wait(), 5)  # the second pass, without the clock moving
    assert passes == 2
    await settle()
    assert passes == 2  # one wake, one pass
    loop.wake()
    await settle()
    assert passes == 3
    clock.advance(10)
    await settle()
    assert passes == 4  # the interval still runs passes
    await loop.close()


async def test_close_cancels_a_pass_under_way() -> None:
    cancelled = asyncio.Event()
    entered = asyncio.Event()

    async def action() -> None:
        entered.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    loop = Periodic(action, 10, name="t", log=log, what="t")
    loop.start()
    await asyncio.wait_for(entered.wait(), 5)
    await asyncio.wait_for(loop.close(), 5)
    assert cancelled.is_set() and not loop.running


def test_only_a_wakeable_loop_takes_a_wake() -> None:
    loop = Periodic(Passes(), 10, name="t", log=log, what="t")
    with pytest.raises(AssertionError):
        loop.wake()

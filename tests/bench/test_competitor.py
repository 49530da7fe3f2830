"""The competing process of ``--competing-cpu``: it runs, burns CPU, and is gone after ``stop``. How much CPU
it gets is not asserted (a shared machine); the smoke test reads it from a real run."""

from __future__ import annotations

import asyncio
import os

import pytest

from smsdesk.bench.competitor import CompetingLoad, parse_share
from smsdesk.bench.procstat import cpu_percent


async def test_it_burns_cpu_until_stopped() -> None:
    load = CompetingLoad(0.5)
    assert load.sample() is None
    await load.start()
    pid = load.pid
    assert pid is not None
    try:
        before = load.sample()
        await asyncio.sleep(0.5)
        after = load.sample()
        assert before is not None and after is not None
        assert cpu_percent(before, after) > 0
    finally:
        await load.stop()
    assert load.pid is None and load.sample() is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # reaped, not left as a zombie
    await load.stop()  # twice is harmless


@pytest.mark.parametrize("text", ["0", "-0.5", "1.01", "nan", "half"])
def test_a_share_outside_one_core_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="0 < F <= 1"):
        parse_share(text)


def test_parse_share_and_the_constructor_agree() -> None:
    assert parse_share("0.25") == 0.25 and parse_share("1") == 1.0
    with pytest.raises(ValueError):
        CompetingLoad(0.0)

"""A competing process for ``--competing-cpu F``: another job on the machine, burning a share F of one core.

The figures of a shared machine swing with whatever else runs on it ("the load average does not tell",
docs/performance-history.md). This makes "busy" reproducible: a child Python process that spins for F of every
10 ms and sleeps for the rest, at the same priority as the server, from before the first rate step until
after the last. Its measured CPU is recorded with each step (``competing_cpu_percent``): on a machine with
fewer free cores than asked, it gets less than F.
"""

from __future__ import annotations

import asyncio
import sys

from smsdesk.bench.procstat import ProcSample, ProcSampler

__all__ = ["CompetingLoad", "parse_share"]

_PERIOD_S = 0.01

# the child imports nothing of smsdesk: it starts in milliseconds and costs only what it is asked to
_SPIN = """
import sys, time
share, period = float(sys.argv[1]), float(sys.argv[2])
clock = time.perf_counter
while True:
    start = clock()
    while clock() - start < share * period:
        pass
    time.sleep(max(0.0, period - (clock() - start)))
"""


def parse_share(text: str) -> float:
    """``--competing-cpu``: a share of one core, 0 < F <= 1."""
    try:
        return _checked(float(text))
    except ValueError:
        raise ValueError(f"--competing-cpu takes a share of one core, 0 < F <= 1; got {text!r}") from None


def _checked(share: float) -> float:
    if not 0 < share <= 1:  # NaN fails this too
        raise ValueError(f"a share of one core, 0 < F <= 1; got {share!r}")
    return share


class CompetingLoad:
    def __init__(self, share: float) -> None:
        self.share = _checked(share)
        self._proc: asyncio.subprocess.Process | None = None
        self._sampler: ProcSampler | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    async def start(self) -> None:
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", _SPIN, str(self.share), str(_PERIOD_S), stdin=asyncio.subprocess.DEVNULL
        )
        self._sampler = ProcSampler(self._proc.pid)

    def sample(self) -> ProcSample | None:
        """Its CPU so far (``None`` before ``start``); raises ``ProcUnavailable`` once it is gone."""
        return self._sampler.sample() if self._sampler is not None else None

    async def stop(self) -> None:
        proc, self._proc, self._sampler = self._proc, None, None
        if proc is None or proc.returncode is not None:
            return
        proc.kill()
        await proc.wait()

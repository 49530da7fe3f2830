"""CPU time and memory of a process from ``/proc`` (Linux), without extra dependencies.

``ProcSampler(pid).sample()`` reads ``/proc/<pid>/stat`` (user + system CPU seconds) and
``/proc/<pid>/status`` (``VmRSS`` now, ``VmHWM`` the peak resident size). ``cpu_percent`` turns two samples
into the share of one core used in between (100 = one full core). Children are not included: the server
under test is one process (uvicorn without workers).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ProcSample", "ProcSampler", "ProcUnavailable", "cpu_percent"]

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


class ProcUnavailable(Exception):
    """``/proc/<pid>`` cannot be read (process gone, or not Linux)."""


@dataclass(frozen=True, slots=True)
class ProcSample:
    wall: float  # time.monotonic()
    cpu_s: float
    rss_kb: int
    peak_rss_kb: int


def parse_stat_cpu(stat: str) -> float:
    """User + system CPU seconds from the text of ``/proc/<pid>/stat``."""
    tail = stat.rsplit(")", 1)[-1].split()  # the command name may contain spaces: skip past ")"
    if len(tail) < 13:
        raise ProcUnavailable(f"unexpected /proc stat line: {stat[:80]!r}")
    return (int(tail[11]) + int(tail[12])) / _TICKS


def parse_status_kb(status: str, key: str) -> int:
    for line in status.splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise ProcUnavailable(f"{key} missing from /proc status")


class ProcSampler:
    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._dir = Path(f"/proc/{pid}")

    def sample(self) -> ProcSample:
        try:
            stat = (self._dir / "stat").read_text()
            status = (self._dir / "status").read_text()
        except OSError as exc:
            raise ProcUnavailable(f"cannot read /proc/{self.pid}: {exc}") from exc
        return ProcSample(
            wall=time.monotonic(),
            cpu_s=parse_stat_cpu(stat),
            rss_kb=parse_status_kb(status, "VmRSS"),
            peak_rss_kb=parse_status_kb(status, "VmHWM"),
        )


def cpu_percent(before: ProcSample, after: ProcSample) -> float:
    elapsed = after.wall - before.wall
    return 0.0 if elapsed <= 0 else 100.0 * (after.cpu_s - before.cpu_s) / elapsed

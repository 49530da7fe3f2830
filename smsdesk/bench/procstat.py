"""CPU time and memory of a process, or of a whole process tree, from ``/proc`` (Linux), without dependencies.

``ProcSampler(pid).sample()`` reads one process: ``/proc/<pid>/stat`` (user + system CPU seconds) and
``/proc/<pid>/status`` (``VmRSS`` now, ``VmHWM`` its peak). The load generator samples itself this way.

``TreeSampler(pid).sample()`` reads the server under test: the ``smsdesk serve`` process and all its
descendants (with ``--workers N``, uvicorn's supervisor and its N worker processes, plus any helper they
start). Descendants are found through ``/proc/<pid>/task/*/children`` where the kernel has it, else by
scanning every ``/proc/*/stat`` for parent ids (about a hundred small reads: cheap enough for each sample).

* **CPU**: the sum over the tree of each process's ``utime + stime`` and its ``cutime + cstime`` (the CPU of
  the children it has already waited for). A worker that exits still counts: as a zombie from its own
  ``stat``, and once its parent has reaped it, inside the parent's ``cutime``, so the tree's CPU never goes
  back. Lost is only a process orphaned out of the tree (its parent died first): its CPU leaves with it.
* **RSS**: the sum of the tree's ``VmRSS``. ``peak_rss_kb`` is the highest sum this sampler has seen since
  ``reset_peak()`` (the sum of each process's ``VmHWM`` would overstate it: the peaks need not coincide).
  Shared pages (a worker's copy-on-write pages, shared libraries) are counted in every process holding them,
  as ``ps`` and the kernel's OOM accounting count them.

``cpu_percent`` turns two samples of either kind into the share of one core used in between (100 = one full
core; a tree of N busy processes can reach N * 100).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

__all__ = [
    "ProcInfo",
    "ProcSample",
    "ProcSampler",
    "ProcUnavailable",
    "TreeSample",
    "TreeSampler",
    "cpu_percent",
    "per_process",
    "read_process",
    "read_tree",
    "tree_pids",
]

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PROC = Path("/proc")


class ProcUnavailable(Exception):
    """``/proc/<pid>`` cannot be read (process gone, or not Linux)."""


class _Timed(Protocol):
    @property
    def wall(self) -> float: ...
    @property
    def cpu_s(self) -> float: ...


@dataclass(frozen=True, slots=True)
class ProcSample:
    wall: float  # time.monotonic()
    cpu_s: float
    rss_kb: int
    peak_rss_kb: int


def _stat_fields(stat: str) -> list[str]:
    """The fields after the command name (field 3, ``state``, is index 0): the name may hold spaces and ")"."""
    tail = stat.rsplit(")", 1)[-1].split()
    if len(tail) < 20:
        raise ProcUnavailable(f"unexpected /proc stat line: {stat[:80]!r}")
    return tail


def parse_stat_cpu(stat: str) -> float:
    """User + system CPU seconds from the text of ``/proc/<pid>/stat``."""
    tail = stat.rsplit(")", 1)[-1].split()
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
        self._dir = _PROC / str(pid)

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


@dataclass(frozen=True, slots=True)
class ProcInfo:
    """One process of the tree at one sample."""

    pid: int
    ppid: int
    start: int  # clock ticks after boot: with the pid, names the process (pids are reused)
    cpu_s: float  # its own utime + stime
    reaped_cpu_s: float  # cutime + cstime: the children it has waited for
    rss_kb: int  # 0 for a zombie
    peak_rss_kb: int


@dataclass(frozen=True, slots=True)
class TreeSample:
    wall: float  # time.monotonic()
    processes: tuple[ProcInfo, ...]  # the root first
    peak_rss_kb: int  # the highest summed RSS the sampler has seen since its last reset_peak()

    @property
    def cpu_s(self) -> float:
        return sum(p.cpu_s + p.reaped_cpu_s for p in self.processes)

    @property
    def rss_kb(self) -> int:
        return sum(p.rss_kb for p in self.processes)


def parse_proc(stat: str, status: str) -> ProcInfo:
    """A ``ProcInfo`` from the texts of ``/proc/<pid>/stat`` and ``/proc/<pid>/status``."""
    f = _stat_fields(stat)
    rss = hwm = 0
    for line in status.splitlines():  # a zombie has no Vm* lines: it holds no memory any more
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
        elif line.startswith("VmHWM:"):
            hwm = int(line.split()[1])
    return ProcInfo(
        pid=int(stat.split(" ", 1)[0]),
        ppid=int(f[1]),
        start=int(f[19]),
        cpu_s=(int(f[11]) + int(f[12])) / _TICKS,
        reaped_cpu_s=(int(f[13]) + int(f[14])) / _TICKS,
        rss_kb=rss,
        peak_rss_kb=hwm,
    )


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:  # gone since it was listed
        return None


def _children_files(pid: int) -> list[int] | None:
    """Children from ``/proc/<pid>/task/*/children``; None where the kernel does not provide those files."""
    out: list[int] = []
    try:
        tasks = list((_PROC / str(pid) / "task").iterdir())
    except OSError:
        return []
    for task in tasks:
        try:
            out.extend(int(c) for c in (task / "children").read_text().split())
        except OSError:
            if task.exists():
                return None  # no CONFIG_PROC_CHILDREN, or not readable: scan instead
            # else the thread ended, and its children are another thread's now
    return out


def _parents() -> dict[int, list[int]]:
    """Every process's children, from a scan of ``/proc/*/stat``."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir(_PROC):
        if entry.isdigit():
            stat = _read(_PROC / entry / "stat")
            if stat is not None:
                children.setdefault(int(_stat_fields(stat)[1]), []).append(int(entry))
    return children


def tree_pids(root: int, *, scan: bool = False) -> list[int]:
    """``root`` and its descendants, root first then breadth-first (``scan``: from ``/proc/*/stat`` even
    where the kernel lists children)."""
    found, i = [root], 0
    scanned = _parents() if scan else None
    while i < len(found):
        pid = found[i]
        kids = _children_files(pid) if scanned is None else scanned.get(pid, [])
        if kids is None:
            scanned = _parents()
            kids = scanned.get(pid, [])
        found.extend(k for k in kids if k not in found)
        i += 1
    return found


def read_process(pid: int) -> ProcInfo | None:
    """The process now, or None when it is gone."""
    stat, status = _read(_PROC / str(pid) / "stat"), _read(_PROC / str(pid) / "status")
    return None if stat is None or status is None else parse_proc(stat, status)


def read_tree(root: int) -> tuple[ProcInfo, ...]:
    """The processes of the tree now; raises ``ProcUnavailable`` when the root cannot be read."""
    out: list[ProcInfo] = []
    for pid in tree_pids(root):
        info = read_process(pid)
        if info is None and pid == root:
            raise ProcUnavailable(f"cannot read /proc/{root}")
        if info is not None:
            out.append(info)
    return tuple(out)


class TreeSampler:
    """Samples the process tree under ``pid``; keeps the peak of the tree's summed RSS between samples."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_rss_kb = 0
        self._cmd: dict[tuple[int, int], str] = {}

    def sample(self) -> TreeSample:
        procs = read_tree(self.pid)
        self.peak_rss_kb = max(self.peak_rss_kb, sum(p.rss_kb for p in procs))
        return TreeSample(time.monotonic(), procs, self.peak_rss_kb)

    def reset_peak(self) -> None:
        self.peak_rss_kb = 0

    def command(self, p: ProcInfo) -> str:
        """The process's command line, shortened (read once per process)."""
        key = (p.pid, p.start)
        if key not in self._cmd:
            raw = _read_bytes(_PROC / str(p.pid) / "cmdline")
            self._cmd[key] = raw.replace(b"\0", b" ").decode(errors="replace").strip()[:200]
        return self._cmd[key]


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


def per_process(
    before: TreeSample, after: TreeSample, sampler: TreeSampler | None = None
) -> list[dict[str, Any]]:
    """One row per process of ``after``: its CPU share between the samples (a process born in between is
    counted from zero), its RSS and peak RSS. Reaped children's CPU is in the tree's total, not in a row."""
    elapsed = after.wall - before.wall
    then = {(p.pid, p.start): p.cpu_s for p in before.processes}
    rows: list[dict[str, Any]] = []
    for p in after.processes:
        used = p.cpu_s - then.get((p.pid, p.start), 0.0)
        row: dict[str, Any] = {
            "pid": p.pid,
            "ppid": p.ppid,
            "cpu_percent": round(100.0 * used / elapsed, 1) if elapsed > 0 else 0.0,
            "rss_mb": round(p.rss_kb / 1024, 1),
            "peak_rss_mb": round(p.peak_rss_kb / 1024, 1),
        }
        if sampler is not None:
            row["cmd"] = sampler.command(p)
        rows.append(row)
    return rows


def cpu_percent(before: _Timed, after: _Timed) -> float:
    elapsed = after.wall - before.wall
    return 0.0 if elapsed <= 0 else 100.0 * (after.cpu_s - before.cpu_s) / elapsed

"""Sampling profile of the server under load: ``py-spy record`` attached to the ``smsdesk serve`` child.

``Profiler(pid, path)`` starts py-spy (``--format raw``: one collapsed stack and its sample count per line,
``--gil``: only samples where a thread holds the GIL, i.e. where Python CPU goes; ``--subprocesses`` with
``smsdesk serve --workers N``, whose work is done in the supervisor's children) and ``stop()`` makes it
write the file. ``hottest(path)`` summarises a collapsed-stack file: the frames with the most samples on
top of the stack (self) and anywhere in the stack (inclusive). py-spy is optional: install it in the
virtualenv (``uv pip install py-spy``); without it ``--profile`` is refused with a clear message.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import sys
from collections import Counter
from pathlib import Path

__all__ = ["Profiler", "hottest"]


class Profiler:
    def __init__(self, pid: int, path: Path, *, rate: int = 200, subprocesses: bool = False) -> None:
        exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        if not Path(exe).exists():
            raise FileNotFoundError("py-spy is not installed: `uv pip install py-spy` to use --profile")
        self.command = [exe, "record", "--pid", str(pid), "--rate", str(rate), "--gil", "--nonblocking"]
        self.command += ["--format", "raw", "-o", str(path)]
        if subprocesses:
            self.command.append("--subprocesses")
        self.path = path
        self._proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._proc = await asyncio.create_subprocess_exec(
            *self.command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
        )

    async def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.returncode is not None:
            return
        proc.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(proc.wait(), 30)
        except TimeoutError:
            proc.kill()
            await proc.wait()


def hottest(lines: list[str], top: int = 15) -> tuple[int, list[tuple[float, str]], list[tuple[float, str]]]:
    """``(samples, self, inclusive)`` from collapsed stacks ``"f1;f2;f3 N"``; shares in percent."""
    own: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    for line in lines:
        stack, _, count = line.rstrip().rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        own[frames[-1]] += n
        for frame in set(frames):
            incl[frame] += n
    if not total:
        return 0, [], []

    def share(c: Counter[str]) -> list[tuple[float, str]]:
        return [(round(100 * n / total, 1), f) for f, n in c.most_common(top)]

    return total, share(own), share(incl)

"""``Periodic``: a background loop that runs one pass every ``every_s`` seconds in a task of its own.

Every background loop of a process has this shape (docs/architecture.md, "Background loops"): a pass, a
pause, again, until the process stops. A pass that fails is logged, one line when the store is unavailable (a
database restarting) and a traceback otherwise, and the loop goes on after the pause: a failing pass never
stops the loop. The pause is ``sleep``, a ``Clock``'s for the loops that tests drive with a ``FakeClock``.
A ``wakeable`` loop's pause also ends at ``wake()`` (a hint that there is work: a session to route, an SMS to
send), and a wake during a pass ends the next pause at once, so none is lost; the others sleep in their own
task, with no other task or future per pause (a ``FakeClock`` sleeper is armed the moment the pass ends).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from smsdesk.domain.errors import StoreUnavailable

__all__ = ["Periodic"]


class Periodic:
    """Runs ``action`` every ``every_s`` seconds (the pause between the end of a pass and the next one), from
    ``start()`` until ``close()``; ``first``: the first pass at once, else after a first pause. ``what`` names
    the pass in ``log``'s lines; ``on_error`` runs after a failed pass is logged. ``wakeable``: ``wake()``
    ends a pause."""

    def __init__(
        self,
        action: Callable[[], Awaitable[object]],
        every_s: float,
        *,
        name: str,
        log: logging.Logger,
        what: str,
        first: bool = True,
        wakeable: bool = False,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_error: Callable[[], None] | None = None,
    ) -> None:
        self.action = action
        self.every_s = every_s
        self.name = name
        self._log = log
        self._what = what
        self._first = first
        self._wakeable = wakeable
        self._sleep = sleep
        self._on_error = on_error
        self._woken = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None

    def wake(self) -> None:
        """Run the next pass now (at the end of the current one, if one is running)."""
        assert self._wakeable, f"{self.name} is not wakeable"
        self._woken.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=self.name)

    async def close(self) -> None:
        """Cancel the loop (a pass under way with it) and wait until it has ended."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run_once(self) -> None:
        """One pass, its failure logged."""
        try:
            await self.action()
        except StoreUnavailable as exc:  # the database is restarting: one line, not a traceback a pass
            self._log.warning("%s skipped: %s", self._what, exc.message)
            self._failed()
        except Exception:
            self._log.exception("%s failed", self._what)
            self._failed()

    def _failed(self) -> None:
        if self._on_error is not None:
            self._on_error()

    async def _run(self) -> None:
        if not self._first:
            await self._pause()
        while True:
            await self.run_once()
            await self._pause()

    async def _pause(self) -> None:
        if not self._wakeable:
            await self._sleep(self.every_s)
            return
        if not self._woken.is_set():
            sleeper = asyncio.ensure_future(self._sleep(self.every_s))
            waker = asyncio.ensure_future(self._woken.wait())
            try:
                await asyncio.wait((sleeper, waker), return_when=asyncio.FIRST_COMPLETED)
            finally:
                for future in (sleeper, waker):
                    future.cancel()
                await asyncio.gather(sleeper, waker, return_exceptions=True)
        self._woken.clear()

"""The SQLite writer: this process's write transactions in FIFO order, committed in groups, on the event loop.

Callers append a job and await a future. At the end of the loop turn (``call_soon``) the writer takes every job
queued (up to ``max_group``) and runs the writes among them in ONE transaction, each inside its own
``SAVEPOINT``: a body that raises rolls back to its savepoint, so its changes vanish and the others' stay,
exactly as if each had had its own transaction. One ``COMMIT`` ends the group, and only then are the callers'
futures resolved: a write is acknowledged once the COMMIT holding it returned. Under load this saves a
transaction's framing per write; a lone write is one transaction, as before.

If SQLite abandons the whole transaction (an I/O error, a full disk), the failing job gets its error and the
others of the group run again, each in a transaction of its own; if the COMMIT fails, nothing was written and
every job of the group gets that error.

Given a ``WriteLock`` (a file database), the writer holds it from before ``BEGIN IMMEDIATE`` to after the
``COMMIT`` or ``ROLLBACK`` of each transaction (a group's retries included) and releases it before answering
the callers: the writers of other processes wait for it in the kernel and start the moment it is released,
where SQLite's busy handler would have them sleep in growing steps (docs/architecture.md, "Engines").

Why on the loop and not on a thread of its own (which it was): the sqlite3 module releases the GIL around every
statement, and a writer thread then waits for the event loop's thread to hand the GIL back (up to the switch
interval, 5 ms) before each statement. Measured with N = 1000 agents: 0.35-1 ms of write lock held per write
whose statements take ~0.05 ms, so two worker processes saturated the lock between them; and in one process,
5.6-7.1 ms of CPU per session with the thread against 4.8-5.0 ms on the loop (docs/performance-history.md). The price:
the loop runs the statements itself (~0.05 ms per write). When another process holds the lock, the writer does
not block the loop: a thread waits for the lock (``_wait_for_lock``) while the loop serves on and queues more
writes, and the queue goes on, in order, once the lock is this process's.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from smsdesk.store.engines.sqlite import SqliteDb, WriteLock

__all__ = ["LoopWriter"]

_Outcome = tuple[bool, Any]  # (ok, result or exception)


@dataclass(slots=True)
class _Job:
    write: bool  # a write body ``fn(db, *args)``, groupable; else a plain call ``fn(*args)`` run alone
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    future: asyncio.Future[Any]


class _GroupLost(Exception):
    def __init__(self, index: int, error: BaseException) -> None:
        self.index = index
        self.error = error


class LoopWriter:
    """The writer of one process: the writes submitted during one turn of the loop are one group, run at the
    end of the turn (``call_soon``); ``call`` runs a plain function alone, in FIFO order with the writes. The
    module docstring says why on the loop."""

    def __init__(
        self,
        db: Callable[[], SqliteDb],
        *,
        group_commit: bool = True,
        max_group: int = 256,
        lock: WriteLock | None = None,
    ) -> None:
        self._db = db
        self._lock = lock
        self._group_commit = group_commit
        self._max_group = max_group
        self._jobs: deque[_Job] = deque()
        self._stopped = False
        self._scheduled = False
        self._waiting = False  # a thread waits for the cross-process lock; the queue waits with it
        self._held = False  # ... and got it: the next transaction runs under it
        self._waiter: asyncio.Task[None] | None = None

    def write(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> asyncio.Future[Any]:
        return self._submit(True, fn, args)

    def call(self, fn: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        return self._submit(False, fn, args)

    def _submit(self, write: bool, fn: Callable[..., Any], args: tuple[Any, ...]) -> asyncio.Future[Any]:
        if self._stopped:
            raise RuntimeError("the store is closed")
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._jobs.append(_Job(write, fn, args, future))
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._run)
        return future

    def _run(self) -> None:
        """At the end of a loop turn: every job queued, in order (the writes among them grouped)."""
        self._scheduled = False
        self._drain()

    def _drain(self) -> None:
        jobs = self._jobs
        while jobs and not self._waiting:
            group: list[_Job] = []
            while jobs and len(group) < self._max_group and jobs[0].write:
                group.append(jobs.popleft())
            if not group:
                job = jobs.popleft()
                _resolve([job], [_call(job.fn, job.args)])
                continue
            together = len(group) > 1 and self._group_commit
            units = [group] if together else [[job] for job in group]
            for i, unit in enumerate(units):
                if not self._take_lock():
                    for later in reversed([job for u in units[i:] for job in u]):
                        jobs.appendleft(later)  # they go first once the lock is ours
                    self._wait_for_lock()
                    return
                try:
                    outcomes = self._run_group(unit) if together else [self._alone(unit[0])]
                except Exception as exc:  # no connection to run it on, say: the callers hear it
                    outcomes = [(False, exc)] * len(unit)
                finally:
                    self._release_lock()
                _resolve(unit, outcomes)

    def _take_lock(self) -> bool:
        if self._lock is None:
            return True
        if self._held:  # taken for us by ``_wait_for_lock``
            self._held = False
            return True
        return self._lock.try_acquire()

    def _release_lock(self) -> None:
        if self._lock is not None:
            self._lock.release()

    def _wait_for_lock(self) -> None:
        """Another process holds the lock: wait for it on a thread, so the loop keeps serving (reads,
        websockets, queuing more writes), then go on with the queue holding it."""
        lock = self._lock
        assert lock is not None
        self._waiting = True

        async def wait() -> None:
            try:
                await asyncio.to_thread(lock.acquire)
            finally:
                self._waiting = False
            self._held = True
            self._drain()
            if self._held:  # nothing to write after all: give it back
                self._held = False
                lock.release()

        self._waiter = asyncio.get_running_loop().create_task(wait(), name="smsdesk-db-write-lock")

    async def stop(self) -> None:
        await self.call(lambda: None)
        self._stopped = True

    # ---- transactions ----

    def _run_group(self, group: list[_Job]) -> list[_Outcome]:
        db = self._db()
        raw = db.raw
        outcomes: list[_Outcome] = []
        try:
            raw.execute("BEGIN IMMEDIATE")
            for i, job in enumerate(group):
                raw.execute("SAVEPOINT job")
                try:
                    value = job.fn(db, *job.args)
                except Exception as exc:
                    if not raw.in_transaction:
                        raise _GroupLost(i, exc) from exc
                    raw.execute("ROLLBACK TO job")
                    raw.execute("RELEASE job")
                    outcomes.append((False, exc))
                else:
                    raw.execute("RELEASE job")
                    outcomes.append((True, value))
            raw.execute("COMMIT")
            return outcomes
        except _GroupLost as lost:
            before = [self._alone(j) for j in group[: lost.index]]
            after = [self._alone(j) for j in group[lost.index + 1 :]]
            return [*before, (False, lost.error), *after]
        except Exception as exc:  # BEGIN, a savepoint or the COMMIT failed: nothing of the group was written
            if raw.in_transaction:
                raw.execute("ROLLBACK")
            return [(False, exc)] * len(group)

    def _alone(self, job: _Job) -> _Outcome:
        db = self._db()
        raw = db.raw
        try:
            raw.execute("BEGIN IMMEDIATE")
            try:
                value = job.fn(db, *job.args)
                raw.execute("COMMIT")
            finally:
                if raw.in_transaction:  # the body or the COMMIT failed
                    raw.execute("ROLLBACK")
        except Exception as exc:
            return (False, exc)
        return (True, value)


def _call(fn: Callable[..., Any], args: tuple[Any, ...]) -> _Outcome:
    try:
        return (True, fn(*args))
    except Exception as exc:
        return (False, exc)


def _resolve(jobs: list[_Job], outcomes: list[_Outcome]) -> None:
    for job, (ok, value) in zip(jobs, outcomes, strict=True):
        future = job.future
        if future.done():  # cancelled while it waited
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)

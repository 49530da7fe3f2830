"""Writers of several processes on one SQLite file: they take turns on the write lock, none fails, none is lost.

The lock is an ``flock`` on ``<file>-writelock``: it belongs to an open file, so a test holding it on a
descriptor of its own, or a second store in this process, stands for another process.
"""

from __future__ import annotations

import asyncio
import fcntl
import multiprocessing
import os
import sqlite3
import stat
import threading
import time
from collections.abc import AsyncIterator
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from smsdesk.domain.events import Notification
from smsdesk.store.base import Change
from smsdesk.store.commit import insert_events
from smsdesk.store.engines import sqlite
from smsdesk.store.runners import SqliteRunner
from smsdesk.store.sql import SqlStore
from smsdesk.store.statements import Db, Query

_INSERT = Query(text("INSERT INTO events (user_id, channel, data, created_ms) VALUES ('x', '/c', '{}', 0)"))
_SPAWN = multiprocessing.get_context("spawn")  # a fresh interpreter, like `serve --workers N`


def _store(url: str, *, write_lock: bool = True) -> SqlStore:
    return SqlStore(SqliteRunner(sqlite.create_engine(url), write_lock=write_lock), insert_events)


def _change(who: str, i: int) -> Change:
    return Change(notifications=[Notification(who, "/c", {"i": i})])


def _boom(db: Db) -> None:
    db.run(_INSERT)
    raise ValueError("boom")


def _held_elsewhere(lock_path: Path) -> bool:
    """Whether another open file holds the write lock (the probe takes it and gives it back at once)."""
    fd = os.open(lock_path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # drops the probe's lock, if it got it
    return False


def _file_mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Path]:
    path = tmp_path / "p.db"
    store = _store(f"sqlite:///{path}")
    await store.create_all()
    await store.close()
    yield path


# ---- in this process: the lock itself ----


def test_the_lock_file_sits_next_to_the_database_and_only_for_a_file() -> None:
    lock = sqlite.write_lock("sqlite:////var/lib/smsdesk/s.db")
    assert lock is not None and lock.path == "/var/lib/smsdesk/s.db-writelock"
    assert sqlite.write_lock("sqlite+aiosqlite:///rel.db") is not None
    assert sqlite.write_lock("sqlite://") is None
    assert sqlite.write_lock("sqlite:///:memory:") is None
    assert sqlite.write_lock("sqlite:///file:s.db?mode=ro&uri=true") is None


async def test_a_write_holds_the_lock_until_its_commit_and_the_file_is_private(db: Path) -> None:
    store = _store(f"sqlite:///{db}")
    lock_path = Path(f"{db}-writelock")
    try:
        during = await store.runner.write(lambda _db: _held_elsewhere(lock_path))
        assert during is True
        assert _held_elsewhere(lock_path) is False
        assert _file_mode(lock_path) == 0o600
    finally:
        await store.close()


async def test_a_failing_write_releases_the_lock(db: Path) -> None:
    store = _store(f"sqlite:///{db}")
    lock_path = Path(f"{db}-writelock")
    try:
        with pytest.raises(ValueError):
            await store.runner.write(_boom)  # alone
        assert _held_elsewhere(lock_path) is False
        results = await asyncio.gather(*(store.runner.write(_boom) for _ in range(5)), return_exceptions=True)
        assert all(isinstance(r, ValueError) for r in results)  # in a group, or alone
        assert _held_elsewhere(lock_path) is False
        assert await store.commit(_change("u", 1)) == 1  # nothing of the failed writes stayed
    finally:
        await store.close()


async def test_a_writer_waits_for_the_lock_and_goes_once_it_is_released(db: Path) -> None:
    """While another process holds the lock (a thread here, releasing it 0.3 s later), the writes wait for it
    and the event loop keeps running; they go once it is released, in order."""
    store = _store(f"sqlite:///{db}")
    fd = os.open(f"{db}-writelock", os.O_RDWR | os.O_CREAT, 0o600)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    running = asyncio.ensure_future(ticker())
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # another process is writing
        threading.Timer(0.3, fcntl.flock, (fd, fcntl.LOCK_UN)).start()
        started = time.monotonic()
        writes = [asyncio.ensure_future(store.commit(_change("u", i))) for i in range(3)]
        await asyncio.sleep(0)
        later = asyncio.ensure_future(store.commit(_change("u", 3)))  # queued while the first wait
        assert await asyncio.wait_for(asyncio.gather(*writes, later), 5) == [1, 2, 3, 4]
        assert time.monotonic() - started >= 0.25
        assert ticks >= 10  # the loop ran on while the writes waited
        await asyncio.wait_for(store.run_write(lambda conn: conn.execute(text("SELECT 1"))), 5)
        assert _held_elsewhere(Path(f"{db}-writelock")) is False
    finally:
        running.cancel()
        os.close(fd)
        await store.close()


async def test_a_writer_without_the_lock_still_gets_through_sqlites_busy_timeout(db: Path) -> None:
    """A writer that doesn't take the lock (another tool, an older version) waits in SQLite as before: here
    a plain sqlite3 connection on a thread holds the database's write lock for 0.3 s."""
    unlocked = _store(f"sqlite:///{db}", write_lock=False)
    holding = threading.Event()

    def hold() -> None:
        conn = sqlite3.connect(db, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            holding.set()
            time.sleep(0.3)
            conn.execute("COMMIT")
        finally:
            conn.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert await asyncio.to_thread(holding.wait, 5)
        started = time.monotonic()
        assert await asyncio.wait_for(unlocked.commit(_change("u", 1)), 5) == 1
        assert time.monotonic() - started >= 0.2  # it waited in SQLite's busy handler, then went
    finally:
        await asyncio.to_thread(holder.join, 5)
        await unlocked.close()


def test_a_lock_file_that_cannot_be_made_turns_the_lock_off(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lock = sqlite.WriteLock(str(tmp_path / "missing" / "p.db-writelock"))
    lock.acquire()  # SQLite's own locking still keeps the writes correct: go on without it
    lock.release()
    lock.acquire()
    assert [r.levelname for r in caplog.records] == ["WARNING"]  # said once


# ---- across processes ----


def _write_many(url: str, write_lock: bool, tasks: int, each: int, go: Event, out: Queue[Any]) -> None:
    asyncio.run(_write_many_async(url, write_lock, tasks, each, go, out))


async def _write_many_async(
    url: str, write_lock: bool, tasks: int, each: int, go: Event, out: Queue[Any]
) -> None:
    store = _store(url, write_lock=write_lock)
    who = f"p{os.getpid()}"

    async def loop(t: int) -> list[Any]:
        done: list[Any] = []
        for i in range(each):
            try:
                done.append(await store.commit(_change(who, t * each + i)))
            except Exception as exc:
                done.append(repr(exc))
        return done

    try:
        await store.commit(_change(who, -1))  # connections open, statements cached
        go.wait(30)
        results = await asyncio.gather(*(loop(t) for t in range(tasks)))
        out.put([r for rs in results for r in rs])
    finally:
        await store.close()


@pytest.mark.parametrize("second_takes_the_lock", [True, False], ids=["both-locked", "one-without-the-lock"])
def test_two_processes_writing_at_once_neither_fails_nor_loses_a_write(
    db: Path, second_takes_the_lock: bool
) -> None:
    import sqlite3

    url, tasks, each = f"sqlite:///{db}", 8, 60
    go, out = _SPAWN.Event(), _SPAWN.Queue()
    procs = [
        _SPAWN.Process(target=_write_many, args=(url, lock, tasks, each, go, out))
        for lock in (True, second_takes_the_lock)
    ]
    for p in procs:
        p.start()
    try:
        go.set()
        results = [out.get(timeout=60) for _ in procs]
    finally:
        for p in procs:
            p.join(30)
            if p.is_alive():
                p.kill()
    acknowledged = [r for rs in results for r in rs]
    assert [r for r in acknowledged if not isinstance(r, int)] == []  # no "database is locked"
    assert len(acknowledged) == 2 * tasks * each
    assert len(set(acknowledged)) == len(acknowledged)  # every write got an event id of its own
    with sqlite3.connect(db) as check:
        (rows,) = check.execute("SELECT count(*) FROM events").fetchone()
    assert rows == len(acknowledged) + 2  # and is there, with each process's warm-up write


def _fail_then_wait(url: str, failed: Event, finish: Event) -> None:
    async def run() -> None:
        store = _store(url)
        try:
            try:
                await store.runner.write(_boom)
            except ValueError:
                pass
            await asyncio.gather(*(store.runner.write(_boom) for _ in range(4)), return_exceptions=True)
            failed.set()
            finish.wait(60)  # the process lives on, its store open
        finally:
            await store.close()

    asyncio.run(run())


async def test_a_failing_write_in_one_process_does_not_block_the_other(db: Path) -> None:
    failed, finish = _SPAWN.Event(), _SPAWN.Event()
    proc = _SPAWN.Process(target=_fail_then_wait, args=(f"sqlite:///{db}", failed, finish))
    proc.start()
    store = _store(f"sqlite:///{db}")
    try:
        while not await asyncio.to_thread(failed.wait, 0.1):
            assert proc.is_alive(), "the failing process ended early"
        assert await asyncio.wait_for(store.commit(_change("u", 1)), 5) == 1
    finally:
        finish.set()  # were the lock leaked, it goes with the process and the write above completes
        await asyncio.to_thread(proc.join, 30)
        await store.close()
    assert proc.exitcode == 0

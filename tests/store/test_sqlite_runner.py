"""SQLite specifics of the runner: the in-memory database's one shared connection, reads on the event loop."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

import pytest

from smsdesk.domain.events import Notification
from smsdesk.store.base import Change
from smsdesk.store.engines import sqlite
from smsdesk.store.sql import create_store


async def test_in_memory_store_interleaves_reads_and_writes() -> None:
    store = create_store("sqlite://")
    try:
        await store.create_all()
        writes = [
            store.commit(Change(notifications=[Notification(f"u{i}", "/c", {"i": i})])) for i in range(30)
        ]
        reads = [store.read_all_events(0, 100) for _ in range(30)]
        results = await asyncio.gather(*writes, *reads)
        assert sorted(results[:30]) == list(range(1, 31))  # type: ignore[type-var]
        assert len(await store.read_all_events(0, 100)) == 30
    finally:
        await store.close()


async def test_file_store_reads_on_the_loop_thread_and_sees_every_acknowledged_write(tmp_path: Path) -> None:
    store = create_store(f"sqlite:///{tmp_path / 's.db'}")
    try:
        await store.create_all()
        seen: list[str] = []

        async def write_then_read(i: int) -> int:
            last = await store.commit(Change(notifications=[Notification("u", "/c", {"i": i})]))
            got = await store.read_events(["u"], last - 1, 10)
            return got[0].id if got else -1

        def txn(db: object) -> None:
            seen.append(threading.current_thread().name)

        ids = await asyncio.gather(*(write_then_read(i) for i in range(20)))
        await store.runner.read(txn)
        assert sorted(ids) == list(range(1, 21))
        assert seen == [threading.current_thread().name]
    finally:
        await store.close()


async def test_a_read_of_several_statements_sees_one_snapshot(tmp_path: Path) -> None:
    import sqlite3

    from sqlalchemy import text

    from smsdesk.store.statements import Db, Query

    store = create_store(f"sqlite:///{tmp_path / 's.db'}")
    other = sqlite3.connect(tmp_path / "s.db", isolation_level=None)
    count = Query(text("SELECT count(*) FROM opt_outs"))
    try:
        await store.create_all()

        def twice(db: Db) -> tuple[int, int]:
            first = db.all(count)[0][0]
            other.execute("INSERT INTO opt_outs VALUES (?, 1, 0)", (f"+{first}",))  # another process commits
            return first, db.all(count)[0][0]

        assert await store.runner.read(twice) == (0, 0)  # a transaction: one snapshot
        assert await store.runner.read_one(twice) == (1, 2)  # autocommit: each statement its own snapshot
        assert await store.is_opted_out("+1") is True
    finally:
        other.close()
        await store.close()


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="lists open files through /proc")
def test_savepoints_of_a_group_keep_their_journal_in_memory(tmp_path: Path) -> None:
    """The writer runs each write of a group in a savepoint: SQLite keeps the pages a savepoint changes in a
    sub-journal, a temporary file once it passes 64 KiB unless ``temp_store`` is MEMORY (every page written
    there first was a system call more per page; docs/performance-history.md, "Seventh round")."""
    engine = sqlite.create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    raw = engine.raw_connection().driver_connection
    assert raw is not None
    raw.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)")
    raw.executemany("INSERT INTO t VALUES (?, ?)", [(i, "x" * 500) for i in range(2000)])
    before = _open_files()
    raw.execute("BEGIN IMMEDIATE")
    for n in range(20):
        raw.execute(f"SAVEPOINT s{n}")
        raw.execute("UPDATE t SET v = ? WHERE k % 20 = ?", ("y" * 500, n))  # ~1 MB of pages per savepoint
        raw.execute(f"RELEASE s{n}")
    opened = _open_files() - before
    raw.execute("COMMIT")
    assert [p for p in opened if not p.endswith(("-wal", "-shm"))] == []


def _open_files() -> set[str]:
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            found.add(os.readlink(f"/proc/self/fd/{fd}"))
        except FileNotFoundError:  # the directory listing's own descriptor, closed since
            pass
    return found

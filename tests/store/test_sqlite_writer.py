"""The SQLite writer thread's group commit: writes queued together share one COMMIT, each in its savepoint."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from smsdesk.store.engines import sqlite
from smsdesk.store.engines.sqlite import SqliteDb
from smsdesk.store.runners import SqliteRunner
from smsdesk.store.statements import Db, Query
from smsdesk.store.writer import LoopWriter

_INSERT = Query(text("INSERT INTO t (k) VALUES (:k)"))
_ALL = Query(text("SELECT k FROM t ORDER BY k"))


@pytest.fixture
async def runner(tmp_path: Path) -> AsyncIterator[SqliteRunner]:
    r = SqliteRunner(sqlite.create_engine(f"sqlite:///{tmp_path / 'w.db'}"))
    await r.run_sa(lambda conn: conn.execute(text("CREATE TABLE t (k INTEGER PRIMARY KEY)")))
    yield r
    await r.close()


async def _queued_together(runner: SqliteRunner, bodies: list[Callable[[Db], Any]]) -> list[Any]:
    """Run ``bodies`` as writes queued while the writer thread is busy, so that they form one group."""
    release = threading.Event()
    busy = asyncio.ensure_future(runner.run_sa(lambda _conn: release.wait(10)))
    await asyncio.sleep(0.05)
    writes = [asyncio.ensure_future(runner.write(b)) for b in bodies]
    await asyncio.sleep(0.05)
    release.set()
    await busy
    return await asyncio.gather(*writes, return_exceptions=True)


def _insert(*keys: int) -> Callable[[Db], int]:
    def body(db: Db) -> int:
        for k in keys:
            db.run(_INSERT, {"k": k})
        return keys[0]

    return body


async def _keys(runner: SqliteRunner) -> list[int]:
    return [r[0] for r in await runner.read(lambda db: db.all(_ALL))]


async def test_a_failing_write_in_a_group_undoes_only_its_own_changes(runner: SqliteRunner) -> None:
    def boom(db: Db) -> None:
        db.run(_INSERT, {"k": 50})
        raise ValueError("boom")

    results = await _queued_together(runner, [_insert(1, 2), boom, _insert(3), _insert(3, 60), _insert(4)])
    assert results[0] == 1 and results[2] == 3 and results[4] == 4
    assert isinstance(results[1], ValueError)
    assert isinstance(results[3], IntegrityError)  # 3 was taken by the write before it in the group
    assert await _keys(runner) == [1, 2, 3, 4]


async def test_a_group_whose_transaction_sqlite_abandoned_runs_again_alone(runner: SqliteRunner) -> None:
    def abandon(db: Db) -> None:
        db.run(_INSERT, {"k": 50})
        db.run(Query(text("ROLLBACK")))  # what SQLite does itself on an I/O error or a full disk
        raise OSError("disk full")

    results = await _queued_together(runner, [_insert(1), _insert(2), abandon, _insert(3)])
    assert results[:2] == [1, 2] and results[3] == 3
    assert isinstance(results[2], OSError)
    assert await _keys(runner) == [1, 2, 3]


async def test_each_write_alone_without_group_commit(tmp_path: Path) -> None:
    r = SqliteRunner(sqlite.create_engine(f"sqlite:///{tmp_path / 'w.db'}"), group_commit=False)
    try:
        await r.run_sa(lambda conn: conn.execute(text("CREATE TABLE t (k INTEGER PRIMARY KEY)")))
        results = await _queued_together(r, [_insert(1), _insert(1), _insert(2)])
        assert results[0] == 1 and isinstance(results[1], IntegrityError) and results[2] == 2
        assert await _keys(r) == [1, 2]
    finally:
        await r.close()


async def test_an_acknowledged_write_is_committed(runner: SqliteRunner, tmp_path: Path) -> None:
    """When ``write`` returns, another connection (another process) already sees the change."""
    import sqlite3

    other = sqlite3.connect(tmp_path / "w.db")
    try:
        for k in range(1, 21):
            await runner.write(_insert(k))
            assert other.execute("SELECT max(k) FROM t").fetchone() == (k,)
    finally:
        other.close()


async def test_a_closed_runner_refuses_work(tmp_path: Path) -> None:
    r = SqliteRunner(sqlite.create_engine(f"sqlite:///{tmp_path / 'w.db'}"))
    await r.run_sa(lambda conn: conn.execute(text("CREATE TABLE t (k INTEGER PRIMARY KEY)")))
    await r.close()
    with pytest.raises(RuntimeError):
        await r.write(_insert(1))


async def test_writes_queued_together_share_one_commit(runner: SqliteRunner, tmp_path: Path) -> None:
    import sqlite3

    other = sqlite3.connect(tmp_path / "w.db", isolation_level=None, check_same_thread=False)
    seen: list[list[int]] = []

    def look(db: Db) -> None:
        seen.append([r[0] for r in other.execute("SELECT k FROM t ORDER BY k")])

    try:
        await _queued_together(runner, [_insert(1), look, _insert(2)])
        assert seen == [[]]  # the first write was not committed yet: the group commits once, at its end
        assert await _keys(runner) == [1, 2]
        seen.clear()
        await runner.write(_insert(3))
        await runner.write(look)  # alone: its own transaction
        assert seen == [[1, 2, 3]]
    finally:
        other.close()


async def test_a_write_whose_connection_cannot_be_had_fails_its_caller() -> None:
    def no_connection() -> SqliteDb:
        raise OSError("no connection")

    writer = LoopWriter(no_connection)
    for n in (1, 2):  # alone, then a group
        writes = [writer.write(lambda db: None, ()) for _ in range(n)]
        results = await asyncio.wait_for(asyncio.gather(*writes, return_exceptions=True), 5)
        assert [str(r) for r in results] == ["no connection"] * n
    await writer.stop()

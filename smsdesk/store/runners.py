"""How a transaction body (a sync function of a ``Connection``) gets run, per engine.

- PostgreSQL (asyncpg): ``AsyncRunner`` runs the body through SQLAlchemy's asyncio layer (``run_sync``).
- SQLite: ``ThreadRunner`` runs the WHOLE body on a worker thread with the standard ``sqlite3`` driver: one
  thread hop per transaction, where aiosqlite makes one per statement (a session operation is ~100
  statements; docs/performance.md). One writer thread serialises this process's writers in FIFO order, so
  they never sleep in SQLite's busy handler; other processes still meet ``busy_timeout``. Readers run on a
  small pool and, with WAL, read while the writer writes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["AsyncRunner", "Runner", "ThreadRunner"]

T = TypeVar("T")


class Runner(Protocol):
    @property
    def dialect_name(self) -> str: ...

    async def read(self, fn: Callable[..., T], *args: Any) -> T: ...

    async def write(self, fn: Callable[..., T], *args: Any) -> T: ...

    async def close(self) -> None: ...


class AsyncRunner:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @property
    def dialect_name(self) -> str:
        return self.engine.dialect.name

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        async with self.engine.connect() as conn:
            result = await conn.run_sync(fn, *args)
            await conn.rollback()
            return result

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        async with self.engine.connect() as conn:
            conn = await conn.execution_options(smsdesk_write=True)
            async with conn.begin():
                return await conn.run_sync(fn, *args)

    async def close(self) -> None:
        await self.engine.dispose()


class ThreadRunner:
    def __init__(self, engine: Engine, *, readers: int = 2) -> None:
        self.engine = engine
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="smsdesk-db-write")
        self._readers = ThreadPoolExecutor(readers, thread_name_prefix="smsdesk-db-read")

    @property
    def dialect_name(self) -> str:
        return self.engine.dialect.name

    def _read_sync(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        with self.engine.connect() as conn:
            try:
                return fn(conn, *args)
            finally:
                conn.rollback()

    def _write_sync(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        with self.engine.connect() as conn:
            conn = conn.execution_options(smsdesk_write=True)
            with conn.begin():
                return fn(conn, *args)

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._readers, self._read_sync, fn, args)

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._writer, self._write_sync, fn, args)

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._writer, self.engine.dispose)
        self._writer.shutdown(wait=True)
        self._readers.shutdown(wait=True)

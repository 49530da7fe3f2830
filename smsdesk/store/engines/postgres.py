"""PostgreSQL specifics (asyncpg).

Event ids come from a sequence and are handed out at insert time, so two transactions could commit out of id
order and a reader that has passed id N would miss the slower one. Transactions that write notifications take
one transaction-level advisory lock first, which makes event ids commit in order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import BigInteger, bindparam, func, select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from smsdesk.store.statements import Db, Query, load_json

__all__ = ["PostgresDb", "create_engine", "lock_for_events", "normalise_url"]

_EVENTS_LOCK = 0x5D5DE5C  # arbitrary constant naming "smsdesk events"
_LOCK = Query(select(func.pg_advisory_xact_lock(bindparam("k", type_=BigInteger))))


def normalise_url(url: str) -> str:
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError(f"not a PostgreSQL URL: {url}")


def create_engine(url: str) -> AsyncEngine:
    return create_async_engine(
        normalise_url(url),
        pool_size=10,
        max_overflow=20,
        pool_pre_ping=True,
        json_deserializer=load_json,  # asyncpg decodes JSON columns with it (PostgresDb reads them decoded)
    )


class PostgresDb:
    """A transaction body's statements on SQLAlchemy's asyncpg DBAPI adapter (inside ``run_sync``).

    asyncpg prepares each SQL text once per connection and keeps it, so a statement costs one round trip.
    """

    __slots__ = ("dialect", "raw")

    def __init__(self, raw: Any, dialect: Dialect) -> None:
        self.raw = raw  # AsyncAdapt_asyncpg_connection
        self.dialect = dialect

    def _execute(self, q: Query, params: Mapping[str, Any] | None) -> Any:
        sql, args = q.bind(self.dialect, params)
        cur = self.raw.cursor()
        try:
            cur.execute(sql, args)
        except self.dialect.loaded_dbapi.IntegrityError as exc:
            raise IntegrityError(sql, args, exc) from exc
        return cur

    def all(self, q: Query, params: Mapping[str, Any] | None = None) -> list[Any]:
        return self._execute(q, params).fetchall()  # type: ignore[no-any-return]

    def first(self, q: Query, params: Mapping[str, Any] | None = None) -> Any:
        return self._execute(q, params).fetchone()

    def run(self, q: Query, params: Mapping[str, Any] | None = None) -> int:
        return int(self._execute(q, params).rowcount)

    def run_many(self, q: Query, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        sql, args = q.bind_many(self.dialect, rows)
        try:
            self.raw.cursor().executemany(sql, args)
        except self.dialect.loaded_dbapi.IntegrityError as exc:
            raise IntegrityError(sql, None, exc) from exc

    def load_json(self, value: Any) -> Any:
        return value  # the driver already decoded it (json_deserializer above)


def lock_for_events(db: Db) -> None:
    db.run(_LOCK, {"k": _EVENTS_LOCK})

"""``Query``: the bound SQL and argument tuples, for one row and for ``executemany``."""

from __future__ import annotations

from sqlalchemy import bindparam, column, insert, table
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect

from smsdesk.store.statements import Query

_T = table("t", column("a"), column("b"), column("status"))
_INSERT = Query(insert(_T).values(a=bindparam("a"), b=bindparam("b"), status="pending"))


def test_bind_many_gives_what_bind_gives_row_by_row() -> None:
    rows = [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]
    for dialect in (sqlite.dialect(), asyncpg_dialect()):  # the two the store runs on
        sql, args = _INSERT.bind_many(dialect, rows)
        assert [(sql, a) for a in args] == [_INSERT.bind(dialect, r) for r in rows]
        assert "pending" in args[0]  # the statement's own literal, bound like the rows' values


def test_bind_many_lets_a_row_override_a_default() -> None:
    _, args = _INSERT.bind_many(sqlite.dialect(), [{"a": 1, "b": "x", "status": "sent"}])
    assert args == [_INSERT.bind(sqlite.dialect(), {"a": 1, "b": "x", "status": "sent"})[1]]
    assert "sent" in args[0] and "pending" not in args[0]

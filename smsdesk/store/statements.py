"""Statements built once and compiled once per dialect, and the small executor transaction bodies use.

A store method's statement is SQLAlchemy Core built at import time with named ``bindparam``s. The first time
it runs on a dialect it is compiled to that dialect's SQL text and parameter order; after that, running it is
one DBAPI ``execute`` with a tuple: no statement building, no cache-key generation, no SQLAlchemy execution
context or result objects. That SQLAlchemy machinery was most of the store's CPU (docs/architecture.md).

A transaction body receives a ``Db`` (one per engine, in ``engines/``) and gets plain row tuples back, in the
order of the statement's columns. JSON columns are written with ``dump_json`` and read with ``Db.load_json``
(SQLite returns the text, asyncpg decodes it itself).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import orjson
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement

__all__ = ["Db", "Query", "QueryFamily", "dump_json", "load_json"]

_OPTS = orjson.OPT_NON_STR_KEYS


def dump_json(value: Any) -> str:
    """The text stored in a JSON column (compact UTF-8; rows written by the stdlib encoder read back alike)."""
    try:
        return orjson.dumps(value, option=_OPTS).decode()
    except TypeError:  # what orjson refuses (integers beyond 64 bits, NaN keys...) the stdlib may accept
        return json.dumps(value)


def load_json(value: str | bytes) -> Any:
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:  # NaN / Infinity, which the stdlib encoder writes and orjson refuses
        return json.loads(value)


class Query:
    """One statement, compiled lazily per dialect to ``(sql, parameter names in order, default values)``."""

    __slots__ = ("_compiled", "stmt")

    def __init__(self, stmt: ClauseElement) -> None:
        self.stmt = stmt
        self._compiled: dict[str, tuple[str, tuple[str, ...], dict[str, Any]]] = {}

    def compiled(self, dialect: Dialect) -> tuple[str, tuple[str, ...], dict[str, Any]]:
        found = self._compiled.get(dialect.name)
        if found is None:
            c = self.stmt.compile(dialect=dialect)
            assert isinstance(c, SQLCompiler)
            names = tuple(c.positiontup or ())
            # values the statement carries itself (literals such as ``status == "pending"``)
            defaults = {n: c.binds[n].effective_value for n in names if not c.binds[n].required}
            found = self._compiled[dialect.name] = (c.string, names, defaults)
        return found

    def bind(self, dialect: Dialect, params: Mapping[str, Any] | None) -> tuple[str, tuple[Any, ...]]:
        """The SQL text and the positional arguments for ``params`` (named as the statement's bindparams)."""
        sql, names, defaults = self.compiled(dialect)
        if not names:
            return sql, ()
        if defaults:
            params = {**defaults, **params} if params else defaults
        assert params is not None, sql
        return sql, tuple([params[n] for n in names])

    def bind_many(
        self, dialect: Dialect, rows: Sequence[Mapping[str, Any]]
    ) -> tuple[str, list[tuple[Any, ...]]]:
        """The SQL text and one argument tuple per row, for ``executemany``."""
        sql, names, defaults = self.compiled(dialect)
        if defaults:
            rows = [{**defaults, **r} for r in rows]
        return sql, [tuple([r[n] for n in names]) for r in rows]


class QueryFamily:
    """Statements that differ only by a count (``IN`` lists of n values): one ``Query`` per count, kept."""

    __slots__ = ("_build", "_by_size")

    _MAX_SIZES = 256

    def __init__(self, build: Callable[[int], ClauseElement]) -> None:
        self._build = build
        self._by_size: dict[int, Query] = {}

    def sized(self, n: int) -> Query:
        q = self._by_size.get(n)
        if q is None:
            if len(self._by_size) >= self._MAX_SIZES:
                self._by_size.clear()
            q = self._by_size[n] = Query(self._build(n))
        return q


class Db(Protocol):
    """The connection a transaction body runs its statements on (``engines/sqlite.py``, ``engines/postgres.py``).

    ``run``/``run_many`` raise ``sqlalchemy.exc.IntegrityError`` on a constraint violation, as SQLAlchemy does.
    """

    def all(self, q: Query, params: Mapping[str, Any] | None = None) -> Sequence[Sequence[Any]]: ...

    def first(self, q: Query, params: Mapping[str, Any] | None = None) -> Sequence[Any] | None: ...

    def run(self, q: Query, params: Mapping[str, Any] | None = None) -> int:
        """Execute a write; return the number of rows it matched."""
        ...

    def run_many(self, q: Query, rows: Sequence[Mapping[str, Any]]) -> None: ...

    def load_json(self, value: Any) -> Any:
        """A JSON column's value as read from this driver, decoded."""
        ...

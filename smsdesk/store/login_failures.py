"""Failed logins counted in the store, so that every worker process and every node sees the same counts
(docs/security.md). A key (``user:<name>`` or ``addr:<address>``) counts the failures of one window: the first
failure opens it, and a failure after it ended opens a new one. Rows of ended windows are pruned as failures
are recorded."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from smsdesk.store import tables as t
from smsdesk.store.sql import SqlStore
from smsdesk.store.statements import Db, Query

__all__ = ["LoginFailures"]

_T = t.login_failures


def _p(name: str) -> Any:
    return bindparam(name)


_GET = Query(select(_T.c.key, _T.c.window_start_ms, _T.c.failures).where(_T.c.key.in_([_p("k1"), _p("k2")])))
_INSERT = Query(insert(_T).values(key=_p("key"), window_start_ms=_p("start"), failures=1))
_BUMP = Query(update(_T).where(_T.c.key == _p("key")).values(failures=_T.c.failures + 1))
_RESET = Query(update(_T).where(_T.c.key == _p("key")).values(window_start_ms=_p("start"), failures=1))
_DELETE = Query(delete(_T).where(_T.c.key == _p("key")))
_PRUNE = Query(delete(_T).where(_T.c.window_start_ms < _p("before")))


class LoginFailures:
    def __init__(self, store: SqlStore) -> None:
        self._runner = store.runner

    async def current(self, keys: Sequence[str], now_ms: int, window_ms: int) -> dict[str, tuple[int, int]]:
        """Key -> (failures, ms until its window ends) for the keys whose window is still open."""
        k1, k2 = [*keys, keys[0]][:2]

        def txn(db: Db) -> dict[str, tuple[int, int]]:
            rows = db.all(_GET, {"k1": k1, "k2": k2})
            return {r[0]: (r[2], r[1] + window_ms - now_ms) for r in rows if r[1] + window_ms > now_ms}

        return await self._runner.read_one(txn)

    async def record(self, keys: Sequence[str], now_ms: int, window_ms: int) -> None:
        """One more failure for each key."""
        k1, k2 = [*keys, keys[0]][:2]

        def txn(db: Db) -> None:
            found = {r[0]: r[1] for r in db.all(_GET, {"k1": k1, "k2": k2})}
            for key in dict.fromkeys(keys):
                start = found.get(key)
                if start is None:
                    db.run(_INSERT, {"key": key, "start": now_ms})
                elif start + window_ms > now_ms:
                    db.run(_BUMP, {"key": key})
                else:
                    db.run(_RESET, {"key": key, "start": now_ms})
            db.run(_PRUNE, {"before": now_ms - window_ms})

        try:
            await self._runner.write(txn)
        except IntegrityError:  # another process inserted the same key at the same moment: count again
            await self._runner.write(txn)

    async def clear(self, key: str) -> None:
        def txn(db: Db) -> None:
            db.run(_DELETE, {"key": key})

        await self._runner.write(txn)

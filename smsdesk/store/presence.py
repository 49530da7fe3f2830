"""The store's presence rows (docs/routing.md, "Presence"): each serving process reports the users who have a
notification client on it; the router reads, per user, the last time any process saw one.

A mixin of ``SqlStore``: the statements are the same SQL on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any, TypeVar

from sqlalchemy import bindparam, delete, func, select, text

from smsdesk.store import tables as t
from smsdesk.store.statements import Db, Query

__all__ = ["PresenceRows"]

T = TypeVar("T")
_P = t.presence

_BEAT = Query(
    text(
        "INSERT INTO presence (node_id, user_id, last_seen_ms) VALUES (:node_id, :user_id, :last_seen_ms)"
        " ON CONFLICT (node_id, user_id) DO UPDATE SET last_seen_ms = excluded.last_seen_ms"
    )
)
_LAST_SEEN = Query(select(_P.c.user_id, func.max(_P.c.last_seen_ms)).group_by(_P.c.user_id))
_PRUNE = Query(delete(_P).where(_P.c.last_seen_ms < bindparam("before")))


class PresenceRows:
    """``SqlStore``'s presence methods (it provides ``_write`` and ``_read_one``)."""

    _write: Callable[..., Any]
    _read_one: Callable[..., Any]

    async def beat_presence(self, node_id: str, user_ids: Collection[str], now_ms: int) -> None:
        """``user_ids`` have a notification client on ``node_id`` at ``now_ms``."""
        if not user_ids:
            return
        rows = [{"node_id": node_id, "user_id": u, "last_seen_ms": now_ms} for u in sorted(user_ids)]

        def txn(db: Db) -> None:
            db.run_many(_BEAT, rows)

        await self._write(txn)

    async def presence_last_seen(self) -> dict[str, int]:
        """Per user, the last time any node saw a notification client of theirs (ms)."""

        def txn(db: Db) -> dict[str, int]:
            return {str(r[0]): int(r[1]) for r in db.all(_LAST_SEEN)}

        result: dict[str, int] = await self._read_one(txn)
        return result

    async def prune_presence(self, before_ms: int) -> int:
        """Forget rows not refreshed since ``before_ms`` (nodes long gone)."""

        def txn(db: Db) -> int:
            return db.run(_PRUNE, {"before": before_ms})

        n: int = await self._write(txn)
        return n

"""The store's skill rows (docs/routing.md, "Queues and skills"): ``(user, skill name, level)``.

A mixin of ``SqlStore``: the statements are the same SQL on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import bindparam, delete, select, text

from smsdesk.store import tables as t
from smsdesk.store.statements import Db, Query

__all__ = ["SkillRows"]

_K = t.user_skills

_SET = Query(
    text(
        "INSERT INTO user_skills (user_id, name, level) VALUES (:user_id, :name, :level)"
        " ON CONFLICT (user_id, name) DO UPDATE SET level = excluded.level"
    )
)
_ALL = Query(select(_K.c.user_id, _K.c.name, _K.c.level).order_by(_K.c.user_id, _K.c.name))
_OF_USER = Query(
    select(_K.c.user_id, _K.c.name, _K.c.level)
    .where(_K.c.user_id == bindparam("user_id"))
    .order_by(_K.c.name)
)
_DELETE = Query(delete(_K).where(_K.c.user_id == bindparam("user_id"), _K.c.name == bindparam("name")))
_DELETE_USER = Query(delete(_K).where(_K.c.user_id == bindparam("user_id")))


def _group(rows: Any) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for user_id, name, level in rows:
        out.setdefault(str(user_id), {})[str(name)] = int(level)
    return out


class SkillRows:
    """``SqlStore``'s skill methods (it provides ``_write`` and ``_read_one``)."""

    _write: Callable[..., Any]
    _read_one: Callable[..., Any]

    async def list_skills(self, user_id: str | None = None) -> dict[str, dict[str, int]]:
        """user id -> {skill name: level}; every user's, or ``user_id``'s only."""

        def txn(db: Db) -> dict[str, dict[str, int]]:
            if user_id is None:
                return _group(db.all(_ALL))
            return _group(db.all(_OF_USER, {"user_id": user_id}))

        result: dict[str, dict[str, int]] = await self._read_one(txn)
        return result

    async def set_skill(self, user_id: str, name: str, level: int) -> None:
        def txn(db: Db) -> None:
            db.run(_SET, {"user_id": user_id, "name": name, "level": level})

        await self._write(txn)

    async def delete_skill(self, user_id: str, name: str) -> bool:
        def txn(db: Db) -> int:
            return db.run(_DELETE, {"user_id": user_id, "name": name})

        n: int = await self._write(txn)
        return n > 0

    async def delete_user_skills(self, user_id: str) -> None:
        def txn(db: Db) -> int:
            return db.run(_DELETE_USER, {"user_id": user_id})

        await self._write(txn)

"""The store's reads of inbound media (docs/api.md, "Media"); they are written by ``commit`` with their message
(``Change.media``, ``store/commit.py``) and deleted with their session (``store/retention.py``).

A mixin of ``SqlStore``: the statements are the same SQL on SQLite and PostgreSQL (a BLOB, a ``bytea``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from smsdesk.store import queries as q
from smsdesk.store.base import MediaRow
from smsdesk.store.statements import Db

__all__ = ["MediaRows"]


class MediaRows:
    """``SqlStore``'s media method (it provides ``_read_one``)."""

    _read_one: Callable[..., Any]

    async def get_media(self, media_id: str) -> MediaRow | None:
        def txn(db: Db) -> MediaRow | None:
            r = db.first(q.MEDIA_GET, {"id": media_id})
            return None if r is None else MediaRow(str(r[0]), str(r[1]), str(r[2]), bytes(r[3]), int(r[4]))

        result: MediaRow | None = await self._read_one(txn)
        return result

"""What the nodes of a cluster share beyond sessions: the CometD clients, and the outbox read by recipient.

A mixin of ``SqlStore`` (``store/sql.py``), using its runner. Design: docs/deployment.md ("Any client on any
node") and docs/notifications.md ("Resuming").

- ``cometd_clients``: one row per Bayeux client when the clients are shared (several nodes): who it belongs
  to, its subscriptions (with a version bumped by every change), whether it uses the ack extension, the last
  event id handed to it (``position``) and when it was last seen. Any node reads it to serve a request of a
  client another node handshook. A row that is ``gone`` is kept a while, to resume a client that has to
  handshake again from where it was.
- ``list_sent_to``: what a provider sent to one number (the simulator's handsets, read by every node).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import bindparam, delete, insert, or_, select, update

from smsdesk.store import tables as t
from smsdesk.store.runners import Runner
from smsdesk.store.statements import Db, Query, dump_json

__all__ = ["ClientRecord", "ClusterStore", "SentSms"]

T = TypeVar("T")

_C, _O = t.cometd_clients, t.outbox


@dataclass(frozen=True, slots=True)
class ClientRecord:
    client_id: str
    user_id: str
    resume_key: str
    ack: bool
    subscriptions: frozenset[str]
    version: int
    floor: int
    position: int
    seen_ms: int
    gone: bool = False


@dataclass(frozen=True, slots=True)
class SentSms:
    provider_message_id: str
    from_number: str
    to_number: str
    text: str
    created_ms: int


def _p(name: str) -> Any:
    return bindparam(name)


_CLIENT_INSERT = Query(insert(_C).values({c.name: _p(c.name) for c in _C.c}))
_CLIENT_GET = Query(select(_C).where(_C.c.client_id == _p("client_id")))
_CLIENT_SUBSCRIBE = Query(
    update(_C)
    .where(_C.c.client_id == _p("b_id"), _C.c.version == _p("b_version"), _C.c.gone.is_(False))
    .values(subscriptions=_p("subscriptions"), version=_C.c.version + 1)
)
_CLIENT_POSITION = Query(
    update(_C)
    .where(_C.c.client_id == _p("b_id"), _C.c.gone.is_(False))
    .values(position=_p("b_position"), seen_ms=_p("b_seen"))
)
_CLIENT_END = Query(update(_C).where(_C.c.client_id == _p("b_id")).values(gone=True))
_CLIENT_END_USER = Query(update(_C).where(_C.c.user_id == _p("b_user")).values(gone=True))
_CLIENT_RESUME = Query(
    select(_C)
    .where(
        _C.c.user_id == _p("user_id"),
        _C.c.resume_key == _p("resume_key"),
        or_(_C.c.gone.is_(True), _C.c.seen_ms < _p("stale")),
    )
    .order_by(_C.c.seen_ms.desc())
    .limit(1)
)
_CLIENT_DELETE = Query(delete(_C).where(_C.c.client_id == _p("b_id")))
_CLIENT_PURGE = Query(delete(_C).where(_C.c.seen_ms < _p("before")))
_SENT_TO = Query(
    select(_O.c.provider_message_id, _O.c.from_number, _O.c.to_number, _O.c.text, _O.c.created_ms)
    .where(_O.c.to_number == _p("to"), _O.c.provider == _p("provider"), _O.c.status == "sent")
    .order_by(_O.c.id.desc())
    .limit(_p("limit"))
)


def _client(db: Db, r: Sequence[Any]) -> ClientRecord:
    # table order: client_id, user_id, resume_key, ack, subscriptions, version, floor, position, seen_ms, gone
    subscriptions = db.load_json(r[4])
    return ClientRecord(
        r[0], r[1], r[2], bool(r[3]), frozenset(subscriptions), r[5], r[6], r[7], r[8], bool(r[9])
    )


class ClusterStore:
    """Mixed into ``SqlStore``: these bodies run on its runner."""

    runner: Runner  # the SqlStore's (store/runners.py)

    async def _cluster_read(self, fn: Callable[[Db], T]) -> T:
        return await self.runner.read_one(fn)

    async def _cluster_write(self, fn: Callable[[Db], T]) -> T:
        return await self.runner.write(fn)

    # ---- CometD clients ----
    async def put_cometd_client(self, record: ClientRecord) -> None:
        params = {
            "client_id": record.client_id,
            "user_id": record.user_id,
            "resume_key": record.resume_key,
            "ack": record.ack,
            "subscriptions": dump_json(sorted(record.subscriptions)),
            "version": record.version,
            "floor": record.floor,
            "position": record.position,
            "seen_ms": record.seen_ms,
            "gone": record.gone,
        }

        def txn(db: Db) -> None:
            db.run(_CLIENT_INSERT, params)

        await self._cluster_write(txn)

    async def get_cometd_client(self, client_id: str) -> ClientRecord | None:
        def txn(db: Db) -> ClientRecord | None:
            r = db.first(_CLIENT_GET, {"client_id": client_id})
            return _client(db, r) if r else None

        return await self._cluster_read(txn)

    async def set_cometd_subscriptions(
        self, client_id: str, subscriptions: frozenset[str], version: int
    ) -> bool:
        """Replace the subscriptions of a live client read at ``version``; ``False`` when another request
        changed them since (read again and retry) or the client is gone."""
        params = {"b_id": client_id, "b_version": version, "subscriptions": dump_json(sorted(subscriptions))}

        def txn(db: Db) -> bool:
            return db.run(_CLIENT_SUBSCRIBE, params) > 0

        return await self._cluster_write(txn)

    async def record_cometd_positions(self, positions: Sequence[tuple[str, int, int]]) -> None:
        """``(client_id, position, seen_ms)`` of live clients, in one transaction."""
        rows = [{"b_id": c, "b_position": p, "b_seen": s} for c, p, s in positions]

        def txn(db: Db) -> None:
            db.run_many(_CLIENT_POSITION, rows)

        if rows:
            await self._cluster_write(txn)

    async def end_cometd_client(self, client_id: str) -> None:
        """The client is gone (its row stays, to resume from, until purged)."""

        def txn(db: Db) -> None:
            db.run(_CLIENT_END, {"b_id": client_id})

        await self._cluster_write(txn)

    async def end_cometd_clients_of(self, user_id: str) -> None:
        def txn(db: Db) -> None:
            db.run(_CLIENT_END_USER, {"b_user": user_id})

        await self._cluster_write(txn)

    async def find_cometd_resume(
        self, user_id: str, resume_key: str, stale_before_ms: int
    ) -> ClientRecord | None:
        """The latest client of ``user_id`` with ``resume_key`` that is gone, or not seen since
        ``stale_before_ms`` (expired): the one a new handshake resumes from."""
        params = {"user_id": user_id, "resume_key": resume_key, "stale": stale_before_ms}

        def txn(db: Db) -> ClientRecord | None:
            r = db.first(_CLIENT_RESUME, params)
            return _client(db, r) if r else None

        return await self._cluster_read(txn)

    async def delete_cometd_client(self, client_id: str) -> None:
        def txn(db: Db) -> None:
            db.run(_CLIENT_DELETE, {"b_id": client_id})

        await self._cluster_write(txn)

    async def purge_cometd_clients(self, before_ms: int) -> int:
        """Delete the rows of clients not seen since ``before_ms``; returns how many."""

        def txn(db: Db) -> int:
            return db.run(_CLIENT_PURGE, {"before": before_ms})

        return await self._cluster_write(txn)

    # ---- the outbox by recipient ----
    async def list_sent_to(self, provider: str, to_number: str, limit: int) -> list[SentSms]:
        """The last ``limit`` messages ``provider`` sent to ``to_number``, oldest first."""
        params = {"to": to_number, "provider": provider, "limit": limit}

        def txn(db: Db) -> list[SentSms]:
            return [SentSms(r[0] or "", r[1], r[2], r[3], r[4]) for r in db.all(_SENT_TO, params)]

        rows = await self._cluster_read(txn)
        rows.reverse()
        return rows

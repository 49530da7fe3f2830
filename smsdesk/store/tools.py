"""The store's rows of the agent tools (docs/api.md, "Agent tools"): standard responses and contact notes.

A mixin of ``SqlStore``: the statements are the same SQL on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update

from smsdesk.domain.notes import ContactNote
from smsdesk.domain.responses import StandardResponse
from smsdesk.store import tables as t
from smsdesk.store.statements import Db, Query

__all__ = ["ToolRows"]

_R = t.standard_responses
_N = t.contact_notes
_R_COLS = (_R.c.id, _R.c.name, _R.c.category, _R.c.text, _R.c.updated_ms)
_R_ALL = Query(select(*_R_COLS).order_by(_R.c.category, _R.c.name, _R.c.id))
_R_ONE = Query(select(*_R_COLS).where(_R.c.id == bindparam("id")))
_R_INSERT = Query(
    insert(_R).values(
        id=bindparam("id"),
        name=bindparam("name"),
        category=bindparam("category"),
        text=bindparam("text"),
        updated_ms=bindparam("updated_ms"),
    )
)
_R_UPDATE = Query(
    update(_R)
    .where(_R.c.id == bindparam("id"))
    .values(
        name=bindparam("name"),
        category=bindparam("category"),
        text=bindparam("text"),
        updated_ms=bindparam("updated_ms"),
    )
)
_R_DELETE = Query(delete(_R).where(_R.c.id == bindparam("id")))
_N_COLS = (_N.c.id, _N.c.customer_number, _N.c.author_id, _N.c.author_name, _N.c.text, _N.c.created_ms)
_N_OF = Query(
    select(*_N_COLS).where(_N.c.customer_number == bindparam("number")).order_by(_N.c.created_ms, _N.c.id)
)
_N_INSERT = Query(
    insert(_N).values(
        id=bindparam("id"),
        customer_number=bindparam("customer_number"),
        author_id=bindparam("author_id"),
        author_name=bindparam("author_name"),
        text=bindparam("text"),
        created_ms=bindparam("created_ms"),
    )
)

_S = t.sms_sessions
_OF_CUSTOMER = Query(
    select(_S.c.data)
    .where(_S.c.customer == bindparam("customer"))
    .order_by(_S.c.created_ms.desc())
    .limit(bindparam("limit"))
)


def _response(row: Any) -> StandardResponse:
    return StandardResponse(str(row[0]), str(row[1]), str(row[2]), str(row[3]), int(row[4]))


def _params(r: StandardResponse) -> dict[str, Any]:
    return {"id": r.id, "name": r.name, "category": r.category, "text": r.text, "updated_ms": r.updated_ms}


class ToolRows:
    """``SqlStore``'s standard-response and contact-note methods (it provides ``_write`` and ``_read_one``)."""

    _write: Callable[..., Any]
    _read_one: Callable[..., Any]

    async def list_responses(self) -> list[StandardResponse]:
        """Every standard response, by category then name."""

        def txn(db: Db) -> list[StandardResponse]:
            return [_response(row) for row in db.all(_R_ALL)]

        result: list[StandardResponse] = await self._read_one(txn)
        return result

    async def get_response(self, response_id: str) -> StandardResponse | None:
        def txn(db: Db) -> StandardResponse | None:
            row = db.first(_R_ONE, {"id": response_id})
            return _response(row) if row is not None else None

        result: StandardResponse | None = await self._read_one(txn)
        return result

    async def add_response(self, response: StandardResponse) -> None:
        def txn(db: Db) -> None:
            db.run(_R_INSERT, _params(response))

        await self._write(txn)

    async def update_response(self, response: StandardResponse) -> bool:
        """Replace the response of ``response.id``; False when there is none."""

        def txn(db: Db) -> int:
            return db.run(_R_UPDATE, _params(response))

        n: int = await self._write(txn)
        return n > 0

    async def delete_response(self, response_id: str) -> bool:
        def txn(db: Db) -> int:
            return db.run(_R_DELETE, {"id": response_id})

        n: int = await self._write(txn)
        return n > 0

    async def list_notes(self, customer_number: str) -> list[ContactNote]:
        """The notes about one customer number, oldest first."""

        def txn(db: Db) -> list[ContactNote]:
            return [
                ContactNote(str(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]), int(r[5]))
                for r in db.all(_N_OF, {"number": customer_number})
            ]

        result: list[ContactNote] = await self._read_one(txn)
        return result

    async def customer_session_docs(self, customer_number: str, limit: int) -> list[dict[str, Any]]:
        """The JSON documents of the customer's latest ``limit`` sessions (any business number), newest first."""

        def txn(db: Db) -> list[dict[str, Any]]:
            return [
                db.load_json(r[0])
                for r in db.all(_OF_CUSTOMER, {"customer": customer_number, "limit": limit})
            ]

        result: list[dict[str, Any]] = await self._read_one(txn)
        return result

    async def add_note(self, note: ContactNote) -> None:
        def txn(db: Db) -> None:
            db.run(
                _N_INSERT,
                {
                    "id": note.id,
                    "customer_number": note.customer_number,
                    "author_id": note.author_id,
                    "author_name": note.author_name,
                    "text": note.text,
                    "created_ms": note.created_ms,
                },
            )

        await self._write(txn)

"""Rows of the SQL store's statements (``store/queries.py``) to the store's records, and back for users.

A row is a tuple in the order the statement selects its columns (a table's column order, ``tables.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from smsdesk.domain.agents import AgentState, ChannelState
from smsdesk.domain.events import StoredEvent
from smsdesk.domain.users import Role, User
from smsdesk.store import tables as t
from smsdesk.store.base import Milestones, OutboxRow, SessionRecord
from smsdesk.store.statements import Db, dump_json

__all__ = ["agent", "event", "outbox", "sessions", "user", "user_values"]


def user(db: Db, r: Sequence[Any]) -> User:
    return User(
        id=r[0],
        user_name=r[1],
        password_hash=r[2],
        roles=frozenset(Role(x) for x in db.load_json(r[3])),
        first_name=r[4],
        last_name=r[5],
        nickname=r[6],
        capacity=r[7],
        enabled=bool(r[8]),
        created_ms=r[9],
        email_address=r[10],
    )


def user_values(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "user_name": user.user_name,
        "password_hash": user.password_hash,
        "roles": dump_json(sorted(r.value for r in user.roles)),
        "first_name": user.first_name,
        "last_name": user.last_name,
        "nickname": user.nickname,
        "capacity": user.capacity,
        "enabled": user.enabled,
        "created_ms": user.created_ms,
        "email_address": user.email_address,
    }


def sessions(db: Db, rows: Sequence[Sequence[Any]]) -> list[SessionRecord]:
    """Records from ``_sessions_query`` rows: id … data (the table's columns), then member id and counts."""
    out: list[SessionRecord] = []
    r: Sequence[Any] | None = None
    members: set[str] = set()
    load: set[str] = set()
    for row in rows:
        if r is None or row[0] != r[0]:
            if r is not None:
                out.append(session(db, r, members, load))
            r, members, load = row, set(), set()
        member = row[_NCOLS]
        if member is not None:
            members.add(member)
            if row[_NCOLS + 1]:
                load.add(member)
    if r is not None:
        out.append(session(db, r, members, load))
    return out


def session(db: Db, r: Sequence[Any], members: set[str], load: set[str]) -> SessionRecord:
    return SessionRecord(
        id=r[0],
        version=r[1],
        is_open=bool(r[2]),
        waiting=bool(r[3]),
        queue=r[4],
        customer=r[5],
        business=r[6],
        created_ms=r[7],
        updated_ms=r[8],
        queued_ms=r[9],
        deadline_ms=r[10],
        data=db.load_json(r[11]),
        members=frozenset(members),
        load_members=frozenset(load),
        milestones=Milestones(r[12], r[13], r[14], r[15], r[16], r[17], r[18]),
    )


_NCOLS = len(
    t.sms_sessions.c
)  # a ``_sessions_query`` row: the table's columns, then the member's id and counts


_CHANNEL_STATES = {s.value: s for s in ChannelState}


def agent(r: Sequence[Any]) -> AgentState:
    # table order: user_id, state, reason, since_ms, idle_since_ms, work_mode, wrap_session_id, wrap_until_ms
    return AgentState(r[0], _CHANNEL_STATES[r[1]], r[2], r[3], r[4], r[5], r[6], r[7])


def outbox(r: Sequence[Any]) -> OutboxRow:
    # table order: id, provider, from, to, text, session_id, message_index, status, attempts, next_attempt_ms,
    # lease_until_ms, provider_message_id, error, created_ms, media_url
    return OutboxRow(
        id=r[0],
        provider=r[1],
        from_number=r[2],
        to_number=r[3],
        text=r[4],
        session_id=r[5],
        message_index=r[6],
        status=r[7],
        attempts=r[8],
        next_attempt_ms=r[9],
        provider_message_id=r[11],
        error=r[12],
        created_ms=r[13],
        media_url=r[14],
    )


def event(db: Db, r: Sequence[Any]) -> StoredEvent:
    data = r[3]
    # An event's data is a JSON object: text here is the stored JSON (SQLite), handed over undecoded for the
    # hub to write to the wire as it is, unless it may hold the stdlib's NaN / Infinity (not JSON for a client).
    if isinstance(data, str) and "NaN" not in data and "Infinity" not in data:
        return StoredEvent(r[0], r[1], r[2], json=data)
    return StoredEvent(r[0], r[1], r[2], db.load_json(data))

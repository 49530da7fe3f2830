"""PostgreSQL writer: writes committed in groups; a failing write costs only itself (``store/pg_runner.py``)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from smsdesk.store.engines.postgres import add_events
from smsdesk.store.sql import create_store

pytestmark = pytest.mark.postgres


def _body(db: Any, user: str, fail: bool) -> int:
    last = add_events(db, [{"user_id": user, "channel": "/t", "data": "{}", "created_ms": 1}])
    if fail:
        raise ValueError(f"{user} refused")
    return last


async def test_failing_writes_in_a_group_fail_alone_and_the_others_commit(postgres_database: str) -> None:
    store = create_store(postgres_database)
    try:
        failing = {3, 7, 8}
        tag = f"g{id(store)}"
        results = await asyncio.gather(
            *(store._write(_body, f"{tag}-{i}", i in failing) for i in range(12)), return_exceptions=True
        )
        for i, r in enumerate(results):
            if i in failing:
                assert isinstance(r, ValueError) and f"{tag}-{i}" in str(r)
            else:
                assert isinstance(r, int) and r > 0
        stored = {e.user_id for e in await store.read_all_events(0, 100_000) if e.user_id.startswith(tag)}
        assert stored == {f"{tag}-{i}" for i in range(12) if i not in failing}
    finally:
        await store.close()


async def test_nodes_claiming_the_outbox_at_once_never_lease_one_row_twice(postgres_database: str) -> None:
    """The outbox is leased in one statement (``FOR UPDATE SKIP LOCKED``): three nodes claiming together
    share the due rows, each row to one of them, every row to someone."""
    from smsdesk.store.base import Change, NewOutbound

    stores = [create_store(postgres_database) for _ in range(3)]
    try:
        tag = f"+1{id(stores[0]) % 10**9:09d}"
        rows = [NewOutbound("simulator", tag, "+2", f"t{i}", None, None) for i in range(60)]
        await stores[0].commit(Change(outbound=rows))
        claimed = await asyncio.gather(*(s.claim_outbound(10**13, 60_000, 100) for s in stores * 2))
        mine = [r.id for batch in claimed for r in batch if r.from_number == tag]
        assert len(mine) == len(set(mine)) == 60
        assert all(r.attempts == 1 for batch in claimed for r in batch if r.from_number == tag)
    finally:
        for s in stores:
            await s.close()

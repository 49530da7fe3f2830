"""PostgreSQL: event ids become visible in id order, so a reader that has passed id N never misses a smaller one
(``store/engines/postgres.py``: the events lock taken with the rows, held to COMMIT)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy.util import await_only

from smsdesk.domain.events import Notification
from smsdesk.store.base import Change
from smsdesk.store.engines.postgres import PostgresDb, add_events, flush_events
from smsdesk.store.sql import create_store

pytestmark = pytest.mark.postgres


def _slow_events(db: Any, hold_s: float) -> list[int]:
    """A transaction body that writes an event, then stays open ``hold_s`` before its COMMIT."""
    assert isinstance(db, PostgresDb)
    add_events(db, [{"user_id": "slow", "channel": "/t", "data": "{}", "created_ms": 1}])
    ids = flush_events(db)  # takes the lock and inserts, as at the end of every transaction
    await_only(asyncio.sleep(hold_s))
    return ids


async def test_a_later_event_is_not_visible_before_an_earlier_one_commits(postgres_database: str) -> None:
    slow, fast, reader = (create_store(postgres_database) for _ in range(3))
    try:
        after = await reader.last_event_id()
        slow_write = asyncio.create_task(slow._write(_slow_events, 1.5))
        await asyncio.sleep(0.5)  # the slow transaction holds its event id (and the lock) uncommitted
        fast_id = await fast.commit(Change(notifications=[Notification("fast", "/t", {"n": 1})]))
        # the fast commit returned: every smaller id is committed too, so a reader sees them all
        seen = [e.id for e in await reader.read_all_events(after, 100)]
        assert fast_id in seen
        assert seen == sorted(seen)
        slow_ids = await slow_write
        assert slow_ids[0] < fast_id
        assert slow_ids[0] in seen, f"the reader passed {fast_id} without seeing {slow_ids[0]}"
    finally:
        for s in (slow, fast, reader):
            await s.close()


async def test_group_commit_returns_each_write_its_own_last_event_id(postgres_database: str) -> None:
    """A burst: groups on several writer connections at once, each write told the id of its own last event."""
    store = create_store(postgres_database)
    try:
        changes = [
            Change(notifications=[Notification(f"u{i}", "/t", {"i": i, "k": k}) for k in range(i % 5 + 1)])
            for i in range(60)
        ]
        last_ids = await asyncio.gather(*(store.commit(c) for c in changes))
        assert len(set(last_ids)) == 60
        for i, last in enumerate(last_ids):
            events = await store.read_events([f"u{i}"], 0, 100)
            assert [e.data["k"] for e in events] == list(range(i % 5 + 1))  # in the order written
            assert events[-1].id == last
    finally:
        await store.close()

"""Retention (``retention_days``) and erasure (``smsdesk erase --number``): what goes, what stays."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from smsdesk.actions.retention import RetentionLoop, erase_customer, number_digest
from smsdesk.cli.main import main
from smsdesk.clock import FakeClock
from smsdesk.domain.errors import InvalidState
from smsdesk.store.history import SessionSearch, index_messages, search_sessions
from tests.api.conftest import Api, make_api
from tests.api.test_history import conversation, finish

CUST = "+15551230001"
OTHER = "+15551230002"


async def sessions_of(api: Api, customer: str) -> list[str]:
    found, _ = await search_sessions(api.rt.store, SessionSearch(customer=customer))
    return [r.id for r in found]


async def words(api: Api, *w: str) -> list[str]:
    await index_messages(api.rt.store)
    found, _ = await search_sessions(api.rt.store, SessionSearch(words=w))
    return [r.id for r in found]


@pytest.fixture
async def kept(tmp_path: Path, clock: FakeClock) -> Any:
    async for a in make_api(tmp_path, clock, retention_days=30):
        yield a


async def test_closed_sessions_older_than_retention_go_in_batches(kept: Api) -> None:
    api = kept
    old = await conversation(api, "agent1", "old parcel question", "old answer")
    await finish(api, old, "agent1")
    api.clock.advance(20 * 86400)
    recent = await conversation(api, "agent2", "recent parcel question", "recent answer", customer=OTHER)
    await finish(api, recent, "agent2")
    still_open = await conversation(api, "agent3", "an old open one", "hi", customer="+15551230003")
    api.clock.advance(15 * 86400)  # old is 35 days closed, recent 15; the open one is never purged
    loop = RetentionLoop(api.rt, batch=1, pause_s=0)
    purged = await loop.run_once()
    assert purged.sessions == 1 and purged.events > 0
    assert await sessions_of(api, CUST) == [] and await sessions_of(api, OTHER) == [recent]
    assert await api.rt.store.read_messages(old) == []
    assert await words(api, "parcel") == [recent]  # the full-text index followed
    assert await api.rt.store.get_session(still_open) is not None
    assert (await loop.run_once()).sessions == 0  # nothing more to do
    events = await api.rt.store.read_all_events(0, 100_000)
    assert min(e.id for e in events) > 0 and all(e.id for e in events)


async def test_no_retention_keeps_everything(api: Api) -> None:
    sid = await conversation(api, "agent1", "keep me", "kept")
    await finish(api, sid, "agent1")
    api.clock.advance(3650 * 86400)
    assert (await RetentionLoop(api.rt).run_once()).sessions == 0
    assert await sessions_of(api, CUST) == [sid]


async def test_erase_removes_the_customer_keeps_the_opt_out_and_audits(api: Api) -> None:
    first = await conversation(api, "agent1", "my secret order 991", "noted")
    await finish(api, first, "agent1")
    other = await conversation(api, "agent2", "someone else 991", "hi", customer=OTHER)
    await api.text("STOP")  # the customer opts out
    with pytest.raises(InvalidState):
        await erase_customer(api.rt, OTHER, "admin")  # still open: refused, nothing erased
    done = await erase_customer(api.rt, CUST, "admin", batch=1)
    assert done.sessions >= 1 and done.events >= 1
    assert await sessions_of(api, CUST) == [] and await words(api, "secret") == []
    assert await words(api, "991") == [other]
    assert await api.rt.store.is_opted_out(CUST)  # the opt-out stays, by law
    remaining = await api.rt.store.read_all_events(0, 100_000)
    assert not any(CUST in (e.json if isinstance(e.json, str) else str(dict(e.data))) for e in remaining)
    audit = await api.rt.store.list_audit()
    assert audit[0].action == "EraseCustomer" and audit[0].target_id == number_digest(CUST)
    assert audit[0].details["sessions"] == done.sessions and CUST not in str(audit[0].details)


async def test_the_erase_command(api: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sid = await conversation(api, "agent1", "hello", "hi")
    await finish(api, sid, "agent1")
    db = f"sqlite:///{tmp_path / 'api.db'}"
    assert await asyncio.to_thread(main, ["erase", "--database", db, "--number", "not a number"]) == 2
    assert await asyncio.to_thread(main, ["erase", "--database", db, "--number", CUST, "--actor", "dpo"]) == 0
    assert "erased +15551230001: 1 sessions" in capsys.readouterr().out
    assert await sessions_of(api, CUST) == []
    assert (await api.rt.store.list_audit())[0].actor_id == "dpo"

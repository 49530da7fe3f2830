"""The routing loop's pass: the lease is renewed when half of it has run out (not on every pass), offers
that timed out are looked for at most once a tick, and a pass that took a full batch asks for another."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from smsdesk.clock import FakeClock
from smsdesk.workers import RouterLoop
from tests.api.conftest import Api, count_calls, make_api


@pytest.fixture
async def api(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Api]:
    async for a in make_api(tmp_path, clock):
        yield a


async def test_the_lease_is_renewed_once_half_of_it_ran_out(api: Api) -> None:
    loop: RouterLoop = api.app.state.router
    leases = count_calls(api.rt.store, "acquire_lease")
    await loop.run_once()
    await loop.run_once()
    assert len(leases) == 1
    api.clock.advance(loop.LEASE_MS / 2000 - 0.1)
    await loop.run_once()
    assert len(leases) == 1
    api.clock.advance(0.2)
    await loop.run_once()
    assert len(leases) == 2


async def test_a_node_that_lost_the_lease_asks_again_every_pass(api: Api) -> None:
    loop: RouterLoop = api.app.state.router
    now = api.clock.now_ms()
    assert await api.rt.store.acquire_lease("router", "other-node", now, loop.LEASE_MS)
    leases = count_calls(api.rt.store, "acquire_lease")
    assert await loop.run_once() == 0
    assert await loop.run_once() == 0
    assert len(leases) == 2


async def test_expired_offers_are_looked_for_at_most_once_a_tick(api: Api) -> None:
    loop: RouterLoop = api.app.state.router
    due = count_calls(api.rt.store, "list_due_sessions")
    await loop.run_once()
    await loop.run_once()
    assert len(due) == 1
    api.clock.advance(loop.tick_s)
    await loop.run_once()
    assert len(due) == 2


async def test_a_pass_that_took_a_full_batch_asks_for_another(api: Api) -> None:
    loop: RouterLoop = api.app.state.router
    loop.router.batch = 2
    for name in ("agent1", "agent2", "agent3"):
        r = await api.post("/api/v2/me/channels/sms", {"operationName": "Ready"}, user=name)
        assert r.json() == {"statusCode": 0}
    for i in range(3):
        await api.text("Hi", customer=f"+1555123000{i}")
    assert await loop.run_once() == 2
    assert loop.router.more_waiting
    assert await loop.run_once() == 1
    assert not loop.router.more_waiting


async def test_the_offers_of_a_pass_are_committed_together(api: Api) -> None:
    """A pass's offers go to the store at once (they touch different sessions), so they can share a group
    commit instead of each waiting for the previous one's commit."""
    loop: RouterLoop = api.app.state.router
    for name in ("agent1", "agent2", "agent3"):
        r = await api.post("/api/v2/me/channels/sms", {"operationName": "Ready"}, user=name)
        assert r.json() == {"statusCode": 0}
    for i in range(3):
        await api.text("Hi", customer=f"+1555124000{i}")
    store = api.rt.store
    original = store.commit
    in_flight = 0
    most = 0

    async def commit(change: Any) -> Any:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        try:
            return await original(change)
        finally:
            in_flight -= 1

    store.commit = commit  # type: ignore[method-assign]
    assert await loop.run_once() == 3
    assert most == 3
    states = []
    for name in ("agent1", "agent2", "agent3"):
        r = await api.get("/api/v2/me/smssessions?fields=*", user=name)
        states += [s["state"] for s in r.json()["smssessions"]]
    assert states == ["Invited"] * 3

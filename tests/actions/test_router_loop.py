"""The routing loop's pass: the lease is renewed when half of it has run out (not on every pass), offers
that timed out are looked for at most once a tick, and a pass that took a full batch asks for another; a
node without the lease hints the holder through the bus."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from smsdesk.clock import FakeClock
from smsdesk.domain.agents import AgentState, ChannelState
from smsdesk.store.base import Change
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


async def test_a_node_kept_out_of_the_lease_asks_again_once_a_tick(api: Api) -> None:
    """Each ask is a write transaction: asking on every pass (every session and every freed agent wakes the
    loop) cost about three commits per session at 50 sessions/s on the node without the lease."""
    loop: RouterLoop = api.app.state.router
    now = api.clock.now_ms()
    assert await api.rt.store.acquire_lease("router", "other-node", now, loop.LEASE_MS)
    leases = count_calls(api.rt.store, "acquire_lease")
    assert await loop.run_once() == 0
    assert await loop.run_once() == 0
    assert len(leases) == 1
    api.clock.advance(loop.tick_s)
    assert await loop.run_once() == 0
    assert len(leases) == 2
    api.clock.advance(loop.LEASE_MS / 1000)  # the other node's lease ran out: this one takes over
    await loop.run_once()
    assert loop.holds_lease() and len(leases) == 3


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


class Hints:
    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    async def __call__(self, message: dict[str, Any]) -> None:
        if message.get("type") != "resync":
            self.seen.append(message)


async def settle() -> None:
    for _ in range(5):  # the hint is sent at the end of the loop turn, delivered on the bus's task
        await asyncio.sleep(0)


async def test_a_node_without_the_lease_tells_the_holder_once_per_loop_turn(api: Api) -> None:
    loop: RouterLoop = api.app.state.router
    assert await api.rt.store.acquire_lease("router", "other-node", api.clock.now_ms(), loop.LEASE_MS)
    await loop.run_once()
    assert not loop.holds_lease()
    hints = Hints()
    api.app.state.hub.bus.subscribe(RouterLoop.HINT_TOPIC, hints)
    for _ in range(3):
        loop.wanted()
    await settle()
    assert hints.seen == [{"agents": False}]
    loop.wanted()
    loop.agents_committed(Change(agents_idle=[("u1", 1)]))  # idle times alone: no news for the roster
    await settle()
    assert hints.seen[1:] == [{"agents": False}]
    loop.agents_committed(Change(agents=[AgentState("u1", ChannelState.READY)]))
    loop.wanted()
    await settle()
    assert hints.seen[2:] == [{"agents": True}]


async def test_the_lease_holder_sends_no_hint(api: Api) -> None:
    loop: RouterLoop = api.app.state.router
    await loop.run_once()
    assert loop.holds_lease()
    hints = Hints()
    api.app.state.hub.bus.subscribe(RouterLoop.HINT_TOPIC, hints)
    loop.wanted()
    loop.agents_committed(Change(agents=[AgentState("u1", ChannelState.READY)]))
    await settle()
    assert hints.seen == []


async def test_a_hint_about_agents_makes_the_roster_read_changes_sooner(api: Api) -> None:
    loop: RouterLoop = api.app.state.router
    roster = loop.router.roster
    roster.load([], now=100.0)
    soon = 100.0 + roster.HINTED_REFRESH_S + 0.01
    assert not roster.stale(soon)
    await api.app.state.hub.bus.publish(RouterLoop.HINT_TOPIC, {"agents": False})
    await settle()
    assert not roster.stale(soon)
    await api.app.state.hub.bus.publish(RouterLoop.HINT_TOPIC, {"agents": True})
    await settle()
    assert roster.stale(soon) and not roster.stale(100.0 + roster.HINTED_REFRESH_S / 2)
    roster.merge([], soon, 0)
    assert not roster.stale(soon + roster.HINTED_REFRESH_S + 0.01)  # the hint was used up

"""The router's roster of agents: this node's channel-state commits reach it at once, without reading every
agent again; another node's reach it once the roster is refreshed (``AgentRoster.REFRESH_S``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from smsdesk.actions.routing import AgentRoster
from smsdesk.clock import FakeClock
from tests.api.conftest import Api, make_api


@asynccontextmanager
async def node(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Api]:
    gen = make_api(tmp_path, clock)
    try:
        yield await gen.__anext__()
    finally:
        await gen.aclose()


def count_calls(obj: Any, name: str) -> list[Any]:
    calls: list[Any] = []
    original = getattr(obj, name)

    async def counting(*args: Any) -> Any:
        calls.append(args)
        return await original(*args)

    setattr(obj, name, counting)
    return calls


async def channel(api: Api, user: str, op: str) -> None:
    r = await api.post("/api/v2/me/channels/sms", {"operationName": op}, user=user)
    assert r.json() == {"statusCode": 0}


async def holders(api: Api, *users: str) -> dict[str, int]:
    out = {}
    for u in users:
        out[u] = len((await api.get("/api/v2/me/smssessions", user=u)).json()["uris"])
    return out


async def test_this_nodes_channel_changes_reach_the_router_at_once(tmp_path: Path, clock: FakeClock) -> None:
    async with node(tmp_path, clock) as a:
        reads = count_calls(a.rt.store, "list_agents")
        await channel(a, "agent1", "Ready")
        await a.text("one", customer="+15551230001")
        assert await a.route() == 1
        await channel(a, "agent1", "NotReady")
        await channel(a, "agent2", "Ready")
        await a.text("two", customer="+15551230002")
        assert await a.route() == 1
        assert await holders(a, "agent1", "agent2") == {"agent1": 1, "agent2": 1}
        assert len(reads) == 1  # read once; the rest came from this node's commits


async def test_another_nodes_channel_changes_reach_the_router_on_refresh(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with node(tmp_path, clock) as a, node(tmp_path, clock) as b:
        await channel(a, "agent1", "Ready")
        await a.text("one", customer="+15551230001")
        assert await a.route() == 1
        await channel(b, "agent1", "NotReady")  # on B: A's router learns it on its next refresh
        await channel(b, "agent2", "Ready")
        clock.advance(AgentRoster.REFRESH_S)
        await a.text("two", customer="+15551230002")
        assert await a.route() == 1
        assert await holders(a, "agent1", "agent2") == {"agent1": 1, "agent2": 1}

"""Presence end to end (docs/routing.md): real CometD clients, HTTP, the router, a fake clock moved by hand.

An agent with no notification client anywhere for ``presence_grace_s`` is set NotReady ("No Client
Connected") through the same notifications as their own NotReady, and their offers go to someone else at
once; a client killed without a disconnect, a client on another node than the router, and a node that stops
all count."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from smsdesk.clock import FakeClock
from smsdesk.domain.routing import ABSENT_REASON
from tests.routing.live import Live, eventually, listener, live, team_states, tick

pytestmark = [pytest.mark.timeout(120), pytest.mark.filterwarnings("ignore::DeprecationWarning")]

SESSIONS = "/v2/me/smssessions"
ROOT = Path(__file__).resolve().parents[2]
GRACE = 30.0


async def absent(srv: Live, user: str) -> bool:
    await srv.route()
    state = await srv.channel(user)
    return state == {
        "displayName": "Not Ready",
        "id": "900D55CC-2BB0-431F-8BF9-D3525B383BE6",
        "state": "NotReady",
        "reason": ABSENT_REASON,
    }


async def test_an_agent_without_a_client_is_set_not_ready_and_one_with_a_client_stays(tmp_path: Path) -> None:
    clock = FakeClock()
    async with (
        live(tmp_path, clock=clock, presence_grace_s=GRACE) as srv,
        listener(srv.url, "agent1", SESSIONS) as a1,
        listener(srv.url, "supervisor1", "/v2/users") as sup,
    ):
        await srv.ready("agent1")
        await srv.ready("agent2")  # REST only: no notification client
        await srv.route()
        await tick(clock, GRACE - 10, srv)
        assert (await srv.channel("agent2"))["state"] == "Ready"  # within the grace
        await tick(clock, 25, srv)
        await eventually(lambda: absent(srv, "agent2"), what="agent2 absent")
        assert (await srv.channel("agent1"))["state"] == "Ready"
        await eventually(
            lambda: ("NotReady", ABSENT_REASON) in team_states(sup, "agent2"), what="the supervisors' view"
        )
        assert not [s for s, r in team_states(sup, "agent1") if s == "NotReady"]
        await srv.text()
        assert await srv.route() == 1
        assert len(await srv.sessions("agent1")) == 1  # only the present agent is offered work
        await eventually(lambda: a1.data(SESSIONS), what="the offer on agent1's client")


async def test_a_killed_client_counts_as_gone_and_its_offer_goes_to_another_agent(tmp_path: Path) -> None:
    clock = FakeClock()
    async with (
        live(tmp_path, clock=clock, presence_grace_s=GRACE, offer_timeout_s=3600) as srv,
        listener(srv.url, "agent2", SESSIONS) as a2,
    ):
        child = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "tests.routing.cometd_child", srv.url, "agent1", SESSIONS),
            stdout=asyncio.subprocess.PIPE,
            cwd=ROOT,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
        try:
            assert child.stdout is not None
            line = await asyncio.wait_for(child.stdout.readline(), 60)
            assert line.split()[0] == b"subscribed"
            await srv.ready("agent1")
            await srv.text()
            assert await srv.route() == 1
            (sid,) = await srv.sessions("agent1")  # agent1 was Ready first: idle the longest
            await srv.ready("agent2")
            await tick(clock, GRACE + 15, srv)
            assert (await srv.channel("agent1"))["state"] == "Ready"  # past the grace: the client is alive
            child.send_signal(signal.SIGKILL)  # no /meta/disconnect
            await asyncio.wait_for(child.wait(), 30)
            await tick(clock, 60, srv)
            await eventually(lambda: absent(srv, "agent1"), what="agent1 absent")
            assert await srv.sessions("agent1") == []
            await srv.route()
            assert await srv.sessions("agent2") == [sid]  # the offer went on at once, no offer timeout
            await eventually(
                lambda: [d for d in a2.data(SESSIONS) if d.get("smssession", {}).get("id") == sid],
                what="the offer on agent2's client",
            )
            assert (await srv.channel("agent2"))["state"] == "Ready"
        finally:
            if child.returncode is None:
                child.kill()
                await asyncio.wait_for(child.wait(), 30)


async def test_the_router_on_another_node_sees_the_client_and_a_stopped_node_takes_it_away(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    async with live(tmp_path, "shared", clock=clock, presence_grace_s=GRACE) as router_node:
        async with (
            live(tmp_path, "shared", clock=clock, presence_grace_s=GRACE) as client_node,
            listener(client_node.url, "agent1", SESSIONS),
        ):
            await client_node.ready("agent1")
            await router_node.route()  # this node takes the router lease and keeps it
            await tick(clock, 2 * GRACE, router_node)
            await router_node.route()
            assert client_node.app.state.router.holds_lease() is False
            assert (await router_node.channel("agent1"))["state"] == "Ready"  # seen through the store
        # the client's node is gone (and its client with it): nobody writes agent1's presence any more
        await tick(clock, GRACE + 15, router_node)
        await eventually(lambda: absent(router_node, "agent1"), what="agent1 absent after its node stopped")

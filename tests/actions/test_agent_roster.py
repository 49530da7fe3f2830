"""The router's roster of agents: this node's channel-state commits reach it at once, without reading every
agent again; another node's reach it once the roster is refreshed (``AgentRoster.REFRESH_S``), by a read of the
agents changed lately (a whole read every ``AgentRoster.WHOLE_REFRESH_S``)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from smsdesk.actions.routing import AgentRoster
from smsdesk.clock import FakeClock
from smsdesk.domain.agents import AgentState, ChannelState
from smsdesk.domain.users import Role, User
from smsdesk.store.base import Change
from tests.api.conftest import Api, count_calls, node


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


async def test_between_whole_reads_only_the_agents_changed_lately_are_read(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with node(tmp_path, clock) as a, node(tmp_path, clock) as b:
        whole = count_calls(a.rt.store, "list_agents")
        changes = count_calls(a.rt.store, "list_agents_changed")
        await channel(a, "agent1", "Ready")
        await a.text("one", customer="+15551230001")
        assert await a.route() == 1
        assert (len(whole), len(changes)) == (1, 0)
        read_ms = clock.now_ms()

        clock.advance(AgentRoster.REFRESH_S)
        await channel(b, "agent1", "NotReady")
        await channel(b, "agent2", "Ready")
        await a.text("two", customer="+15551230002")
        assert await a.route() == 1
        assert (len(whole), len(changes)) == (1, 1)
        assert changes[0] == (read_ms - AgentRoster.MARGIN_MS,)
        assert await holders(a, "agent1", "agent2") == {"agent1": 1, "agent2": 1}

        clock.advance(AgentRoster.WHOLE_REFRESH_S)
        await a.route()
        assert (len(whole), len(changes)) == (2, 1)


async def test_a_write_stamped_before_the_last_read_is_caught_within_the_margin(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with node(tmp_path, clock) as a:
        await a.text("one", customer="+15551230001")
        assert await a.route() == 0  # nobody Ready: the roster was read now
        clock.advance(AgentRoster.REFRESH_S)
        # another node decided Ready for agent1 a while ago and commits only now (a slow write)
        late = int(clock.now_ms() - AgentRoster.REFRESH_S * 1000 - AgentRoster.MARGIN_MS)  # at the bound
        agent1 = await a.user_id("agent1")
        await a.rt.store.commit(Change(agents=[AgentState(agent1, ChannelState.READY, None, late, late)]))
        assert await a.route() == 1
        assert await holders(a, "agent1") == {"agent1": 1}


async def test_a_write_older_than_the_margin_waits_for_the_whole_read(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with node(tmp_path, clock) as a:
        await a.text("one", customer="+15551230001")
        assert await a.route() == 0
        clock.advance(AgentRoster.REFRESH_S)
        too_late = int(clock.now_ms() - AgentRoster.REFRESH_S * 1000 - AgentRoster.MARGIN_MS - 1)
        agent1 = await a.user_id("agent1")
        await a.rt.store.commit(
            Change(agents=[AgentState(agent1, ChannelState.READY, None, too_late, too_late)])
        )
        assert await a.route() == 0
        clock.advance(AgentRoster.WHOLE_REFRESH_S)
        assert await a.route() == 1


def test_agents_read_again_as_they_are_keep_the_order() -> None:
    users = {u: User(id=u, user_name=u, password_hash="h", roles=frozenset({Role.AGENT})) for u in "abc"}
    a, b, c = (
        AgentState(u, ChannelState.READY, None, 1, idle) for u, idle in zip("abc", (30, 10, 20), strict=True)
    )
    roster = AgentRoster()
    roster.load([a, b, c], 0.0, 1_000)
    order, ready = roster.ready(users)
    assert order == [(10, "b"), (20, "c"), (30, "a")] and ready == {"a", "b", "c"}
    roster.merge([a, c], 1.0, 2_000)
    assert roster.ready(users)[0] is order  # nothing new: not sorted again
    assert roster.changed_since_ms == 2_000 - AgentRoster.MARGIN_MS
    roster.merge([replace(a, idle_since_ms=5), replace(c, state=ChannelState.NOT_READY)], 2.0, 3_000)
    assert roster.ready(users) == ([(5, "a"), (10, "b")], {"a", "b"})


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["apply", "idle", "merge"]),
            st.sampled_from("abcdefgh"),
            st.sampled_from(list(ChannelState)),
            st.integers(0, 5),
        ),
        max_size=40,
    )
)
def test_the_order_kept_through_changes_is_the_order_sorted_afresh(
    steps: list[tuple[str, str, ChannelState, int]],
) -> None:
    users = {u: User(id=u, user_name=u, password_hash="h", roles=frozenset({Role.AGENT})) for u in "abcdef"}
    roster = AgentRoster()  # g and h are agents the router does not route to (not in ``users``)
    roster.load([AgentState(u, ChannelState.READY, None, 0, i % 3) for i, u in enumerate("abcdefg")], 0.0)
    known = {a.user_id: a for a in roster._agents.values()}  # type: ignore[union-attr]
    for kind, user, state, idle in steps:
        roster.ready(users)  # built once, then kept
        if kind == "idle":
            roster.apply(Change(agents_idle=[(user, idle)]))
            if user in known:
                known[user] = replace(known[user], idle_since_ms=idle)
        else:
            agent = AgentState(user, state, None, 0, idle)
            known[user] = agent
            if kind == "apply":
                roster.apply(Change(agents=[agent]))
            else:
                roster.merge([agent], 1.0, 0)
        ready = [a for a in known.values() if a.state is ChannelState.READY and a.user_id in users]
        assert roster.ready(users) == (
            sorted((a.idle_since_ms, a.user_id) for a in ready),
            {a.user_id for a in ready},
        )

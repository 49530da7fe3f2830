from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsdesk.domain.agents import AgentState, ChannelState, set_not_ready_by_system
from smsdesk.domain.routing import (
    ABSENT_REASON,
    NOT_RESPONDING_REASON,
    Candidate,
    absent_agents,
    choose_agent,
    overflow_due,
    qualified,
    routed_offer,
    serving_order,
)
from smsdesk.domain.system import WithdrawOffer


def c(user: str, idle: int, *, ready: bool = True, load: int = 0, capacity: int = 2) -> Candidate:
    return Candidate(user, ready, load, capacity, idle)


def test_longest_idle_ready_agent_with_capacity_wins() -> None:
    pool = [c("a", 30), c("b", 10, ready=False), c("c", 20), c("d", 5, load=2)]
    assert choose_agent(pool) == "c"
    assert choose_agent(pool, excluded={"c"}) == "a"
    assert choose_agent([c("y", 1), c("x", 1)]) == "x"


def test_last_agent_routing_only_when_available() -> None:
    pool = [c("a", 30), c("c", 20)]
    assert choose_agent(pool, lar_agent_id="a") == "a"
    assert choose_agent(pool, lar_agent_id="a", excluded=["a"]) == "c"
    assert choose_agent(pool, lar_agent_id="zz") == "c"


def test_nobody_available() -> None:
    assert choose_agent([c("a", 1, ready=False), c("b", 1, load=1, capacity=1)]) is None
    assert choose_agent([]) is None


def test_random_ids_have_the_gws_shape() -> None:
    import re

    from smsdesk.domain.outcome import random_participant_id, random_session_id

    assert re.fullmatch(r"[0-9A-F]{16}", random_participant_id())
    assert re.fullmatch(r"[0-9A-Za-z]{16}", random_session_id())
    assert random_session_id() != random_session_id()


def test_random_strings_draw_every_character_uniformly_and_independently() -> None:
    from collections import Counter

    from smsdesk.domain.outcome import random_string

    draws = Counter(random_string("abc", 2) for _ in range(9000))
    assert set(draws) == {x + y for x in "abc" for y in "abc"}  # every pair: the characters are independent
    assert all(800 <= n <= 1200 for n in draws.values()), draws  # ~1000 each, ±200 is 6.7 standard deviations
    assert len(random_string("0123456789", 40)) == 40


# --- no session stranded: the excluded only while somebody else is available (docs/routing.md) ---------


def test_an_excluded_agent_gets_the_session_when_nobody_else_can() -> None:
    assert choose_agent([c("a", 1)], excluded={"a"}) == "a"
    assert choose_agent([c("a", 1), c("b", 9, ready=False)], excluded={"a"}) == "a"
    assert choose_agent([c("a", 1), c("b", 9)], excluded={"a"}) == "b"
    assert choose_agent([c("a", 1), c("b", 9, load=2)], excluded={"a"}, lar_agent_id="a") == "a"


def test_busy_agents_never_get_the_session() -> None:
    assert choose_agent([c("a", 1)], busy={"a"}) is None
    assert choose_agent([c("a", 1)], busy={"a"}, excluded={"a"}, lar_agent_id="a") is None
    assert choose_agent([c("a", 1), c("b", 2)], busy={"a"}, excluded={"b"}) == "b"


_IDS = [f"a{i}" for i in range(6)]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.builds(
            Candidate,
            user_id=st.sampled_from(_IDS),
            ready=st.booleans(),
            load=st.integers(0, 2),
            capacity=st.integers(0, 2),
            idle_since_ms=st.integers(0, 5),
        ),
        unique_by=lambda x: x.user_id,
    ),
    st.none() | st.sampled_from(_IDS),
    st.frozensets(st.sampled_from(_IDS)),
    st.frozensets(st.sampled_from(_IDS)),
    st.none() | st.frozensets(st.sampled_from(_IDS)),
)
def test_choice_properties(
    pool: list[Candidate],
    lar: str | None,
    excluded: frozenset[str],
    busy: frozenset[str],
    skilled: frozenset[str] | None,
) -> None:
    eligible = None if skilled is None else skilled.__contains__
    chosen = choose_agent(pool, lar_agent_id=lar, excluded=excluded, busy=busy, eligible=eligible)
    open_ = [
        x for x in pool if x.available and x.user_id not in busy and (skilled is None or x.user_id in skilled)
    ]
    if not open_:
        assert chosen is None  # nobody available, or only agents already in the session
        return
    assert chosen in {x.user_id for x in open_}  # never stranded while anybody not busy is available
    fresh = [x for x in open_ if x.user_id not in excluded]
    if fresh:
        assert chosen not in excluded  # the excluded only when nobody else is available
    if lar is not None and lar in {x.user_id for x in (fresh or open_)}:
        assert chosen == lar  # saveLAR wins among those allowed


# --- RONA and presence ------------------------------------------------------------------------------


def _agent(uid: str, state: ChannelState, since: int = 0) -> AgentState:
    return AgentState(uid, state, None, since, since)


def test_absent_agents_counts_the_grace_from_the_latest_sign_of_life() -> None:
    agents = [
        _agent("ready-seen-long-ago", ChannelState.READY, since=0),
        _agent("ready-seen-lately", ChannelState.READY, since=0),
        _agent("ready-just-now", ChannelState.READY, since=95_000),
        _agent("not-ready-idle", ChannelState.NOT_READY, since=0),
        _agent("not-ready-holding", ChannelState.NOT_READY, since=0),
        _agent("logged-out-holding", ChannelState.LOGGED_OUT, since=50_000),
    ]
    seen = {"ready-seen-long-ago": 60_000, "ready-seen-lately": 80_000}
    loads = {"not-ready-holding": 1, "logged-out-holding": 2}
    gone = absent_agents(agents, seen, loads, now_ms=100_000, grace_ms=30_000, watching_since_ms=0)
    assert gone == ["logged-out-holding", "not-ready-holding", "ready-seen-long-ago"]
    # a router that took over lately gives everybody the whole grace
    assert absent_agents(agents, seen, loads, now_ms=100_000, grace_ms=30_000, watching_since_ms=80_000) == []
    # 0: the rule is off
    assert absent_agents(agents, {}, loads, now_ms=10**9, grace_ms=0, watching_since_ms=0) == []


def test_the_system_not_ready_leaves_an_agent_not_ready_or_logged_out_as_they_are() -> None:
    ready = _agent("a", ChannelState.READY)
    assert set_not_ready_by_system(ready, 5, NOT_RESPONDING_REASON) == AgentState(
        "a", ChannelState.NOT_READY, NOT_RESPONDING_REASON, 5, 0
    )
    mine = AgentState("a", ChannelState.NOT_READY, "Lunch", 1, 0)
    assert set_not_ready_by_system(mine, 5, ABSENT_REASON) is mine
    out = _agent("a", ChannelState.LOGGED_OUT)
    assert set_not_ready_by_system(out, 5, ABSENT_REASON) is out


def test_rona_applies_to_the_routers_offers_only() -> None:
    from smsdesk.domain.operations import Operation as Op
    from smsdesk.domain.system import Offer
    from tests.domain.helpers import Driver

    d = Driver()
    d.open()
    d.do(Offer("alice", "Alice"))
    assert routed_offer(d.s, "alice")  # the session's first offer
    assert not routed_offer(d.s, "nobody")
    d.op("alice", Op.ACCEPT, {"nickname": "Alice"})
    assert not routed_offer(d.s, "alice")  # Chatting: nothing to lapse
    d.op("alice", Op.INVITE, {"targetUri": "http://h/api/v2/queues/more"})
    d.do(Offer("bob", "Bob"))
    assert routed_offer(d.s, "bob")  # an invitation to a queue, offered by the router
    d.op("bob", Op.REJECT)
    d2 = Driver()
    d2.open()
    d2.offer_accept("alice")
    d2.op("alice", Op.INVITE, {"targetUri": f"{d2.ctx.base_uri}/api/v2/users/carol"})
    assert d2.s.for_user("carol") is not None
    assert not routed_offer(d2.s, "carol")  # an agent named by another agent: no RONA


# --- queues, skills, priorities, overflow ------------------------------------------------------------


def test_qualified_needs_every_skill_at_the_level_asked() -> None:
    assert qualified({}, {})
    assert qualified({"billing": 3}, {"billing": 3})
    assert qualified({"billing": 5, "spanish": 1}, {"billing": 3, "spanish": 0})
    assert not qualified({"billing": 2}, {"billing": 3})
    assert not qualified({"billing": 9}, {"billing": 3, "spanish": 0})  # level 0 still needs the skill


def test_skills_filter_the_choice_and_longest_idle_still_wins_among_the_qualified() -> None:
    skills = {"a": {"billing": 1}, "b": {"billing": 5}, "c": {"billing": 5}}
    pool = [c("a", 1), c("b", 3), c("c", 2)]

    def billing(level: int) -> Callable[[str], bool]:
        return lambda uid: qualified(skills.get(uid, {}), {"billing": level})

    assert choose_agent(pool, eligible=billing(3)) == "c"
    assert choose_agent(pool, eligible=billing(3), lar_agent_id="b") == "b"  # saveLAR still wins
    assert choose_agent(pool, eligible=billing(3), lar_agent_id="a") == "c"  # ... among the qualified
    assert choose_agent(pool, eligible=billing(9)) is None
    assert choose_agent(pool, eligible=billing(3), excluded={"b", "c"}) == "c"  # never stranded


def test_higher_priority_first_then_the_longest_waiting() -> None:
    waiting = [("low-old", 0, 100), ("high-new", 5, 300), ("high-old", 5, 200), ("low-new", 0, 400)]
    order = sorted(waiting, key=lambda w: serving_order(w[1], w[2]))
    assert [w[0] for w in order] == ["high-old", "high-new", "low-old", "low-new"]


def test_overflow_is_due_once_the_wait_reaches_the_limit() -> None:
    assert not overflow_due(1_000, 120_999, 120)
    assert overflow_due(1_000, 121_000, 120)
    assert not overflow_due(0, 10**12, None)


@pytest.mark.parametrize("phase", ["queued", "offered", "active", "queue-invitation", "closed"])
def test_overflow_moves_only_a_session_waiting_for_its_first_agent(phase: str) -> None:
    from smsdesk.domain.errors import InvalidState
    from smsdesk.domain.operations import Operation as Op
    from smsdesk.domain.sessions import Phase
    from smsdesk.domain.system import Offer, Overflow
    from tests.domain.helpers import Driver

    d = Driver()
    d.open(queue="billing")
    if phase == "offered":
        d.do(Offer("alice", "Alice"))
    elif phase in ("active", "queue-invitation", "closed"):
        d.offer_accept("alice")
        if phase == "queue-invitation":
            d.op("alice", Op.INVITE, {"targetUri": "http://h/api/v2/queues/more"})
        elif phase == "closed":
            d.op("alice", Op.COMPLETE)
    before = d.s
    if phase != "queued":
        with pytest.raises(InvalidState):
            d.do(Overflow("default"))
        assert d.s is before
        return
    d.do(Offer("alice", "Alice"))
    d.do(WithdrawOffer("alice"))  # alice let it lapse: excluded in billing
    out = d.do(Overflow("default"))
    assert d.s.phase is Phase.QUEUED and d.s.queue == "default"
    assert d.s.user_data == {"OverflowedFrom": "billing", "Queue": "default"}
    assert d.s.excluded == ()  # a new queue, a new round
    assert out.route is not None and out.route.queue == "default"
    d.do(Overflow("last"))
    assert d.s.user_data == {"OverflowedFrom": "billing", "Queue": "last"}  # where it waited first
    with pytest.raises(InvalidState):
        d.do(Overflow("last"))


def test_an_unknown_queue_is_refused_when_the_queues_are_known() -> None:
    from dataclasses import replace

    from smsdesk.domain.errors import Validation
    from smsdesk.domain.operations import Operation as Op
    from tests.domain.helpers import Driver

    d = Driver()
    d.ctx = replace(d.ctx, queues=frozenset({"default", "billing"}))
    d.open(queue="default")
    d.offer_accept("alice")
    for op, params in (
        (Op.TRANSFER, {"queueName": "nope"}),
        (Op.COMPLETE, {"queueName": "nope"}),
        (Op.INVITE, {"targetUri": "http://h/api/v2/queues/nope"}),
        (Op.CONSULT, {"targetUri": "http://h/api/v2/queues/nope"}),
    ):
        with pytest.raises(Validation, match="Unknown queue 'nope'; the queues are: billing, default"):
            d.op("alice", op, params)
    d.op("alice", Op.TRANSFER, {"queueName": "billing"})
    assert d.s.queue == "billing"


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.builds(
            AgentState,
            user_id=st.sampled_from(_IDS),
            state=st.sampled_from(list(ChannelState)),
            reason=st.none(),
            since_ms=st.integers(0, 100_000),
            idle_since_ms=st.just(0),
        ),
        unique_by=lambda a: a.user_id,
    ),
    st.dictionaries(st.sampled_from(_IDS), st.integers(0, 100_000)),
    st.dictionaries(st.sampled_from(_IDS), st.integers(0, 3)),
    st.integers(0, 200_000),
    st.integers(0, 60_000),
    st.integers(0, 100_000),
)
def test_absence_properties(
    agents: list[AgentState],
    seen: dict[str, int],
    loads: dict[str, int],
    now: int,
    grace: int,
    watching: int,
) -> None:
    gone = absent_agents(agents, seen, loads, now_ms=now, grace_ms=grace, watching_since_ms=watching)
    assert gone == sorted(set(gone))
    by_id = {a.user_id: a for a in agents}
    for uid in gone:
        a = by_id[uid]
        assert grace > 0
        assert a.state is ChannelState.READY or loads.get(uid, 0) > 0  # only those with something to lose
        assert max(seen.get(uid, 0), a.since_ms, watching) + grace <= now  # absent for the whole grace
    for a in agents:  # and nobody else is left out
        concerned = a.state is ChannelState.READY or loads.get(a.user_id, 0) > 0
        if grace > 0 and concerned and max(seen.get(a.user_id, 0), a.since_ms, watching) + grace <= now:
            assert a.user_id in gone
    # a later sighting never makes anybody more absent
    later = {u: t + 1_000 for u, t in seen.items()}
    again = absent_agents(agents, later, loads, now_ms=now, grace_ms=grace, watching_since_ms=watching)
    assert set(again) <= set(gone)

"""The router's per-pass candidate pool must choose exactly as the pure policy ``choose_agent`` does."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from smsdesk.actions.routing import CandidatePool
from smsdesk.domain.routing import Candidate, choose_agent

_IDS = [f"a{i}" for i in range(8)]

candidates_st = st.lists(
    st.builds(
        Candidate,
        user_id=st.sampled_from(_IDS),
        ready=st.booleans(),
        load=st.integers(0, 3),
        capacity=st.integers(0, 3),
        idle_since_ms=st.integers(0, 5),
    ),
    unique_by=lambda c: c.user_id,
)
session_st = st.tuples(
    st.none() | st.sampled_from(_IDS),
    st.frozensets(st.sampled_from(_IDS), max_size=4),
    st.frozensets(st.sampled_from(_IDS), max_size=3),
    st.none() | st.frozensets(st.sampled_from(_IDS)),
)


@settings(max_examples=300, deadline=None)
@given(candidates_st, st.lists(session_st, max_size=12))
def test_pool_agrees_with_choose_agent_across_a_pass(
    candidates: list[Candidate],
    sessions: list[tuple[str | None, frozenset[str], frozenset[str], frozenset[str] | None]],
) -> None:
    pool = CandidatePool.of(candidates)
    current = {c.user_id: c for c in candidates}
    for lar, excluded, busy, skilled in sessions:
        ok = None if skilled is None else skilled.__contains__
        expected = choose_agent(current.values(), lar_agent_id=lar, excluded=excluded, busy=busy, eligible=ok)
        assert pool.choose(lar_agent_id=lar, excluded=excluded, busy=busy, eligible=ok) == expected
        if expected is not None:
            c = current[expected]
            current[expected] = Candidate(c.user_id, c.ready, c.load + 1, c.capacity, c.idle_since_ms)
            pool.offered(expected)
    assert len(pool) == sum(1 for c in current.values() if c.available)


def test_a_full_agent_is_skipped_and_the_next_idlest_chosen() -> None:
    pool = CandidatePool.of([Candidate("a", True, 0, 1, 1), Candidate("b", True, 0, 2, 2)])
    assert pool.choose() == "a"
    pool.offered("a")
    assert pool.choose() == "b"
    assert pool.choose(excluded={"b"}) == "b"  # nobody else: the excluded agent after all
    assert pool.choose(busy={"b"}) is None
    assert pool.choose(lar_agent_id="a") == "b"  # "a" is full now
    pool.offered("b")
    pool.offered("b")
    assert pool.choose() is None and len(pool) == 0

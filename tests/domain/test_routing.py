from __future__ import annotations

from smsdesk.domain.routing import Candidate, choose_agent


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

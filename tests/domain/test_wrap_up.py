"""Wrap-up (after-call work) as a pure rule of the agent's channel state (``smsdesk/domain/agents.py``)."""

from __future__ import annotations

import pytest

from smsdesk.domain import agents as ag
from smsdesk.domain.agents import AgentState, ChannelState
from smsdesk.domain.errors import InvalidState

T0 = 1_700_000_000_000


def ready() -> AgentState:
    return ag.set_ready(AgentState("u1", ChannelState.NOT_READY), T0)


def test_a_ready_agent_wraps_up_not_ready_after_call_work_until_the_timer() -> None:
    a = ag.start_wrap_up(ready(), T0 + 5000, "S1", 30)
    assert a.state is ChannelState.NOT_READY and a.wrapping_up
    assert (a.wrap_session_id, a.wrap_until_ms, a.since_ms) == ("S1", T0 + 35_000, T0 + 5000)
    view = ag.channel_view(a)["userState"]
    assert view["state"] == "NotReady" and view["workMode"] == "AfterCallWork"
    assert view["wrapUp"] == {"smssessionId": "S1", "sinceSeconds": T0 + 5000, "endsSeconds": T0 + 35_000}
    assert not ag.wrap_up_due(a, T0 + 34_999, disposition_set=False, required=False)
    assert ag.wrap_up_due(a, T0 + 35_000, disposition_set=False, required=False)


def test_no_wrap_up_when_off_or_when_the_agent_was_not_ready() -> None:
    assert ag.start_wrap_up(ready(), T0, "S1", 0) == ready()
    on_break = ag.set_not_ready(ready(), T0, "Lunch")
    assert ag.start_wrap_up(on_break, T0 + 1, "S1", 30) == on_break
    assert ag.start_wrap_up(AgentState("u1"), T0, "S1", 30).state is ChannelState.LOGGED_OUT


def test_a_second_session_done_during_wrap_up_moves_it_on_and_keeps_its_start() -> None:
    a = ag.start_wrap_up(ready(), T0, "S1", 30)
    b = ag.start_wrap_up(a, T0 + 10_000, "S2", 30)
    assert (b.wrap_session_id, b.since_ms, b.wrap_until_ms) == ("S2", T0, T0 + 40_000)


def test_choosing_a_state_ends_wrap_up() -> None:
    a = ag.start_wrap_up(ready(), T0, "S1", 30)
    r = ag.set_ready(a, T0 + 1000)
    assert r.state is ChannelState.READY and not r.wrapping_up and r.wrap_session_id is None
    assert "workMode" not in ag.channel_view(r)["userState"]
    n = ag.set_not_ready(a, T0 + 1000, "Lunch")
    assert n.state is ChannelState.NOT_READY and not n.wrapping_up and n.reason == "Lunch"
    assert not ag.end_contact_center_session(a, T0 + 1).wrapping_up


def test_a_required_disposition_keeps_the_agent_in_wrap_up() -> None:
    a = ag.start_wrap_up(ready(), T0, "S1", 30)
    with pytest.raises(InvalidState, match="disposition"):
        ag.leave_wrap_up(a, disposition_set=False, required=True)
    ag.leave_wrap_up(a, disposition_set=True, required=True)
    ag.leave_wrap_up(a, disposition_set=False, required=False)
    assert not ag.wrap_up_due(a, T0 + 60_000, disposition_set=False, required=True)
    assert ag.wrap_up_due(a, T0 + 60_000, disposition_set=True, required=True)

"""Monitoring subscriptions: the GWS Monitor page, sentence by sentence (see docs/supervision.md)."""

from __future__ import annotations

import pytest

from smsdesk.domain.errors import InvalidState, MissingParameter, Validation
from smsdesk.domain.operations import Operation as Op
from smsdesk.domain.participants import SupervisionMode as M
from smsdesk.domain.participants import UserState
from smsdesk.domain.supervision import (
    MonitoringSubscription,
    Scope,
    cancel,
    intrude_mode,
    parse_subscription,
    plan_joins,
    subscribe,
)
from tests.domain.helpers import BASE, Driver


def sub(sup: str, agent: str = "alice", mode: M = M.MONITOR, scope: Scope = Scope.ALL_CHATS, at: int = 0):  # type: ignore[no-untyped-def]
    return MonitoringSubscription(sup, agent, mode, scope, sup.title(), at)


def accepted(agent: str = "alice") -> Driver:
    d = Driver()
    d.open()
    d.offer_accept(agent)
    return d


def test_parse_defaults_to_all_chats_and_the_username() -> None:
    s = parse_subscription(
        {"operationName": "Monitor"}, supervisor_id="s", agent_id="a", default_nickname="sv", now_ms=5
    )
    assert s == MonitoringSubscription("s", "a", M.MONITOR, Scope.ALL_CHATS, "sv", 5)
    s = parse_subscription(
        {"operationName": "bargein", "supervisorMonitoringMode": "nextchat", "nickname": "Boss"},
        supervisor_id="s",
        agent_id="a",
        default_nickname="sv",
        now_ms=5,
    )
    assert (s.mode, s.scope, s.nickname) == (M.BARGE_IN, Scope.NEXT_CHAT, "Boss")


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({}, MissingParameter),
        ({"operationName": "Spy"}, Validation),
        ({"operationName": "Coach", "supervisorMonitoringMode": "Sometimes"}, Validation),
        ({"operationName": "Coach", "supervisorMonitoringMode": 1}, Validation),
    ],
)
def test_parse_rejects_bad_bodies(params: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_subscription(params, supervisor_id="s", agent_id="a", default_nickname="sv", now_ms=0)


def test_cannot_monitor_oneself() -> None:
    with pytest.raises(InvalidState):  # a well-formed request for what cannot be (HTTP 409, statusCode 2)
        parse_subscription(
            {"operationName": "Coach"}, supervisor_id="s", agent_id="s", default_nickname="", now_ms=0
        )


def test_subscribe_replaces_and_cancel_requires_one() -> None:
    subs = subscribe((), sub("s1"))
    subs = subscribe(subs, sub("s1", mode=M.COACH))
    subs = subscribe(subs, sub("s2"))
    assert [(s.supervisor_id, s.mode) for s in subs] == [("s1", M.COACH), ("s2", M.MONITOR)]
    assert cancel(subs, supervisor_id="s1", agent_id="alice") == (subs[1],)
    with pytest.raises(InvalidState):
        cancel(subs, supervisor_id="s3", agent_id="alice")


def test_json_round_trip() -> None:
    s = sub("s1", scope=Scope.NEXT_CHAT, at=7)
    assert MonitoringSubscription.from_json(s.to_json()) == s
    with pytest.raises(Validation):
        MonitoringSubscription.from_json({**s.to_json(), "scope": "Forever"})


def test_joins_on_next_accept_several_supervisors_next_chat_ends() -> None:
    d = accepted()
    subs = (sub("s1", at=2), sub("s2", mode=M.COACH, scope=Scope.NEXT_CHAT, at=1), sub("s3", agent="bob"))
    plan = plan_joins(subs, agent_id="alice", session=d.s, transcript=d.transcript)
    assert [(j.supervisor_id, j.mode) for j in plan.joins] == [("s2", M.COACH), ("s1", M.MONITOR)]
    assert plan.ended == (subs[1],) and plan.joins[0].transcript == tuple(d.transcript)
    for j in plan.joins:
        d.do(j)
    # already present: not joined twice (e.g. the same supervisor monitors both conference agents)
    assert plan_joins(subs, agent_id="alice", session=d.s).joins == ()


def test_a_session_in_progress_is_never_joined_by_monitor() -> None:
    d = Driver()
    d.open()
    d.do(__import__("smsdesk.domain.system", fromlist=["Offer"]).Offer("alice", "Alice"))
    with pytest.raises(InvalidState):
        plan_joins((sub("s1"),), agent_id="alice", session=d.s)


def test_supervision_continues_while_another_agent_remains_then_revoked() -> None:
    d = accepted()
    d.join("s1", M.MONITOR)
    d.op("alice", Op.INVITE, {"targetUri": f"{BASE}/api/v2/users/bob"})
    d.op("bob", Op.ACCEPT)
    d.op("alice", Op.LEAVE)
    assert d.s.for_user("s1").state is UserState.CHATTING  # type: ignore[union-attr]
    out = d.op("bob", Op.COMPLETE)
    assert [(n.user_id, n.data["smssession"]["state"]) for n in out.notifications] == [
        ("bob", "Completed"),
        ("s1", "Revoked"),
    ]


def test_intrude_mode() -> None:
    subs = (sub("s1", mode=M.COACH),)
    assert intrude_mode("BargeIn", subs, supervisor_id="s1", agent_id="alice") is M.BARGE_IN
    assert intrude_mode(None, subs, supervisor_id="s1", agent_id="alice") is M.COACH
    with pytest.raises(MissingParameter):
        intrude_mode(None, subs, supervisor_id="s2", agent_id="alice")
    with pytest.raises(Validation):
        intrude_mode("Loud", subs, supervisor_id="s1", agent_id="alice")


def test_accept_and_joins_merge_into_one_outcome() -> None:
    from smsdesk.domain.system import Offer
    from smsdesk.domain.transitions import UserOperation, apply

    d = Driver()
    d.open()
    d.do(Offer("alice", "Alice"))
    out = apply(d.s, UserOperation("alice", Op.ACCEPT, {}, tuple(d.transcript)), now_ms=d.now, ctx=d.ctx)
    assert out.accepted_by == "alice"
    plan = plan_joins((sub("s1"),), agent_id="alice", session=out.session, transcript=out.messages)
    merged = out.then(apply(out.session, plan.joins[0], now_ms=d.now, ctx=d.ctx))
    assert [m["index"] for m in merged.messages] == [3, 4] and merged.accepted_by == "alice"
    assert [n.user_id for n in merged.notifications] == ["alice"] * 3 + ["s1"] * 3
    assert merged.session.for_user("s1") is not None and merged.busied == ()

"""Every (caller seat x per-user state) x operation, generated from the tables in capabilities.py.

For each pair the operation either succeeds and leaves the caller in the state ``NEXT_STATE`` names, or raises
``NoPermission`` (role missing) / ``InvalidState`` (not in capabilities) — nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from smsdesk.domain.capabilities import (
    LEAVE_DEPENDS,
    NEXT_STATE,
    capabilities,
    leave_state,
    permission_problem,
)
from smsdesk.domain.errors import InvalidState, NoPermission
from smsdesk.domain.operations import Operation as Op
from smsdesk.domain.participants import SupervisionMode as M
from smsdesk.domain.participants import UserState
from smsdesk.domain.system import Intrude, Offer, WithdrawOffer
from tests.domain.helpers import BASE, Driver

ZED = f"{BASE}/api/v2/users/zed"


def _active(owner: str = "a") -> Driver:
    d = Driver()
    d.open()
    d.offer_accept(owner)
    return d


def _invited_owner() -> Driver:
    d = Driver()
    d.open()
    d.do(Offer("x", "X"))
    return d


def _with(kind: Op, accept: bool) -> Callable[[], Driver]:
    def build() -> Driver:
        d = _active()
        d.op("a", kind, {"targetUri": f"{BASE}/api/v2/users/x"})
        if accept:
            d.op("x", Op.ACCEPT)
        return d

    return build


def _supervisor(mode: M, accept: bool = True) -> Callable[[], Driver]:
    def build() -> Driver:
        d = _active()
        d.do(Intrude("x", "X", mode))
        if accept:
            d.op("x", Op.ACCEPT)
        return d

    return build


def _then(build: Callable[[], Driver], *steps: tuple[str, Op, dict[str, Any]]) -> Callable[[], Driver]:
    def run() -> Driver:
        d = build()
        for user, op, params in steps:
            d.op(user, op, params)
        return d

    return run


def _owner_consulting() -> Driver:
    d = _then(_invited_owner, ("x", Op.ACCEPT, {}))()
    d.op("x", Op.CONSULT, {"targetUri": f"{BASE}/api/v2/users/c"})
    return d


def _owner_pending(kind: Op, target: str = f"{BASE}/api/v2/users/b") -> Callable[[], Driver]:
    def build() -> Driver:
        d = _then(_invited_owner, ("x", Op.ACCEPT, {}))()
        d.op("x", kind, {"targetUri": target})
        return d

    return build


def _owner_in_conference() -> Driver:
    d = _then(_invited_owner, ("x", Op.ACCEPT, {}))()
    d.op("x", Op.INVITE, {"targetUri": f"{BASE}/api/v2/users/b"})
    d.op("b", Op.ACCEPT)
    return d


def _revoked_owner() -> Driver:
    d = _invited_owner()
    d.do(WithdrawOffer("x"))
    return d


_SOLE = _then(_invited_owner, ("x", Op.ACCEPT, {}))

# seat/state -> how to get there; "x" is always the caller.
SCENARIOS: dict[str, Callable[[], Driver]] = {
    "owner/Invited": _invited_owner,
    "owner-sole/Chatting": _SOLE,
    "owner-consulting/Chatting": _owner_consulting,
    "owner-in-conference/Chatting": _owner_in_conference,
    "owner-inviting/Chatting": _owner_pending(Op.INVITE),
    "owner-inviting-queue/Chatting": _owner_pending(Op.INVITE, f"{BASE}/api/v2/queues/q2"),
    "owner-transferring/Chatting": _owner_pending(Op.TRANSFER),
    "conference-while-owner-invites/Chatting": _then(
        _with(Op.INVITE, accept=True), ("a", Op.CONSULT, {"targetUri": f"{BASE}/api/v2/users/c"})
    ),
    "owner/LeftChat": _then(_SOLE, ("x", Op.LEAVE, {})),
    "owner/Completed": _then(_SOLE, ("x", Op.COMPLETE, {})),
    "owner/Revoked": _revoked_owner,
    "conference/Invited": _with(Op.INVITE, accept=False),
    "conference/Chatting": _with(Op.INVITE, accept=True),
    "conference/Completed": _then(_with(Op.INVITE, accept=True), ("x", Op.LEAVE, {})),
    "conference/Revoked": _then(
        _with(Op.INVITE, accept=True), ("a", Op.REMOVE_PARTICIPANT, {"targetUri": f"{BASE}/api/v2/users/x"})
    ),
    "consultant/Invited": _with(Op.CONSULT, accept=False),
    "consultant/Chatting": _with(Op.CONSULT, accept=True),
    "consultant/Completed": _then(_with(Op.CONSULT, accept=True), ("x", Op.LEAVE, {})),
    "consultant/Revoked": _then(_with(Op.CONSULT, accept=False), ("a", Op.CANCEL_CONSULT, {})),
    **{f"supervisor-{m.value}/Invited": _supervisor(m, accept=False) for m in M},
    **{f"supervisor-{m.value}/Chatting": _supervisor(m) for m in M},
    **{f"supervisor-{m.value}/Completed": _then(_supervisor(m), ("x", Op.LEAVE, {})) for m in M},
    **{f"supervisor-{m.value}/Revoked": _then(_supervisor(m), ("a", Op.COMPLETE, {})) for m in M},
}


def _params(op: Op, d: Driver) -> dict[str, Any]:
    other = next(
        (p.user_id for p in d.s.participants if p.is_agent and p.present and p.user_id != "x"), "nobody"
    )
    table: dict[Op, dict[str, Any]] = {
        Op.ACCEPT: {"nickname": "Xavier", "saveLAR": True},
        Op.SEND_MESSAGE: {"text": "hello"},
        Op.SEND_TO_AGENTS: {"text": "psst"},
        Op.SEND_URL: {"url": "https://example.com/a"},
        Op.SEND_CUSTOM_NOTICE: {"noticeText": "notice"},
        Op.SEND_CUSTOM_NOTICE_TO_AGENTS: {"noticeText": "notice"},
        Op.ATTACH_USER_DATA: {"userData": {"k": "v"}},
        Op.UPDATE_USER_DATA: {"userData": {"k": 2}},
        Op.DELETE_USER_DATA: {"keys": ["k"]},
        Op.SET_DISPOSITION: {"disposition": "Resolved"},
        Op.TRANSFER: {"targetUri": ZED},
        Op.INVITE: {"targetUri": ZED},
        Op.CONSULT: {"targetPath": "/users/zed"},
        Op.REMOVE_PARTICIPANT: {"targetUri": f"{BASE}/api/v2/users/{other}"},
    }
    return table.get(op, {})


def test_every_state_of_the_machine_is_reached() -> None:
    reached = {name.split("/")[1] for name in SCENARIOS}
    assert reached == {s.value for s in UserState}


@pytest.mark.parametrize("op", list(Op), ids=lambda op: op.value)
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_transition_table(scenario: str, op: Op) -> None:
    d = SCENARIOS[scenario]()
    me = d.s.for_user("x")
    assert me is not None and me.state.value == scenario.split("/")[1]
    caps = capabilities(d.s, me)
    if permission_problem(d.s, me, op) is not None:
        with pytest.raises(NoPermission):
            d.op("x", op, _params(op, d))
        return
    if op not in caps:
        with pytest.raises(InvalidState):
            d.op("x", op, _params(op, d))
        return
    expected = NEXT_STATE[me.state].get(op, me.state)
    if expected == LEAVE_DEPENDS:
        expected = leave_state(d.s, me)
    out = d.op("x", op, _params(op, d))
    after = d.s.for_user("x")
    assert after is not None and after.state is expected
    # spec §5: the response and every notification the request causes its caller quote one referenceId
    ref = out.response["referenceId"]
    assert out.reference == ("x", ref)
    for n in out.notifications:
        if n.data.get("notificationType") == "Error":
            continue  # quotes the request that failed (an earlier one)
        assert n.data.get("referenceId") == (ref if n.user_id == "x" else None), (n.user_id, n.data)


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_capabilities_follow_the_spec_lists(scenario: str) -> None:
    d = SCENARIOS[scenario]()
    me = d.s.for_user("x")
    assert me is not None
    caps = set(capabilities(d.s, me))
    if me.state is UserState.INVITED:
        assert caps == {Op.ACCEPT, Op.REJECT}
    elif me.terminal:
        assert caps == set()
    elif me.state is UserState.LEFT_CHAT:
        assert {Op.TRANSFER, Op.COMPLETE, Op.LEAVE, Op.SET_IN_FOCUS} <= caps
        assert not caps & {Op.SEND_MESSAGE, Op.INVITE, Op.CONSULT}
    elif me.mode is M.MONITOR:
        assert not caps & {Op.SEND_MESSAGE, Op.SEND_TO_AGENTS, Op.SEND_URL, Op.SEND_START_TYPING}
        assert {Op.SWITCH_TO_COACH, Op.SWITCH_TO_BARGE_IN, Op.LEAVE} <= caps
    elif me.is_supervisor:
        assert {Op.SEND_MESSAGE, Op.SEND_TO_AGENTS, Op.LEAVE} <= caps
        assert Op.SWITCH_TO_MONITOR in caps and {"SwitchToCoach", "SwitchBargeIn"} & {
            c.capability for c in caps
        }
    else:
        assert {Op.SEND_MESSAGE, Op.LEAVE, Op.SET_DISPOSITION} <= caps


# spec §6.18: the inviter's first notification after Invite, before the invitee accepted (and §6.19: Consult
# is "identical in shape"); plus SendCustomNoticeToAgents, the fourth agents-only operation.
_PENDING_SAMPLE = {
    "Transfer", "Leave", "Invite", "Consult", "SetInFocus", "SetDisposition", "AttachUserData",
    "DeleteUserData", "UpdateUserData", "SendToAgents", "SendStartTypingToAgentsNotification",
    "SendStopTypingToAgentsNotification", "Complete", "SendMessage", "SendStartTypingNotification",
    "SendStopTypingNotification",
}  # fmt: skip


@pytest.mark.parametrize(
    "scenario",
    ["owner-consulting/Chatting", "owner-inviting/Chatting", "owner-inviting-queue/Chatting",
     "owner-transferring/Chatting"],
)  # fmt: skip
def test_pending_invitation_offers_the_spec_list_to_its_asker(scenario: str) -> None:
    d = SCENARIOS[scenario]()
    me = d.s.for_user("x")
    assert me is not None and d.s.pending is not None
    caps = {op.capability for op in capabilities(d.s, me)}
    assert _PENDING_SAMPLE <= caps
    assert Op.SEND_CUSTOM_NOTICE_TO_AGENTS.capability in caps
    # and they are allowed, not only listed: the agents-only operations reach the agents (visibility Agents)
    for op in (Op.SEND_TO_AGENTS, Op.SEND_START_TYPING_TO_AGENTS, Op.SEND_STOP_TYPING_TO_AGENTS):
        out = d.op("x", op, {"text": "note for the next agent"})
        assert [m["visibility"] for m in out.messages] == ["Agents"]
        assert not out.outbound_sms


def test_pending_invite_and_consult_agree() -> None:
    invite = SCENARIOS["owner-inviting/Chatting"]()
    consult = SCENARIOS["owner-consulting/Chatting"]()
    caps = [capabilities(d.s, d.s.for_user("x")) for d in (invite, consult)]  # type: ignore[arg-type]
    assert set(caps[0]) == set(caps[1]) - {Op.CANCEL_CONSULT}


def test_others_wait_while_an_invitation_is_pending() -> None:
    d = SCENARIOS["conference-while-owner-invites/Chatting"]()
    me = d.s.for_user("x")
    assert me is not None and d.s.pending is not None
    caps = capabilities(d.s, me)
    assert not {Op.TRANSFER, Op.INVITE, Op.CONSULT} & set(caps)
    with pytest.raises(InvalidState, match="still pending"):
        d.op("x", Op.INVITE, {"targetUri": ZED})


@pytest.mark.parametrize("kind", [Op.INVITE, Op.CONSULT, Op.TRANSFER])
def test_a_new_invitation_replaces_the_pending_one(kind: Op) -> None:
    d = SCENARIOS["owner-inviting/Chatting"]()
    first = d.s.pending
    assert first is not None
    out = d.op("x", kind, {"targetUri": ZED})
    b = d.s.for_user("b")
    assert b is not None and b.state is UserState.REVOKED
    pend = d.s.pending
    assert pend is not None and pend.target_user_id == "zed" and pend.kind.value == kind.value
    errors = [n.data for n in out.notifications if n.data.get("notificationType") == "Error"]
    assert [(n["errorMessage"], n["referenceId"]) for n in errors] == [
        (f"Request failed: Invite to b: replaced by {kind.value}", first.reference_id)
    ]
    assert [n.user_id for n in out.notifications if n.data.get("notificationType") == "Error"] == ["x"]

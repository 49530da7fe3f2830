"""Bad input gives a named error with a clear message, never a crash (and never a change)."""

from __future__ import annotations

from typing import Any

import pytest

from smsdesk.domain.errors import GwsError, InvalidState, MissingParameter, NoPermission, Validation
from smsdesk.domain.operations import Operation as Op
from smsdesk.domain.operations import parse_operation
from tests.domain.helpers import BASE, Driver


def active() -> Driver:
    d = Driver()
    d.open()
    d.offer_accept("alice")
    return d


@pytest.mark.parametrize(
    ("name", "op"),
    [
        ("accept", Op.ACCEPT),
        ("SendStopTypingToAgentNotification", Op.SEND_STOP_TYPING_TO_AGENTS),
        ("SendStopTypingToAgentsNotification", Op.SEND_STOP_TYPING_TO_AGENTS),
        ("SwitchBargeIn", Op.SWITCH_TO_BARGE_IN),
        ("SwitchToBargeIn", Op.SWITCH_TO_BARGE_IN),
        ("InFocus", Op.SET_IN_FOCUS),
        (" SetInFocus ", Op.SET_IN_FOCUS),
        ("SendURL", Op.SEND_URL),
        ("LeaveAndComplete", Op.LEAVE_AND_COMPLETE),
    ],
)
def test_parse_operation_accepts_every_documented_spelling(name: str, op: Op) -> None:
    assert parse_operation(name) is op


@pytest.mark.parametrize(
    ("name", "error"), [(None, MissingParameter), (3, Validation), ("Dance", Validation)]
)
def test_parse_operation_rejects_the_rest(name: object, error: type[GwsError]) -> None:
    with pytest.raises(error):
        parse_operation(name)


BAD: list[tuple[Op, dict[str, Any], type[GwsError]]] = [
    (Op.SEND_MESSAGE, {}, MissingParameter),
    (Op.SEND_MESSAGE, {"text": 5}, Validation),
    (Op.SEND_MESSAGE, {"text": "   "}, Validation),
    (Op.SEND_MESSAGE, {"text": "x" * 5000}, Validation),
    (Op.SEND_URL, {"url": "javascript:alert(1)"}, Validation),
    (Op.SEND_URL, {}, MissingParameter),
    (Op.SEND_CUSTOM_NOTICE, {"noticeText": None}, MissingParameter),
    (Op.ATTACH_USER_DATA, {}, MissingParameter),
    (Op.ATTACH_USER_DATA, {"userData": []}, Validation),
    (Op.ATTACH_USER_DATA, {"userData": {}}, Validation),
    (Op.ATTACH_USER_DATA, {"userData": {"": 1}}, Validation),
    (Op.UPDATE_USER_DATA, {"userData": {"k": True}}, Validation),
    (Op.UPDATE_USER_DATA, {"userData": {"k": {"nested": 1}}}, Validation),
    (Op.DELETE_USER_DATA, {"keys": "k"}, Validation),
    (Op.DELETE_USER_DATA, {"keys": []}, Validation),
    (Op.DELETE_USER_DATA, {"keys": [1]}, Validation),
    (Op.SET_DISPOSITION, {}, MissingParameter),
    (Op.ACCEPT, {}, InvalidState),
    (Op.SET_DISPOSITION, {"disposition": "x", "dispositionKey": 5}, Validation),
    (Op.INVITE, {}, MissingParameter),
    (Op.INVITE, {"targetUri": "http://h/api/v2/contacts/1"}, Validation),
    (Op.INVITE, {"targetUri": f"{BASE}/api/v2/users/alice"}, Validation),
    (Op.CONSULT, {"userUri": 7}, Validation),
    (Op.TRANSFER, {"queueName": ""}, Validation),
    (Op.TRANSFER, {"queueName": "q", "text": 1}, Validation),
    (Op.COMPLETE, {"saveLAR": "maybe"}, Validation),
    (Op.COMPLETE, {"queueName": 3}, Validation),
    (Op.REMOVE_PARTICIPANT, {"targetUri": f"{BASE}/api/v2/users/alice"}, InvalidState),
    (Op.SWITCH_TO_COACH, {}, NoPermission),
]


@pytest.mark.parametrize(
    ("op", "params", "error"), BAD, ids=[f"{op.value}-{i}" for i, (op, _, _) in enumerate(BAD)]
)
def test_bad_parameters(op: Op, params: dict[str, Any], error: type[GwsError]) -> None:
    d = active()
    before = d.s
    with pytest.raises(error) as info:
        d.op("alice", op, params)
    assert info.value.message and d.s is before


def test_remove_needs_another_agent_in_the_session() -> None:
    d = active()
    d.op("alice", Op.INVITE, {"targetUri": f"{BASE}/api/v2/users/bob"})
    with pytest.raises(Validation, match="not another agent"):
        d.op("alice", Op.REMOVE_PARTICIPANT, {"targetPath": "/users/carol"})


def test_a_stranger_has_no_permission() -> None:
    d = active()
    with pytest.raises(NoPermission, match="not a participant"):
        d.op("mallory", Op.SEND_MESSAGE, {"text": "hi"})


def test_only_the_consulting_agent_may_cancel_the_consult() -> None:
    d = active()
    d.op("alice", Op.INVITE, {"targetUri": f"{BASE}/api/v2/users/bob"})
    d.op("bob", Op.ACCEPT)
    d.op("bob", Op.CONSULT, {"targetUri": f"{BASE}/api/v2/users/carol"})
    with pytest.raises(NoPermission, match="started the consultation"):
        d.op("alice", Op.CANCEL_CONSULT)
    d.op("carol", Op.ACCEPT)
    with pytest.raises(InvalidState):
        d.op("bob", Op.CANCEL_CONSULT)


def test_second_invitation_by_someone_else_while_one_is_pending_is_refused() -> None:
    d = active()
    d.op("alice", Op.INVITE, {"targetUri": f"{BASE}/api/v2/users/bob"})
    d.op("bob", Op.ACCEPT)
    d.op("alice", Op.CONSULT, {"targetUri": f"{BASE}/api/v2/users/carol"})
    with pytest.raises(InvalidState, match="still pending"):
        d.op("bob", Op.INVITE, {"targetUri": f"{BASE}/api/v2/users/dave"})


def test_inviting_someone_already_there_is_refused() -> None:
    d = active()
    d.op("alice", Op.INVITE, {"targetUri": f"{BASE}/api/v2/users/bob"})
    d.op("bob", Op.ACCEPT)
    with pytest.raises(InvalidState, match="already in this session"):
        d.op("alice", Op.TRANSFER, {"targetUri": f"{BASE}/api/v2/users/bob"})


def test_monitor_cannot_transfer_with_text() -> None:
    from smsdesk.domain.participants import SupervisionMode

    d = active()
    d.join("sup", SupervisionMode.MONITOR)
    with pytest.raises(InvalidState, match="Monitor"):
        d.op("sup", Op.TRANSFER, {"queueName": "q", "text": "hi"})
    d.op("sup", Op.TRANSFER, {"queueName": "q"})
    assert d.s.phase.value == "Queued"

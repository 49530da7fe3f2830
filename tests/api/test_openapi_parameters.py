"""The parameters the description gives each operation are the ones the code reads: each operation runs, in a
state that allows it, on bodies that record every key read; what is read must be described, and what is
described must be read by one of the bodies (`smsdesk/api/schemas/bodies.py`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from smsdesk.actions import channels, supervision, users
from smsdesk.api.schemas import bodies
from smsdesk.api.schemas.bodies import SESSION_PARAMETERS
from smsdesk.domain.operations import Operation as Op
from smsdesk.domain.participants import SupervisionMode
from smsdesk.domain.system import Offer
from smsdesk.domain.transitions import UserOperation
from smsdesk.domain.users import Principal
from tests.api.conftest import Api
from tests.api.test_operations_kit import Desk
from tests.domain.helpers import Driver


class Reads(Mapping[str, Any]):
    """A request body that notes every key looked up."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = dict(data)
        self.read: set[str] = set()

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return self.data[key]

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self.read.add(key)
        return key in self.data

    def __iter__(self) -> Iterator[str]:
        self.read.add("*every key*")
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


USER = "/api/v2/users/bob"
BODIES: dict[Op, list[dict[str, Any]]] = {
    Op.ACCEPT: [{"nickname": "Al", "saveLAR": "true"}],
    Op.COMPLETE: [{"queueName": "billing", "saveLAR": True}],
    Op.SEND_MESSAGE: [{"text": "Hello"}],
    Op.SEND_URL: [{"url": "https://example.com/order"}],
    Op.SEND_START_TYPING: [{"text": "Hel"}],
    Op.SEND_STOP_TYPING: [{"text": "Hello"}],
    Op.SEND_TO_AGENTS: [{"text": "psst"}],
    Op.SEND_START_TYPING_TO_AGENTS: [{"text": "ps"}],
    Op.SEND_STOP_TYPING_TO_AGENTS: [{"text": "psst"}],
    Op.SEND_CUSTOM_NOTICE: [{"noticeText": "Hold on"}],
    Op.SEND_CUSTOM_NOTICE_TO_AGENTS: [{"noticeText": "VIP"}],
    Op.ATTACH_USER_DATA: [{"userData": {"Order": "42"}}],
    Op.UPDATE_USER_DATA: [{"userData": {"Order": 43}}],
    Op.DELETE_USER_DATA: [{"keys": ["Order"]}],
    Op.SET_DISPOSITION: [{"disposition": "Sale", "dispositionKey": "Outcome"}],
    Op.TRANSFER: [
        {"queueName": "billing", "text": "Passing you on"},
        {"targetUri": USER},
        {"targetPath": "/users/bob"},
        {"userUri": USER},
    ],
    Op.INVITE: [{"targetUri": USER}, {"targetPath": "/queues/billing"}, {"userUri": USER}],
    Op.CONSULT: [{"targetUri": USER}, {"targetPath": "/users/bob"}, {"userUri": "/queues/billing"}],
    Op.REMOVE_PARTICIPANT: [{"targetUri": USER}, {"targetPath": "/users/bob"}, {"userUri": USER}],
}


TO_AGENTS = (
    Op.SEND_TO_AGENTS,
    Op.SEND_START_TYPING_TO_AGENTS,
    Op.SEND_STOP_TYPING_TO_AGENTS,
    Op.SEND_CUSTOM_NOTICE_TO_AGENTS,
)


def _ready(op: Op) -> tuple[Driver, str]:
    """A session where `op` is among the actor's capabilities, and the actor."""
    d = Driver()
    d.open()
    if op in (Op.ACCEPT, Op.REJECT):
        d.do(Offer("alice", "Alice"))
        return d, "alice"
    d.offer_accept("alice")
    if op is Op.CANCEL_CONSULT:
        d.op("alice", Op.CONSULT, {"targetUri": USER}, target_nickname="Bob")
    elif op in (Op.REMOVE_PARTICIPANT, *TO_AGENTS):  # a conference
        d.op("alice", Op.INVITE, {"targetUri": USER}, target_nickname="Bob")
        d.op("bob", Op.ACCEPT)
    elif op in (Op.SWITCH_TO_MONITOR, Op.SWITCH_TO_COACH, Op.SWITCH_TO_BARGE_IN):
        d.join("sam", SupervisionMode.COACH if op is Op.SWITCH_TO_MONITOR else SupervisionMode.MONITOR)
        return d, "sam"
    return d, "alice"


def _described(op: Op) -> set[str]:
    model = SESSION_PARAMETERS[op]
    return {field.alias or name for name, field in model.model_fields.items()}


@pytest.mark.parametrize("op", list(Op), ids=lambda op: op.value)
def test_the_described_parameters_are_the_ones_read(op: Op) -> None:
    read: set[str] = set()
    for body in BODIES.get(op, [{}]):
        SESSION_PARAMETERS[op].model_validate(body)  # the body is one the description allows
        d, actor = _ready(op)
        params = Reads(body)
        d.do(UserOperation(actor, op, params, tuple(d.transcript), target_nickname="Bob"))
        read |= params.read
    assert read == _described(op)


# -- the bodies the actions read: users, channels, supervision --------------------------------------


def _fields(model: type[Any]) -> set[str]:
    return {field.alias or name for name, field in model.model_fields.items()}


async def _principal(api: Api, name: str) -> Principal:
    user = await api.rt.store.get_user_by_name(name)
    assert user is not None
    return Principal(user.id, user.user_name, user.roles, None)


async def test_create_user_reads_the_described_members(api: Api) -> None:
    body = Reads(
        {
            "userName": "newbie",
            "password": "pw1234",
            "roles": ["agent"],
            "firstName": "N",
            "lastName": "B",
            "nickname": "Nb",
            "capacity": 2,
        }
    )
    bodies.CreateUser.model_validate(body.data)
    await users.check_create_user(api.rt, await _principal(api, "admin"), body)  # type: ignore[arg-type]
    assert body.read == _fields(bodies.CreateUser)


async def test_channel_operations_read_the_described_members(api: Api) -> None:
    await api.post("/api/v2/me", {"operationName": "StartContactCenterSession"})
    body = Reads({"reason": None, "reasonCode": "Lunch"})
    await channels.check_set_channel_state(api.rt, await _principal(api, "agent1"), "sms", "NotReady", body)  # type: ignore[arg-type]
    assert body.read == _fields(bodies.ChannelStateParams)


async def test_supervision_operations_read_the_described_members(api: Api) -> None:
    d = await Desk.start(api)
    sup = await _principal(api, "supervisor1")
    agent = await api.user_id("agent1")
    monitor = Reads({"operationName": "Coach", "supervisorMonitoringMode": "NextChat", "nickname": "QA"})
    await supervision.check_subscribe(api.rt, sup, agent, "smssession", monitor)  # type: ignore[arg-type]
    assert monitor.read - {"operationName"} == _fields(bodies.MonitorParams)
    cancel = Reads({"operationName": "CancelSupervisorMonitoring"})
    await supervision.check_cancel_monitoring(api.rt, sup, agent, "smssession", cancel)  # type: ignore[arg-type]
    assert cancel.read - {"operationName"} == _fields(bodies.NoParams) == set()
    intrude = Reads({"operationName": "Intrude", "supervisorVisibilityMode": "BargeIn", "nickname": "QA"})
    await supervision.check_intrude(api.rt, sup, agent, d.sid, intrude)  # type: ignore[arg-type]
    assert intrude.read - {"operationName"} == _fields(bodies.IntrudeParams)

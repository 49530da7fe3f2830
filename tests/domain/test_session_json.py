"""The store keeps ``Session.to_json()``: it must read back exactly, and bad JSON must say what is wrong."""

from __future__ import annotations

import json
from typing import Any

import pytest

from smsdesk.domain.errors import Validation
from smsdesk.domain.operations import Operation as Op
from smsdesk.domain.participants import SupervisionMode as M
from smsdesk.domain.sessions import Session
from tests.domain.helpers import BASE, Driver


def rich() -> Session:
    d = Driver()
    d.open()
    d.offer_accept("alice")
    d.join("sup", M.COACH)
    d.op("alice", Op.ATTACH_USER_DATA, {"userData": {"a": 1, "b": "x", "c": 1.5}})
    d.op("alice", Op.CONSULT, {"targetUri": f"{BASE}/api/v2/users/bob"})
    return d.s


def test_round_trip_is_exact_through_json_text() -> None:
    s = rich()
    data = json.loads(json.dumps(s.to_json()))
    assert Session.from_json(data) == s and Session.from_json(data).to_json() == data


def _broken(change: Any) -> dict[str, Any]:
    data = rich().to_json()
    change(data)
    return data


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.pop("id"),
        lambda d: d.pop("nextIndex"),
        lambda d: d.pop("participants"),
        lambda d: d.update(larAgentId=5),
        lambda d: d.update(phase="Dancing"),
        lambda d: d.update(nextIndex="3"),
        lambda d: d.update(nextIndex=True),
        lambda d: d.update(participants=[]),
        lambda d: d.update(participants=[d["participants"][1]]),
        lambda d: d.update(participants=d["participants"] + [d["participants"][1]]),
        lambda d: d["participants"][1].update(userId=None),
        lambda d: d["participants"][2].update(mode=None),
        lambda d: d["participants"][1].update(state=3),
        lambda d: d.update(excluded=[1]),
        lambda d: d.update(excluded="a"),
        lambda d: d.update(userData=[]),
        lambda d: d["pending"].update(targetQueue="q"),
        lambda d: d.update(pending=5),
    ],
)
def test_bad_json_is_a_validation_error(change: Any) -> None:
    with pytest.raises(Validation):
        Session.from_json(_broken(change))


def test_not_an_object() -> None:
    with pytest.raises(Validation, match="JSON object"):
        Session.from_json([])


def test_customer_nickname() -> None:
    assert rich().customer_nickname == "PersonP"

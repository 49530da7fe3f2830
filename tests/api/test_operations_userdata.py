"""Spec §6.14 to §6.17 and SetInFocus through the HTTP API: AttachUserData, UpdateUserData, DeleteUserData,
SetDisposition (with and without ``dispositionKey``), SetInFocus / InFocus. Every user-data operation sends
``PropertiesUpdated`` with the whole userData map to every holder, the caller first (docs/sessions.md §12)."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api
from tests.api.test_operations_kit import BIZ, CONFERENCE, CUST, Desk, brief

INITIAL = {"CustomerNumber": CUST, "BusinessNumber": BIZ, "ContactId": CUST, "Queue": "default"}


async def _properties(d: Desk, *agents: str) -> dict[str, Any]:
    """Each agent got exactly one PropertiesUpdated; they agree; returns the userData."""
    seen = []
    for agent in agents:
        (ev,) = await d.seen(agent)
        assert brief(ev) == "PropertiesUpdated Chatting"
        # the caller's (the first agent's) quotes its request's referenceId, the others' nothing (spec §5)
        assert ev.get("referenceId") == (d.last_reference(agent) if agent == agents[0] else None)
        assert ev["smssession"]["capabilities"] == CONFERENCE
        seen.append(ev["smssession"]["userData"])
    assert all(s == seen[0] for s in seen)
    data: dict[str, Any] = seen[0]
    assert data == (await d.view(agents[0]))["userData"]
    return data


async def test_user_data_operations_notify_every_holder_with_the_whole_map(api: Api) -> None:
    d = await Desk.start(api)
    await d.conference("agent2")
    base = {k: v for k, v in (await d.view("agent1"))["userData"].items()}
    assert INITIAL.items() <= base.items() and base["InteractionId"] == d.sid

    await d.op("agent1", "AttachUserData", userData={"UserData1": "DATA1", "UserData2": 123456789})
    assert await _properties(d, "agent1", "agent2") == {**base, "UserData1": "DATA1", "UserData2": 123456789}

    await d.op("agent2", "UpdateUserData", userData={"UserData1": 987654321, "UserData2": "DATAUPDATE-@123"})
    data = await _properties(d, "agent2", "agent1")
    assert (data["UserData1"], data["UserData2"]) == (987654321, "DATAUPDATE-@123")

    await d.op("agent1", "DeleteUserData", keys=["UserData1", "NotThere"])
    data = await _properties(d, "agent1", "agent2")
    assert "UserData1" not in data and data["UserData2"] == "DATAUPDATE-@123"

    await d.op("agent1", "SetDisposition", dispositionKey="DispositionCode", disposition="IssueResolved")
    assert (await _properties(d, "agent1", "agent2"))["DispositionCode"] == "IssueResolved"
    await d.op("agent2", "SetDisposition", disposition="Escalated")  # the configured key
    assert (await _properties(d, "agent2", "agent1"))["DispositionCode"] == "Escalated"
    await d.op("agent1", "SetDisposition", dispositionKey="Outcome", disposition="Sale")
    data = await _properties(d, "agent1", "agent2")
    assert (data["Outcome"], data["DispositionCode"]) == ("Sale", "Escalated")
    await d.quiet("agent3", "supervisor1")
    assert await d.phone() == []


async def test_set_in_focus_answers_ok_and_notifies_nobody(api: Api) -> None:
    d = await Desk.start(api)
    assert await d.op("agent1", "SetInFocus") == {"statusCode": 0}
    assert await d.op("agent1", "InFocus") == {"statusCode": 0}  # the capability spelling of §4.4
    await d.quiet()


async def test_user_data_parameters_are_validated_and_change_nothing(api: Api) -> None:
    d = await Desk.start(api)
    before = await d.version()
    await d.op("agent1", "AttachUserData", 1)
    await d.op("agent1", "AttachUserData", 10, userData="nope")
    await d.op("agent1", "AttachUserData", 10, userData={})
    await d.op("agent1", "UpdateUserData", 10, userData={"k": [1, 2]})
    await d.op("agent1", "UpdateUserData", 10, userData={"k": True})
    await d.op("agent1", "DeleteUserData", 1)
    await d.op("agent1", "DeleteUserData", 10, keys=[])
    await d.op("agent1", "DeleteUserData", 10, keys="UserData1")
    await d.op("agent1", "SetDisposition", 1)
    await d.op("agent1", "SetDisposition", 10, disposition=7)
    assert await d.version() == before
    await d.quiet()

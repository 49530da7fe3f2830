"""Issue 23: what an audit of a running server against the spec's [DOC] statements found, item by item,
through the HTTP API (the CometD end of the delivery-status opt-in is in tests/interop/)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from smsdesk.clock import FakeClock
from tests.api.conftest import Api, node
from tests.api.test_operations_kit import Desk

# spec §6.18: the inviter's first notification after Invite, before the invitee accepted
SPEC_6_18 = {
    "Transfer", "Leave", "Invite", "Consult", "SetInFocus", "SetDisposition", "AttachUserData",
    "DeleteUserData", "UpdateUserData", "SendToAgents", "SendStartTypingToAgentsNotification",
    "SendStopTypingToAgentsNotification", "Complete", "SendMessage", "SendStartTypingNotification",
    "SendStopTypingNotification",
}  # fmt: skip
TO_AGENTS_OPS = ["SendToAgents", "SendStartTypingToAgentsNotification", "SendStopTypingToAgentsNotification"]


async def _pending(api: Api, kind: str) -> Desk:
    d = await Desk.start(api)
    await d.op("agent1", kind, targetUri=await d.user_uri("agent2"))
    return d


# -- items 1 and 2: a pending Invite gives its asker the conference's list, as a pending Consult does --------


async def test_item1_capabilities_while_an_invite_is_pending(api: Api) -> None:
    d = await _pending(api, "Invite")
    (parts,) = await d.seen("agent1")
    assert parts["notificationType"] == "ParticipantsUpdated"
    assert SPEC_6_18 <= set(parts["smssession"]["capabilities"])
    assert SPEC_6_18 <= set((await d.view("agent1"))["capabilities"])


async def test_item2_agents_only_operations_while_an_invite_or_consult_is_pending(api: Api) -> None:
    for kind in ("Invite", "Consult"):
        d = await _pending(api, kind)
        await d.settle()
        for op in TO_AGENTS_OPS:
            await d.op("agent1", op, text="for whoever joins")
        agents_only = [m for m in await d.transcript("agent1") if m["visibility"] == "Agents"]
        assert [m["type"] for m in agents_only] == ["Text", "TypingStarted", "TypingStopped"]
        await d.op("agent2", "Accept")  # the invitee reads them in its replay
        (log,) = [e for e in await d.seen("agent2") if e["messageType"] == "MessageLogUpdated"]
        assert "Text/Agents" in {f"{m['type']}/{m['visibility']}" for m in log["messages"]}
        assert await d.phone() == []  # nothing of it reached the customer
        await d.op("agent2", "Leave")
        await d.op("agent1", "Complete")


async def test_item2_pending_invite_and_consult_offer_the_same_list(api: Api) -> None:
    lists = []
    for kind in ("Invite", "Consult"):
        d = await _pending(api, kind)
        lists.append(set((await d.view("agent1"))["capabilities"]))
        await d.op("agent2", "Reject")
        await d.op("agent1", "Complete")
    assert lists[0] == lists[1] - {"CancelConsult"}


# -- item 6: InFocus and SetInFocus --------------------------------------------------------------------------


async def test_item6_set_in_focus_is_listed_and_both_spellings_are_accepted(api: Api) -> None:
    d = await Desk.start(api)
    caps = (await d.view("agent1"))["capabilities"]
    assert "SetInFocus" in caps and "InFocus" not in caps
    before = await d.version()
    for spelling in ("SetInFocus", "InFocus", "infocus"):
        body = await d.op("agent1", spelling)
        assert body["statusCode"] == 0
    assert await d.version() >= before
    await d.op("agent1", "Leave")  # LeftChat (spec §6.4 prints InFocus there): the same spelling, both work
    caps = (await d.view("agent1"))["capabilities"]
    assert "SetInFocus" in caps and "InFocus" not in caps
    await d.op("agent1", "InFocus")


# -- item 3: every operation's response and the notifications it causes its caller quote one referenceId -----


async def _answer(api: Api, user: str, sid: str, operation: str, **params: Any) -> int:
    r = await api.post(f"/api/v2/me/smssessions/{sid}", {"operationName": operation, **params}, user=user)
    body = r.json()
    assert body["statusCode"] == 0 and set(body) == {"statusCode", "referenceId"}, (operation, body)
    ref: int = body["referenceId"]
    return ref


async def _caused(api: Api, user: str, after: int) -> list[dict[str, Any]]:
    return [e for e in await api.events(user, after) if e["_channel"] == "/v2/me/smssessions"]


@pytest.mark.parametrize(
    ("operation", "params", "expected"),
    [
        ("Accept", {"nickname": "Alice"}, ["StatusChange", "ParticipantsUpdated", "NewMessages"]),
        ("Reject", {}, ["StatusChange"]),
        ("Leave", {}, ["StatusChange", "NewMessages"]),
        ("AttachUserData", {"userData": {"UserData1": "DATA1"}}, ["PropertiesUpdated"]),
        ("UpdateUserData", {"userData": {"UserData1": 987654321}}, ["PropertiesUpdated"]),
        ("DeleteUserData", {"keys": ["CustomerNumber"]}, ["PropertiesUpdated"]),
        ("SetDisposition", {"disposition": "IssueResolved"}, ["PropertiesUpdated"]),
        ("Complete", {}, ["StatusChange"]),
        ("SendMessage", {"text": "Hi"}, ["NewMessages"]),
        ("SendStartTypingNotification", {}, ["NewMessages"]),
        ("Consult", {"targetPath": "/queues/experts"}, ["ParticipantsUpdated"]),
        ("SetInFocus", {}, []),
    ],
)
async def test_item3_response_and_caused_notifications_carry_one_reference(
    api: Api, operation: str, params: dict[str, Any], expected: list[str]
) -> None:
    d = await Desk.start(api, accept=operation not in ("Accept", "Reject"))
    after = max([0, *(e["_id"] for e in await api.events("agent1"))])
    ref = await _answer(api, "agent1", d.sid, operation, **params)
    caused = await _caused(api, "agent1", after)
    assert [e["notificationType"] for e in caused] == expected
    assert [e["referenceId"] for e in caused] == [ref] * len(expected)


async def test_item3_others_notifications_do_not_quote_the_callers_reference(api: Api) -> None:
    d = await Desk.start(api)
    await d.conference("agent2")
    after = {u: max([0, *(e["_id"] for e in await api.events(u))]) for u in ("agent1", "agent2")}
    ref = await _answer(api, "agent1", d.sid, "AttachUserData", userData={"k": "v"})
    (theirs,) = await _caused(api, "agent2", after["agent2"])
    assert theirs["notificationType"] == "PropertiesUpdated" and "referenceId" not in theirs
    (mine,) = await _caused(api, "agent1", after["agent1"])
    assert mine["referenceId"] == ref


# -- item 4: unique and increasing per user, across sessions, processes and nodes ---------------------------


async def test_item4_references_grow_across_sessions_of_one_agent(api: Api) -> None:
    refs = []
    for n in range(3):
        d = await Desk.start(api, text=f"Hello {n}", accept=False)
        refs.append(await _answer(api, "agent1", d.sid, "Accept"))
        refs.append(await _answer(api, "agent1", d.sid, "Complete"))
    assert refs == sorted(set(refs)) and len(refs) == 6  # three sessions never answer 1 each
    r = await api.post("/api/v2/me/channels/sms", {"operationName": "NotReady"})
    assert r.json()["statusCode"] == 0
    other = await Desk.start(api, "agent2", text="Hello agent2", accept=False)
    assert await _answer(api, "agent2", other.sid, "Accept") == 1  # per user


async def test_item4_references_hold_across_nodes(tmp_path: Path, clock: FakeClock) -> None:
    """Two nodes (or worker processes) on one database, each with its own idea of agent1's next referenceId:
    the store numbers them, so agent1's requests through either are answered in one increasing series."""
    async with node(tmp_path, clock) as a, node(tmp_path, clock) as b:
        r = await a.post("/api/v2/me/channels/sms", {"operationName": "Ready"})
        assert r.json()["statusCode"] == 0
        await a.text("Hello")
        assert await a.route() == 1
        sid = (await a.get("/api/v2/me/smssessions")).json()["uris"][0].rsplit("/", 1)[1]
        refs = [await _answer(a, "agent1", sid, "Accept")]
        for i in range(6):
            via = (a, b, b, a, b, a)[i]
            refs.append(await _answer(via, "agent1", sid, "SendMessage", text=f"message {i}"))
        assert refs == list(range(1, 8))
        # the notifications each node wrote quote them too: one per request, in order
        quoted = [e["referenceId"] for e in await a.events("agent1") if "referenceId" in e]
        assert quoted == [1, 1, 1, *range(2, 8)]

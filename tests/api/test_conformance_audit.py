"""Issue 23: what an audit of a running server against the spec's [DOC] statements found, item by item,
through the HTTP API (the CometD end of the delivery-status opt-in is in tests/interop/)."""

from __future__ import annotations

from tests.api.conftest import Api
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

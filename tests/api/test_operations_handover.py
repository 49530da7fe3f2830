"""Spec §6.18 to §6.21 through the HTTP API: Transfer (targetUri / targetPath / queueName, optional text), Invite and
Consult (user and queue targets; the response carries ``referenceId``), CancelConsult and
RemoveParticipantFromConference, with the exact notifications of the caller, the target and the others."""

from __future__ import annotations

from tests.api.conftest import Api
from tests.api.test_operations_kit import CONFERENCE, CUST, SOLO, TO_AGENTS, Desk, brief, people

HANDOVER = {"Transfer", "Invite", "Consult"}
PENDING = [*SOLO, *TO_AGENTS]  # the asker of a pending invitation: a conference's list (spec §6.18)


async def test_transfer_to_a_user_with_text(api: Api) -> None:
    d = await Desk.start(api)
    target = await d.user_uri("agent2")
    assert await d.op("agent1", "Transfer", targetUri=target, text="Passing you to Bob") == {"statusCode": 0}
    parts, log = await d.seen("agent1")
    assert brief(parts) == "ParticipantsUpdated Chatting" and brief(log) == "NewMessages Text/All"
    assert parts["smssession"]["capabilities"] == [*PENDING, "RemoveParticipantFromConference"]
    assert people(parts["smssession"])[-1] == "Bob (agent2):Agent:All"
    (offer,) = await d.seen("agent2")
    assert brief(offer) == "StatusChange Invited"
    assert await d.phone() == ["Passing you to Bob"]

    await d.op("agent2", "Accept")
    assert await d.briefs("agent2") == [
        "StatusChange Chatting",
        "ParticipantsUpdated Chatting",
        "NewMessages ParticipantJoined/All,Text/All,ParticipantJoined/All,Text/All,ParticipantLeft/All,"
        "ParticipantJoined/All",
    ]
    assert await d.briefs("agent1") == ["StatusChange Completed"]
    assert (await d.view("agent2"))["capabilities"] == SOLO
    assert people(await d.view("agent2")) == [f"{CUST}:Customer:All", "Bob (agent2):Agent:All"]


async def test_transfer_by_target_path_and_the_target_rejecting(api: Api) -> None:
    d = await Desk.start(api)
    await d.op("agent1", "Transfer", targetPath=await d.user_path("agent3"))
    assert await d.briefs("agent1") == ["ParticipantsUpdated Chatting"]
    assert await d.briefs("agent3") == ["StatusChange Invited"]
    await d.op("agent3", "Reject")
    assert await d.briefs("agent3") == ["StatusChange Completed"]
    back, failed = await d.seen("agent1")  # the owner keeps the session, and hears the request failed
    assert brief(back) == "ParticipantsUpdated Chatting" and back["smssession"]["capabilities"] == SOLO
    assert failed["notificationType"] == "Error" and failed["errorMessage"].endswith(": rejected")
    assert failed["errorMessage"].startswith("Request failed: Transfer to ")


async def test_transfer_to_a_queue(api: Api) -> None:
    d = await Desk.start(api)
    await d.ready("agent2")
    api.clock.advance(60)
    await d.op("agent1", "Transfer", queueName="billing", text="Billing will answer shortly")
    assert await d.briefs("agent1") == ["StatusChange Completed"]
    rec = await api.rt.store.get_session(d.sid)
    assert rec is not None and rec.queue == "billing" and rec.waiting
    assert await d.phone() == ["Billing will answer shortly"]
    await api.route()
    assert await d.briefs("agent2") == ["StatusChange Invited"]


async def test_invite_a_user_into_a_conference(api: Api) -> None:
    d = await Desk.start(api)
    assert await d.op("agent1", "Invite", targetUri=await d.user_uri("agent2")) == {"statusCode": 0}
    (parts,) = await d.seen("agent1")
    assert brief(parts) == "ParticipantsUpdated Chatting" and parts["referenceId"] == d.last_reference(
        "agent1"
    )
    assert people(parts["smssession"]) == [
        f"{CUST}:Customer:All",
        "Alice (agent1):Agent:All",
        "Bob (agent2):Agent:All",
    ]
    (offer,) = await d.seen("agent2")
    assert brief(offer) == "StatusChange Invited"
    await d.op("agent2", "Accept")
    assert await d.briefs("agent2") == [
        "StatusChange Chatting",
        "ParticipantsUpdated Chatting",
        "NewMessages ParticipantJoined/All,Text/All,ParticipantJoined/All,ParticipantJoined/All",
    ]
    # spec §6.18: the inviter had the conference's capabilities from the Invite on; Accept changes neither
    # them nor the participants it sees, so only the ParticipantJoined reaches it
    assert parts["smssession"]["capabilities"] == CONFERENCE
    (log,) = await d.seen("agent1")
    assert brief(log) == "NewMessages ParticipantJoined/All"
    assert log["messages"][0]["from"]["nickname"] == "Bob (agent2)"
    assert (await d.view("agent2"))["capabilities"] == CONFERENCE
    assert await d.phone() == []


async def test_consult_a_user_is_invisible_to_the_customer(api: Api) -> None:
    d = await Desk.start(api)
    assert await d.op("agent1", "Consult", targetUri=await d.user_uri("agent2")) == {"statusCode": 0}
    (parts,) = await d.seen("agent1")
    assert brief(parts) == "ParticipantsUpdated Chatting" and parts["referenceId"] == d.last_reference(
        "agent1"
    )
    assert people(parts["smssession"])[-1] == "Bob (agent2):Agent:Agents"
    assert "CancelConsult" in parts["smssession"]["capabilities"]
    assert await d.briefs("agent2") == ["StatusChange Invited"]
    await d.op("agent2", "Accept")
    status, _parts, replay = await d.seen("agent2")
    assert status["smssession"]["capabilities"] == [
        "Leave",
        "SetInFocus",
        "SetDisposition",
        "AttachUserData",
        "UpdateUserData",
        "DeleteUserData",
        "SendMessage",
        "SendUrl",
        "SendStartTypingNotification",
        "SendStopTypingNotification",
        "SendCustomNotice",
        "SendToAgents",
        "SendStartTypingToAgentsNotification",
        "SendStopTypingToAgentsNotification",
        "SendCustomNoticeToAgents",
    ]
    assert brief(replay).endswith("ParticipantJoined/Agents")
    parts, log = await d.seen("agent1")
    assert "CancelConsult" not in parts["smssession"]["capabilities"]  # accepted: too late to cancel
    assert brief(log) == "NewMessages ParticipantJoined/Agents"
    await d.op("agent2", "Leave")
    assert await d.briefs("agent2") == ["StatusChange Completed"]
    assert await d.briefs("agent1") == ["ParticipantsUpdated Chatting", "NewMessages ParticipantLeft/Agents"]
    assert await d.phone() == []


async def test_invite_and_consult_through_a_queue(api: Api) -> None:
    d = await Desk.start(api)
    await d.ready("agent2")
    await d.settle()
    body = await d.op("agent1", "Consult", targetPath="/queues/experts")
    assert body == {"statusCode": 0}
    (parts,) = await d.seen("agent1")
    assert brief(parts) == "ParticipantsUpdated Chatting" and parts["referenceId"] == d.last_reference(
        "agent1"
    )
    assert parts["smssession"]["capabilities"] == [*PENDING, "CancelConsult"]
    await d.quiet("agent2")
    await api.route()  # the router finds an agent in the queue: agent1 is in the session, so agent2
    assert await d.briefs("agent2") == ["StatusChange Invited"]
    assert people(await d.view("agent2"))[-1] == "Bob (agent2):Agent:Agents"
    await d.op("agent2", "Reject")
    r = await api.post("/api/v2/me/channels/sms", {"operationName": "NotReady"}, user="agent2")
    assert r.json() == {"statusCode": 0}
    await d.settle()
    await d.op("agent1", "CancelConsult")
    await d.settle()
    body = await d.op("agent1", "Invite", targetUri="http://127.0.0.1:8080/api/v2/queues/experts")
    assert body == {"statusCode": 0}
    await d.ready("agent3")
    await api.route()
    assert await d.briefs("agent3") == ["StatusChange Invited"]
    await d.op("agent3", "Accept")
    assert people(await d.view("agent1"))[-1] == "Carol (agent3):Agent:All"


async def test_cancel_consult_revokes_the_consultant_and_tells_the_caller_nothing(api: Api) -> None:
    d = await Desk.start(api)
    await d.op("agent1", "Consult", targetUri=await d.user_uri("agent2"))
    await d.settle()
    assert await d.op("agent1", "CancelConsult") == {"statusCode": 0}
    await d.quiet("agent1")  # spec §6.20a: no notification on success
    (revoked,) = await d.seen("agent2")
    assert brief(revoked) == "StatusChange Revoked" and revoked["smssession"]["participants"] == []
    assert (await d.view("agent1"))["capabilities"] == SOLO
    assert (await api.get("/api/v2/me/smssessions", user="agent2")).json()["uris"] == []


async def test_remove_participant_from_conference(api: Api) -> None:
    d = await Desk.start(api)
    await d.conference("agent2")
    uid = await api.user_id("agent2")
    assert await d.op("agent1", "RemoveParticipantFromConference", targetUri=await d.user_uri("agent2")) == {
        "statusCode": 0
    }
    parts, log = await d.seen("agent1")
    assert brief(parts) == "ParticipantsUpdated Chatting" and parts["smssession"]["capabilities"] == SOLO
    assert brief(log) == "NewMessages Notice/Agents,ParticipantLeft/All"
    notice, left = log["messages"]
    assert notice["text"] == f"REMOVE_PARTICIPANT_FROM_CONFERENCE{uid}"
    assert notice["from"]["nickname"] == "Alice (agent1)" and left["from"]["nickname"] == "Bob (agent2)"
    assert await d.briefs("agent2") == ["StatusChange Revoked"]
    assert await d.phone() == []

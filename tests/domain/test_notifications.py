"""Exact notification shapes (spec §5, §6) and their order, per recipient."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from smsdesk.domain.capabilities import capabilities
from smsdesk.domain.errors import Validation
from smsdesk.domain.operations import Operation as Op
from smsdesk.domain.participants import SupervisionMode as M
from smsdesk.domain.system import Offer, WithdrawOffer
from smsdesk.domain.views import format_timestamp
from tests.domain.helpers import BASE, T0, Driver, kinds, notes_for

SID = "0000Na9B26EF0001"
URI = f"{BASE}/api/v2/smssessions/{SID}"
AGENT_CAPS = [
    "Transfer", "Complete", "LeaveAndComplete", "Leave", "Invite", "Consult", "SetInFocus", "SetDisposition",
    "AttachUserData", "UpdateUserData", "DeleteUserData", "SendMessage", "SendUrl", "SendStartTypingNotification",
    "SendStopTypingNotification", "SendCustomNotice",
]  # fmt: skip
TO_AGENTS = [
    "SendToAgents", "SendStartTypingToAgentsNotification", "SendStopTypingToAgentsNotification",
    "SendCustomNoticeToAgents",
]  # fmt: skip
CUSTOMER = {
    "nickname": "PersonP",
    "type": "Customer",
    "participantId": "0000000000000001",
    "visibility": "All",
}


def agent(user: str, pid: int, visibility: str = "All", nickname: str | None = None) -> dict[str, Any]:
    return {
        "nickname": nickname or user.title(),
        "type": "Agent",
        "participantId": f"{pid:016X}",
        "visibility": visibility,
        "uri": f"{BASE}/api/v2/users/{user}",
        "path": f"/users/{user}",
    }


def stamp(ms: int) -> dict[str, Any]:
    from smsdesk.domain.views import format_timestamp

    return {"timestamp": format_timestamp(ms), "timestampSeconds": ms}


def smssession(
    state: str, caps: list[str] | None, participants: list[dict[str, Any]], **extra: Any
) -> dict[str, Any]:
    obj: dict[str, Any] = {"id": SID, "uri": URI, "path": f"/smssessions/{SID}", "state": state}
    if caps is not None:
        obj["capabilities"] = caps
    obj["participants"] = participants
    obj["userData"] = extra.get("userData", {})
    obj["receivedDate"] = "2023-11-14 22:13:20.000+0000"
    obj["chatType"] = "Inbound"
    return obj


def change(kind: str, obj: dict[str, Any], ref: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "messageType": "SMSsessionStateChangeMessage",
        "notificationType": kind,
        "smssession": obj,
    }
    if ref is not None:
        out["referenceId"] = ref
    return out


def active() -> Driver:
    d = Driver()
    d.open()
    d.offer_accept("alice")
    return d


def test_offer_is_an_invited_status_change_with_accept_reject() -> None:
    d = Driver()
    d.open()
    out = d.do(Offer("alice", "Alice"))
    invited = smssession("Invited", ["Accept", "Reject"], [CUSTOMER, agent("alice", 2)])
    since = d.s.for_user("alice").since_ms  # type: ignore[union-attr]
    invited["offer"] = {  # smsdesk's addition: what is offered, until when (docs/ui.md)
        "kind": "Offer",
        "expires": format_timestamp(since + 30_000),
        "expiresSeconds": since + 30_000,
        "customerNumber": "+15551230001",
    }
    assert [n.data for n in out.notifications] == [change("StatusChange", invited)]
    assert out.busied == ("alice",) and out.route is None


def test_accept_exact_sequence_with_transcript_replay() -> None:
    d = Driver()
    d.open()
    d.do(Offer("alice", "A."))
    out = d.op("alice", Op.ACCEPT, {"nickname": "Alice", "saveLAR": True})
    obj = smssession("Chatting", AGENT_CAPS, [CUSTOMER, agent("alice", 2)])
    joined = {
        "index": 3,
        "type": "ParticipantJoined",
        "from": agent("alice", 2),
        "visibility": "All",
        **stamp(T0 + 2000),
    }
    hello = {"index": 2, "type": "Text", "from": CUSTOMER, "text": "Hello", "visibility": "All", **stamp(T0)}
    first = {"index": 1, "type": "ParticipantJoined", "from": CUSTOMER, "visibility": "All", **stamp(T0)}
    assert out.response == {"referenceId": 1}  # every notification the request causes its caller quotes it
    assert [n.data for n in out.notifications] == [
        change("StatusChange", obj, 1),
        change("ParticipantsUpdated", obj, 1),
        {
            "messageType": "MessageLogUpdated",
            "notificationType": "NewMessages",
            "messages": [first, hello, joined],
            "smssessionUri": URI,
            "smssessionPath": f"/smssessions/{SID}",
            "referenceId": 1,
        },
    ]
    assert all(n.channel == "/v2/me/smssessions" and n.user_id == "alice" for n in out.notifications)
    assert out.messages == (joined,) and out.accepted_by == "alice" and d.s.lar_agent_id == "alice"


def test_reject_completes_the_agent_and_reroutes_without_it() -> None:
    d = Driver()
    d.open()
    d.do(Offer("alice", "Alice"))
    out = d.op("alice", Op.REJECT)
    assert [n.data for n in out.notifications] == [
        change("StatusChange", smssession("Completed", None, []), 1)
    ]
    assert out.freed == ("alice",)
    assert out.route is not None and out.route.queue == "sales" and out.route.excluded == ("alice",)


def test_complete_sole_agent_closes_the_session() -> None:
    d = active()
    out = d.op("alice", Op.COMPLETE)
    assert [n.data for n in out.notifications] == [
        change("StatusChange", smssession("Completed", None, []), 2)
    ]
    assert d.s.phase.value == "Closed" and out.freed == ("alice",) and out.route is None
    assert [m["type"] for m in out.messages] == ["ParticipantLeft"] and out.outbound_sms == ()


def test_complete_with_queue_requeues_and_revokes_supervisors() -> None:
    d = active()
    d.join("sup", M.COACH)
    out = d.op("alice", Op.COMPLETE, {"queueName": "PostProcessingQueue"})
    assert kinds(out) == [("alice", "StatusChange"), ("sup", "StatusChange")]
    assert notes_for(out, "sup")[0]["smssession"]["state"] == "Revoked"
    assert out.route is not None and out.route.queue == "PostProcessingQueue" and d.s.phase.value == "Queued"


def test_leave_sole_agent_goes_to_left_chat() -> None:
    d = active()
    out = d.op("alice", Op.LEAVE)
    left = [
        "Transfer",
        "Complete",
        "Leave",
        "SetInFocus",
        "SetDisposition",
        "AttachUserData",
        "UpdateUserData",
    ]
    left.append("DeleteUserData")
    assert [n.data for n in out.notifications][:1] == [
        change("StatusChange", smssession("LeftChat", left, [CUSTOMER]), 2)
    ]
    assert kinds(out)[1:] == [("alice", "NewMessages")]
    assert [m["type"] for m in out.notifications[1].data["messages"]] == ["ParticipantLeft"]
    assert d.s.phase.value == "Ended"
    out = d.op("alice", Op.COMPLETE)
    assert kinds(out) == [("alice", "StatusChange")] and d.s.phase.value == "Closed"


def test_leave_in_conference_completes_only_that_agent() -> None:
    d = active()
    d.op("alice", Op.INVITE, {"targetUri": f"{BASE}/api/v2/users/bob"}, target_nickname="Bob")
    d.op("bob", Op.ACCEPT)
    out = d.op("bob", Op.LEAVE)
    assert kinds(out) == [("bob", "StatusChange"), ("alice", "ParticipantsUpdated"), ("alice", "NewMessages")]
    assert notes_for(out, "bob")[0] == change("StatusChange", smssession("Completed", None, []), 2)
    alice = notes_for(out, "alice")
    assert all("referenceId" not in n for n in alice)  # bob's request: alice's notifications do not quote it
    assert alice[0]["smssession"]["participants"] == [CUSTOMER, agent("alice", 2)]
    assert alice[1]["messages"][0]["type"] == "ParticipantLeft" and d.s.phase.value == "Active"


def test_send_message_reaches_agents_and_the_phone() -> None:
    d = active()
    out = d.op("alice", Op.SEND_MESSAGE, {"text": "How may I help you?"})
    msg = {
        "index": 4,
        "type": "Text",
        "from": agent("alice", 2),
        "text": "How may I help you?",
        "visibility": "All",
        **stamp(d.now),
    }
    assert [n.data for n in out.notifications] == [
        {
            "messageType": "MessageLogUpdated",
            "notificationType": "NewMessages",
            "messages": [msg],
            "smssessionUri": URI,
            "smssessionPath": f"/smssessions/{SID}",
            "referenceId": 2,
        }
    ]
    (sms,) = out.outbound_sms
    assert (sms.index, sms.to, sms.sender, sms.text) == (
        4,
        "+15551230001",
        "+15559990000",
        "How may I help you?",
    )


def test_user_data_ops_send_properties_updated_with_the_whole_map() -> None:
    d = active()
    out = d.op("alice", Op.ATTACH_USER_DATA, {"userData": {"UserData1": "DATA1", "UserData2": 123456789}})
    data = {"UserData1": "DATA1", "UserData2": 123456789}
    obj = smssession("Chatting", AGENT_CAPS, [CUSTOMER, agent("alice", 2)], userData=data)
    assert [n.data for n in out.notifications] == [change("PropertiesUpdated", obj, 2)]
    out = d.op("alice", Op.UPDATE_USER_DATA, {"userData": {"UserData1": 987654321}})
    assert out.notifications[0].data["smssession"]["userData"] == {
        "UserData1": 987654321,
        "UserData2": 123456789,
    }
    out = d.op("alice", Op.DELETE_USER_DATA, {"keys": ["UserData1"]})
    assert out.notifications[0].data["smssession"]["userData"] == {"UserData2": 123456789}
    out = d.op("alice", Op.SET_DISPOSITION, {"disposition": "IssueResolved"})
    assert out.notifications[0].data["smssession"]["userData"]["DispositionCode"] == "IssueResolved"
    out = d.op("alice", Op.SET_DISPOSITION, {"disposition": "X", "dispositionKey": "Dk"})
    assert kinds(out) == [("alice", "PropertiesUpdated")] and d.s.user_data["Dk"] == "X"


def test_invite_accept_and_conference_capabilities() -> None:
    d = active()
    out = d.op("alice", Op.INVITE, {"targetUri": f"{BASE}/api/v2/users/bob"}, target_nickname="Bob")
    assert out.response == {"referenceId": 2}
    assert kinds(out) == [("alice", "ParticipantsUpdated"), ("bob", "StatusChange")]
    alice = notes_for(out, "alice")[0]
    assert alice["referenceId"] == 2 and alice["smssession"]["participants"][-1] == agent("bob", 3)
    assert notes_for(out, "bob")[0]["smssession"]["capabilities"] == ["Accept", "Reject"]
    # spec §6.18: the conference has started for the inviter, with the agents-only operations
    caps = alice["smssession"]["capabilities"]
    assert caps[: len(AGENT_CAPS)] == AGENT_CAPS and caps[len(AGENT_CAPS) :] == [
        *TO_AGENTS,
        "RemoveParticipantFromConference",
    ]
    out = d.op("bob", Op.ACCEPT)
    # alice's participants and capabilities stay as they were: only bob's ParticipantJoined reaches her
    assert kinds(out) == [
        ("bob", "StatusChange"),
        ("bob", "ParticipantsUpdated"),
        ("bob", "NewMessages"),
        ("alice", "NewMessages"),
    ]
    caps = notes_for(out, "bob")[0]["smssession"]["capabilities"]
    assert caps[: len(AGENT_CAPS)] == AGENT_CAPS and set(TO_AGENTS) <= set(caps)


def test_consult_is_agents_only_and_cancel_consult_is_silent_for_the_caller() -> None:
    d = active()
    out = d.op("alice", Op.CONSULT, {"targetPath": "/users/carol"})
    assert out.response == {"referenceId": 2}
    assert notes_for(out, "carol")[0]["smssession"]["participants"][-1]["visibility"] == "Agents"
    assert "CancelConsult" in notes_for(out, "alice")[0]["smssession"]["capabilities"]
    out = d.op("alice", Op.CANCEL_CONSULT)
    assert out.response == {"referenceId": 3}
    assert kinds(out) == [("carol", "StatusChange")]
    assert notes_for(out, "carol")[0] == change("StatusChange", smssession("Revoked", None, []))
    assert out.freed == ("carol",) and d.s.pending is None


def test_transfer_to_agent_completes_the_source_on_accept() -> None:
    d = active()
    out = d.op("alice", Op.TRANSFER, {"targetUri": f"{BASE}/api/v2/users/bob", "text": "Passing you on"})
    assert out.response == {"referenceId": 2} and [s.text for s in out.outbound_sms] == ["Passing you on"]
    assert kinds(out) == [("alice", "ParticipantsUpdated"), ("alice", "NewMessages"), ("bob", "StatusChange")]
    out = d.op("bob", Op.ACCEPT)
    assert kinds(out) == [
        ("bob", "StatusChange"),
        ("bob", "ParticipantsUpdated"),
        ("bob", "NewMessages"),
        ("alice", "StatusChange"),
    ]
    assert notes_for(out, "alice")[0]["smssession"]["state"] == "Completed"
    assert [m["type"] for m in out.messages] == ["ParticipantLeft", "ParticipantJoined"] and out.freed == (
        "alice",
    )


def test_transfer_note_for_agents_only_is_shown_in_the_offer_and_never_sent() -> None:
    d = active()
    params = {
        "targetUri": f"{BASE}/api/v2/users/bob",
        "text": "Angry about parcel 4711",
        "visibility": "Agents",
    }
    out = d.op("alice", Op.TRANSFER, params)
    assert out.outbound_sms == ()
    assert [(m["type"], m["visibility"]) for m in out.messages] == [("Text", "Agents")]
    offer = notes_for(out, "bob")[0]["smssession"]["offer"]
    assert (offer["kind"], offer["text"], offer["customerNumber"]) == (
        "Transfer",
        "Angry about parcel 4711",
        "+15551230001",
    )
    assert offer["from"] == d.s.for_user("alice").nickname  # type: ignore[union-attr]


def test_transfer_note_visibility_must_be_all_or_agents() -> None:
    d = active()
    with pytest.raises(Validation):
        d.op("alice", Op.TRANSFER, {"targetUri": f"{BASE}/api/v2/users/bob", "text": "x", "visibility": "Me"})


def test_a_completed_transfer_drops_the_disposition_unless_configured() -> None:
    d = active()
    d.op("alice", Op.SET_DISPOSITION, {"disposition": "Resolved"})
    d.op("alice", Op.TRANSFER, {"targetUri": f"{BASE}/api/v2/users/bob"})
    assert d.s.user_data.get("DispositionCode") == "Resolved"  # kept while the transfer may still fail
    d.op("bob", Op.ACCEPT)
    assert "DispositionCode" not in d.s.user_data

    kept = active()
    kept.ctx = dataclasses.replace(kept.ctx, transfer_keeps_disposition=True)
    kept.op("alice", Op.SET_DISPOSITION, {"disposition": "Resolved"})
    kept.op("alice", Op.TRANSFER, {"targetUri": f"{BASE}/api/v2/users/bob"})
    kept.op("bob", Op.ACCEPT)
    assert kept.s.user_data["DispositionCode"] == "Resolved"


def test_the_asker_cancels_a_pending_transfer_by_removing_the_invitee() -> None:
    """The desktop's "Cancel transfer": RemoveParticipantFromConference on the invited agent (GWS operations
    only; CancelConsult stays the consultation's)."""
    d = active()
    d.op("alice", Op.TRANSFER, {"targetUri": f"{BASE}/api/v2/users/bob"})
    caps = [op.value for op in capabilities(d.s, d.s.for_user("alice"))]  # type: ignore[arg-type]
    assert "RemoveParticipantFromConference" in caps and "CancelConsult" not in caps
    out = d.op("alice", Op.REMOVE_PARTICIPANT, {"targetUri": f"{BASE}/api/v2/users/bob"})
    assert notes_for(out, "bob")[0]["smssession"]["state"] == "Revoked"
    assert d.s.pending is None and d.s.for_user("alice").state.value == "Chatting"  # type: ignore[union-attr]


def test_transfer_to_queue_completes_the_source_and_revokes_supervisors() -> None:
    d = active()
    d.join("sup", M.MONITOR)
    out = d.op("alice", Op.TRANSFER, {"queueName": "billing"})
    assert [(u, n["smssession"]["state"]) for u, n in ((n.user_id, n.data) for n in out.notifications)] == [
        ("alice", "Completed"),
        ("sup", "Revoked"),
    ]
    assert out.route is not None and out.route.queue == "billing" and d.s.phase.value == "Queued"


def test_monitor_join_is_seen_by_supervisors_only() -> None:
    d = active()
    d.join("sup1", M.BARGE_IN)
    out = d.join("sup2", M.MONITOR)
    assert kinds(out) == [
        ("sup2", "StatusChange"),
        ("sup2", "ParticipantsUpdated"),
        ("sup2", "NewMessages"),
        ("sup1", "ParticipantsUpdated"),
        ("sup1", "NewMessages"),
    ]
    assert out.messages[0]["visibility"] == "Supervisors" and out.outbound_sms == ()
    sup2 = notes_for(out, "sup2")[0]["smssession"]
    assert sup2["capabilities"][-2:] == ["SwitchToCoach", "SwitchBargeIn"]
    assert "SendMessage" not in sup2["capabilities"]


def test_switches_reveal_and_hide_the_supervisor() -> None:
    d = active()
    d.join("sup", M.MONITOR)
    out = d.op("sup", Op.SWITCH_TO_COACH)
    assert kinds(out) == [
        ("sup", "ParticipantsUpdated"),
        ("sup", "NewMessages"),
        ("alice", "ParticipantsUpdated"),
        ("alice", "NewMessages"),
    ]
    assert notes_for(out, "alice")[1]["messages"][0]["type"] == "ParticipantJoined"
    assert notes_for(out, "alice")[0]["smssession"]["participants"][-1] == agent("sup", 3, "Agents")
    assert notes_for(out, "sup")[0]["smssession"]["capabilities"][-2:] == ["SwitchToMonitor", "SwitchBargeIn"]
    out = d.op("sup", Op.SEND_MESSAGE, {"text": "try a refund"})
    assert out.messages[0]["visibility"] == "Agents" and out.outbound_sms == ()
    out = d.op("sup", Op.SWITCH_TO_BARGE_IN)
    assert out.messages[0]["type"] == "ParticipantJoined" and out.messages[0]["visibility"] == "All"
    out = d.op("sup", Op.SEND_MESSAGE, {"text": "Hello from the supervisor"})
    assert [s.text for s in out.outbound_sms] == ["Hello from the supervisor"]
    out = d.op("sup", Op.SWITCH_TO_MONITOR)
    assert out.messages[0]["type"] == "ParticipantLeft" and out.messages[0]["visibility"] == "All"
    assert [p["nickname"] for p in notes_for(out, "alice")[0]["smssession"]["participants"]] == [
        "PersonP",
        "Alice",
    ]


def _error_notes(out: Any, user: str) -> list[dict[str, Any]]:
    return [n for n in notes_for(out, user) if n.get("notificationType") == "Error"]


def test_a_rejected_consultation_reaches_its_originator_as_an_error_with_its_reference() -> None:
    d = Driver()
    d.open()
    d.offer_accept("alice")
    asked = d.op("alice", Op.CONSULT, {"targetUri": f"{BASE}/api/v2/users/bob"}, target_nickname="Bob")
    ref = asked.response["referenceId"]
    out = d.op("bob", Op.REJECT)
    (error,) = _error_notes(out, "alice")
    assert error == {
        "notificationType": "Error",
        "errorMessage": "Request failed: Consult to Bob: rejected",
        "referenceId": ref,
        "smssessionUri": f"{BASE}/api/v2/smssessions/{d.s.id}",
        "smssessionPath": f"/smssessions/{d.s.id}",
    }
    assert "messageType" not in error  # as the spec shows it
    assert _error_notes(out, "bob") == []


def test_an_invitation_that_times_out_is_an_error_for_the_one_who_invited() -> None:
    d = Driver()
    d.open()
    d.offer_accept("alice")
    d.op("alice", Op.INVITE, {"targetUri": f"{BASE}/api/v2/users/bob"}, target_nickname="Bob")
    out = d.do(WithdrawOffer("bob"))
    (error,) = _error_notes(out, "alice")
    assert error["errorMessage"] == "Request failed: Invite to Bob: did not accept"


def test_no_error_for_a_cancelled_consultation_or_one_through_a_queue() -> None:
    d = Driver()
    d.open()
    d.offer_accept("alice")
    d.op("alice", Op.CONSULT, {"targetUri": f"{BASE}/api/v2/users/bob"})
    assert _error_notes(d.op("alice", Op.CANCEL_CONSULT), "alice") == []
    d.op("alice", Op.CONSULT, {"targetUri": f"{BASE}/api/v2/queues/experts"})
    d.do(Offer("carol", "Carol"))
    out = d.op("carol", Op.REJECT)  # the queue finds someone else: the request has not failed
    assert _error_notes(out, "alice") == [] and out.route is not None

"""Commands from the SMS provider, the router and housekeeping."""

from __future__ import annotations

import pytest

from smsdesk.domain.errors import InvalidState, Validation
from smsdesk.domain.operations import Operation as Op
from smsdesk.domain.participants import SupervisionMode as M
from smsdesk.domain.participants import UserState
from smsdesk.domain.sessions import InviteKind, Phase
from smsdesk.domain.system import (
    CloseSession,
    DeliveryStatus,
    InboundText,
    Intrude,
    Offer,
    RemoveUser,
    SupervisorJoin,
    SystemText,
    WithdrawOffer,
    open_session,
)
from tests.domain.helpers import BASE, T0, Driver, kinds, make_ctx


def active() -> Driver:
    d = Driver()
    d.open()
    d.offer_accept("alice")
    return d


def test_open_session_queues_and_records_the_customer_text() -> None:
    d = Driver()
    out = d.open("Need help")
    assert [(m["index"], m["type"]) for m in out.messages] == [(1, "ParticipantJoined"), (2, "Text")]
    assert out.notifications == () and out.outbound_sms == ()
    assert d.s.phase is Phase.QUEUED and d.s.received_ms == T0 and d.s.next_index == 3


@pytest.mark.parametrize("field", ["customer_number", "business_number", "queue", "text"])
def test_open_session_validates(field: str) -> None:
    args = {"customer_number": "+1555", "business_number": "+1666", "queue": "q", "text": "hi"}
    args[field] = " "
    with pytest.raises(Validation):
        open_session(**args, now_ms=T0, ctx=make_ctx())


def test_inbound_text_reaches_chatting_users_only_and_never_goes_back_out() -> None:
    d = active()
    d.op("alice", Op.INVITE, {"targetUri": f"{BASE}/api/v2/users/bob"})
    out = d.do(InboundText("second"))
    assert kinds(out) == [("alice", "NewMessages")] and out.outbound_sms == ()


def test_offer_only_when_waiting_and_to_one_agent_at_a_time() -> None:
    d = Driver()
    d.open()
    d.do(Offer("alice", "Alice"))
    with pytest.raises(InvalidState, match="nothing to offer"):
        d.do(Offer("bob", "Bob"))
    out = d.do(WithdrawOffer("alice"))
    assert out.route is not None and out.route.excluded == ("alice",) and out.freed == ("alice",)
    assert d.s.for_user("alice").state is UserState.REVOKED  # type: ignore[union-attr]
    with pytest.raises(InvalidState, match="no pending offer"):
        d.do(WithdrawOffer("alice"))
    d.do(Offer("alice", "Alice"))  # a new round may offer it again
    d.op("alice", Op.ACCEPT)
    d.op("alice", Op.INVITE, {"targetUri": f"{BASE}/api/v2/queues/more"})
    with pytest.raises(InvalidState, match="already in"):
        d.do(Offer("alice", "Alice"))


def test_queue_invitation_is_routed_and_offered_with_its_role() -> None:
    d = active()
    out = d.op("alice", Op.CONSULT, {"targetUri": f"{BASE}/api/v2/queues/experts"})
    assert out.route is not None and (out.route.queue, out.route.kind) == ("experts", InviteKind.CONSULT)
    assert out.route.excluded == ("alice",)
    d.do(Offer("bob", "Bob"))
    out = d.op("bob", Op.REJECT)
    assert out.route is not None and out.route.excluded == ("alice", "bob")
    d.do(Offer("carol", "Carol"))
    d.op("carol", Op.ACCEPT)
    carol = d.s.for_user("carol")
    assert carol is not None and carol.visibility.value == "Agents" and d.s.pending is None


def test_cancel_consult_through_a_queue_before_any_offer() -> None:
    d = active()
    d.op("alice", Op.CONSULT, {"targetUri": f"{BASE}/api/v2/queues/experts"})
    out = d.op("alice", Op.CANCEL_CONSULT)
    assert out.notifications == () and d.s.pending is None


def test_rejected_direct_invitation_is_dropped() -> None:
    d = active()
    d.op("alice", Op.TRANSFER, {"targetUri": f"{BASE}/api/v2/users/bob"})
    out = d.op("bob", Op.REJECT)
    assert d.s.pending is None and out.route is None and out.freed == ("bob",)


def test_close_session_opted_out_ends_for_the_customer() -> None:
    d = active()
    d.join("sup", M.MONITOR)
    out = d.do(CloseSession("opted_out"))
    assert [m["type"] for m in out.messages] == ["ParticipantLeft", "Notice"]
    assert d.s.phase is Phase.ENDED and d.s.for_user("alice").state is UserState.LEFT_CHAT  # type: ignore[union-attr]
    with pytest.raises(InvalidState):
        d.do(InboundText("late"))
    with pytest.raises(InvalidState, match="customer has left"):
        d.op("alice", Op.TRANSFER, {"queueName": "again"})
    out = d.op("alice", Op.TRANSFER, {"targetUri": f"{BASE}/api/v2/users/bob", "text": "bye"})
    assert out.outbound_sms == ()  # never text an opted-out customer
    out = d.op("alice", Op.COMPLETE)
    assert d.s.phase.value == "Closed" and ("sup", "StatusChange") in kinds(out)
    with pytest.raises(InvalidState):
        d.do(CloseSession())


def test_close_a_queued_session_closes_it() -> None:
    d = Driver()
    d.open()
    d.do(Offer("alice", "Alice"))
    out = d.do(CloseSession(""))
    assert d.s.phase is Phase.CLOSED and out.freed == ("alice",)
    assert out.messages[-1]["text"] == "SESSION_CLOSED:closed"


def test_delivery_failures_become_an_agents_notice() -> None:
    d = active()
    d.op("alice", Op.SEND_MESSAGE, {"text": "hello"})
    assert d.do(DeliveryStatus(4, "delivered")).messages == ()
    out = d.do(DeliveryStatus(4, "Failed", "30003 unreachable"))
    assert out.messages[0]["text"] == "DELIVERY_FAILED4: 30003 unreachable"
    assert out.messages[0]["visibility"] == "Agents" and out.outbound_sms == ()
    for bad in (DeliveryStatus(99, "sent"), DeliveryStatus(True, "sent"), DeliveryStatus(4, "lost")):
        with pytest.raises(Validation):
            d.do(bad)


def test_system_text_is_sent_as_sms() -> None:
    d = Driver()
    d.open()
    out = d.do(SystemText("All agents are busy"))
    assert out.messages[0]["from"]["type"] == "System" and [s.index for s in out.outbound_sms] == [3]
    with pytest.raises(Validation):
        d.do(SystemText("x" * 5000))


def test_supervision_needs_an_active_session() -> None:
    d = Driver()
    d.open()
    with pytest.raises(InvalidState, match="be supervised"):
        d.do(SupervisorJoin("sup", "Sup", M.MONITOR))
    d = active()
    with pytest.raises(Validation):
        d.do(Intrude("", "x", M.COACH))


def test_intruding_supervisor_is_invited_then_accepts_with_the_transcript() -> None:
    d = active()
    out = d.do(Intrude("sup", "Boss", M.BARGE_IN))
    assert kinds(out) == [("sup", "StatusChange"), ("alice", "ParticipantsUpdated")] and out.busied == ()
    out = d.op("sup", Op.ACCEPT)
    replay = [n.data for n in out.notifications if n.user_id == "sup"][-1]["messages"]
    assert [m["index"] for m in replay] == [1, 2, 3, 4] and out.accepted_by is None
    assert ("alice", "ParticipantsUpdated") in kinds(out)


def test_lar_and_leave_of_a_supervisor() -> None:
    d = active()
    d.join("sup", M.COACH)
    out = d.op("sup", Op.LEAVE)
    assert kinds(out)[0] == ("sup", "StatusChange") and d.s.phase is Phase.ACTIVE
    d.op("alice", Op.COMPLETE, {"saveLAR": "true"})
    assert d.s.lar_agent_id == "alice"


def test_transfer_from_left_chat_reactivates_on_accept() -> None:
    d = active()
    d.op("alice", Op.LEAVE)
    d.op("alice", Op.TRANSFER, {"targetUri": f"{BASE}/api/v2/users/bob"})
    d.op("bob", Op.ACCEPT)
    assert d.s.phase is Phase.ACTIVE and d.s.for_user("alice").state is UserState.COMPLETED  # type: ignore[union-attr]


def test_in_focus_changes_nothing() -> None:
    d = active()
    out = d.op("alice", Op.SET_IN_FOCUS)
    assert out.notifications == () and out.messages == ()


def test_a_deleted_last_agent_puts_the_session_back_in_its_queue_with_its_transcript() -> None:
    d = active()
    d.join("sam", M.MONITOR)
    out = d.do(RemoveUser("alice"))
    assert d.s.phase is Phase.QUEUED and d.s.queue == "sales" and out.route is not None
    assert out.freed == ("alice",)
    assert d.s.for_user("alice").state is UserState.REVOKED  # type: ignore[union-attr]
    assert d.s.for_user("sam").state is UserState.REVOKED  # type: ignore[union-attr]
    assert d.s.customer.state is UserState.CHATTING
    d.offer_accept("bob")  # the next agent gets the conversation so far
    replay = [m.get("text") for m in d.outcomes[-1].notifications[-1].data["messages"]]
    assert "Hello" in replay


def test_a_deleted_agent_beside_another_agent_just_leaves() -> None:
    d = active()
    d.op("alice", Op.INVITE, {"targetUri": f"{BASE}/api/v2/users/bob"})
    d.op("bob", Op.ACCEPT)
    d.do(RemoveUser("alice"))
    assert d.s.phase is Phase.ACTIVE
    assert d.s.for_user("alice").state is UserState.REVOKED  # type: ignore[union-attr]
    assert d.s.for_user("bob").state is UserState.CHATTING  # type: ignore[union-attr]


def test_a_deleted_invited_agent_loses_the_offer_and_the_session_is_routed_again() -> None:
    d = Driver()
    d.open()
    d.do(Offer("alice", "Alice"))
    out = d.do(RemoveUser("alice"))
    assert d.s.phase is Phase.QUEUED and out.route is not None and out.route.excluded == ("alice",)


def test_a_deleted_agent_wrapping_up_after_the_customer_left_completes_the_session() -> None:
    d = active()
    d.do(CloseSession("opted_out"))  # the customer is gone: agents are LeftChat
    assert d.s.phase is Phase.ENDED
    d.do(RemoveUser("alice"))
    assert d.s.phase is Phase.CLOSED


def test_removing_a_user_who_holds_nothing_changes_nothing() -> None:
    d = active()
    before = d.s
    out = d.do(RemoveUser("nobody"))
    assert out.session.participants == before.participants and out.session.phase is before.phase
    assert out.notifications == () and out.messages == () and out.route is None

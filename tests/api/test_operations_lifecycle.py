"""Spec §6.1 to §6.4 through the HTTP API: Accept, Reject, Complete (with and without queueName), Leave (sole agent
and in conference) and LeaveAndComplete, with the exact notifications each participant receives, in order."""

from __future__ import annotations

from tests.api.conftest import Api
from tests.api.test_operations_kit import CONFERENCE, CUST, LEFT_CHAT, SOLO, Desk, brief, people


async def test_accept_announces_chatting_participants_and_replays_the_transcript(api: Api) -> None:
    d = await Desk.start(api, accept=False)
    await d.op("agent1", "Accept", nickname="Alice", saveLAR=True)
    ev = await d.seen("agent1")
    assert [brief(e) for e in ev] == [
        "StatusChange Chatting",
        "ParticipantsUpdated Chatting",
        "NewMessages ParticipantJoined/All,Text/All,ParticipantJoined/All",
    ]
    status, parts, log = ev
    assert status["smssession"]["capabilities"] == SOLO
    assert status["referenceId"] == parts["referenceId"] == log["referenceId"] == d.last_reference("agent1")
    assert people(parts["smssession"]) == [f"{CUST}:Customer:All", "Alice:Agent:All"]
    assert parts["smssession"]["userData"]["CustomerNumber"] == CUST
    joined, text, me = log["messages"]
    assert [m["index"] for m in log["messages"]] == [1, 2, 3]
    assert joined["from"]["type"] == "Customer" and text["text"] == "Hello"
    assert me["from"]["nickname"] == "Alice" and me["from"]["uri"] == await d.user_uri("agent1")
    assert log["smssessionUri"] == f"http://127.0.0.1:8080/api/v2/smssessions/{d.sid}"
    await d.quiet("agent2", "agent3", "supervisor1")
    assert await d.phone() == []  # a join is not an SMS


async def test_save_lar_routes_the_customer_back_to_the_same_agent(api: Api) -> None:
    d = await Desk.start(api, accept=False)
    await d.op("agent1", "Accept", saveLAR=True)
    await d.ready("agent2")
    api.clock.advance(60)  # agent2 has been idle longer than agent1 once agent1 completes
    await d.op("agent1", "Complete")
    await api.text("Me again")
    await api.route()
    assert [brief(e) for e in await d.seen("agent1")][-1] == "StatusChange Invited"
    await d.quiet("agent2")


async def test_reject_completes_for_the_agent_and_offers_another(api: Api) -> None:
    d = await Desk.start(api, accept=False)
    await d.ready("agent2")
    await d.settle()
    assert await d.op("agent1", "Reject") == {"statusCode": 0}
    (done,) = await d.seen("agent1")
    assert brief(done) == "StatusChange Completed"
    assert done["smssession"]["participants"] == [] and "capabilities" not in done["smssession"]
    await api.route()
    (offer,) = await d.seen("agent2")
    assert brief(offer) == "StatusChange Invited"
    assert offer["smssession"]["capabilities"] == ["Accept", "Reject"]
    assert people(offer["smssession"]) == [f"{CUST}:Customer:All", "Bob (agent2):Agent:All"]
    await d.quiet("agent1")


async def test_complete_as_sole_agent_closes_the_session(api: Api) -> None:
    d = await Desk.start(api)
    assert await d.op("agent1", "Complete") == {"statusCode": 0}
    assert await d.briefs("agent1") == ["StatusChange Completed"]
    assert (await api.get("/api/v2/me/smssessions")).json()["uris"] == []
    assert (await d.view("agent1"))["state"] == "Completed"
    await api.text("New question")  # the old session is over: a new one is opened
    rec = await api.rt.store.find_open_session(CUST, "+15550000000")
    assert rec is not None and rec.id != d.sid


async def test_complete_with_queue_name_places_the_session_in_that_queue(api: Api) -> None:
    d = await Desk.start(api)
    await d.ready("agent2")
    await d.settle()
    api.clock.advance(60)  # agent2 is now the longest idle
    assert await d.op("agent1", "Complete", queueName="PostProcessing") == {"statusCode": 0}
    assert await d.briefs("agent1") == ["StatusChange Completed"]
    rec = await api.rt.store.get_session(d.sid)
    assert rec is not None and rec.queue == "PostProcessing" and rec.waiting
    await api.route()
    assert await d.briefs("agent2") == ["StatusChange Invited"]
    await d.op("agent2", "Accept")
    replay = (await d.seen("agent2"))[-1]["messages"]
    assert [m["type"] for m in replay] == [
        "ParticipantJoined",
        "Text",
        "ParticipantJoined",
        "ParticipantLeft",
        "ParticipantJoined",
    ]


async def test_leave_as_sole_agent_is_left_chat_then_complete(api: Api) -> None:
    d = await Desk.start(api)
    assert await d.op("agent1", "Leave") == {"statusCode": 0}
    status, log = await d.seen("agent1")
    assert brief(status) == "StatusChange LeftChat" and brief(log) == "NewMessages ParticipantLeft/All"
    assert status["smssession"]["capabilities"] == LEFT_CHAT
    assert log["messages"][0]["from"]["nickname"] == "Alice (agent1)"
    assert (await api.get("/api/v2/me/smssessions")).json()["uris"] == [
        f"http://127.0.0.1:8080/api/v2/smssessions/{d.sid}"
    ]  # still held: the agent wraps up
    await d.op("agent1", "SetDisposition", disposition="Solved")
    assert await d.briefs("agent1") == ["PropertiesUpdated LeftChat"]
    await d.op("agent1", "Complete")
    assert await d.briefs("agent1") == ["StatusChange Completed"]
    assert await d.phone() == []


async def test_leave_in_conference_completes_only_the_leaver(api: Api) -> None:
    d = await Desk.start(api)
    await d.conference("agent2")
    await d.op("agent2", "Leave")
    assert await d.briefs("agent2") == ["StatusChange Completed"]
    parts, log = await d.seen("agent1")
    assert brief(parts) == "ParticipantsUpdated Chatting" and brief(log) == "NewMessages ParticipantLeft/All"
    assert parts["smssession"]["capabilities"] == SOLO  # no more SendToAgents: nobody to talk to
    assert people(parts["smssession"]) == [f"{CUST}:Customer:All", "Alice (agent1):Agent:All"]
    # the owner leaving a conference also just completes for the owner
    await d.conference("agent2")
    await d.op("agent1", "Leave")
    assert await d.briefs("agent1") == ["StatusChange Completed"]
    parts, log = await d.seen("agent2")
    assert brief(parts) == "ParticipantsUpdated Chatting" and parts["smssession"]["capabilities"] == SOLO
    await d.op("agent2", "SendMessage", text="I'll take it from here")
    assert await d.phone() == ["I'll take it from here"]


async def test_leave_and_complete_completes_at_once(api: Api) -> None:
    d = await Desk.start(api)
    await d.conference("agent2")
    assert "LeaveAndComplete" in (await d.view("agent1"))["capabilities"]
    assert (await d.view("agent1"))["capabilities"] == CONFERENCE
    await d.op("agent1", "LeaveAndComplete")
    assert await d.briefs("agent1") == ["StatusChange Completed"]
    assert await d.briefs("agent2") == ["ParticipantsUpdated Chatting", "NewMessages ParticipantLeft/All"]
    await d.op("agent2", "LeaveAndComplete")
    assert await d.briefs("agent2") == ["StatusChange Completed"]
    assert (await api.get("/api/v2/me/smssessions", user="agent2")).json()["uris"] == []


async def test_transfer_from_left_chat_reopens_the_session_for_the_customer(api: Api) -> None:
    d = await Desk.start(api)
    await d.op("agent1", "Leave")
    await d.ready("agent2")
    api.clock.advance(60)
    await d.settle()
    await d.op("agent1", "Transfer", queueName="billing")
    assert await d.briefs("agent1") == ["StatusChange Completed"]
    await api.route()
    assert await d.briefs("agent2") == ["StatusChange Invited"]
    await api.text("still there?")  # appended to the reopened session, not a new one
    rec = await api.rt.store.find_open_session(CUST, "+15550000000")
    assert rec is not None and rec.id == d.sid


async def test_transfer_from_left_chat_is_refused_once_the_customer_has_a_newer_session(api: Api) -> None:
    d = await Desk.start(api)
    await d.op("agent1", "Leave")
    await api.text("are you there?")  # the old session is over for the customer: this opens a new one
    newer = await api.rt.store.find_open_session(CUST, "+15550000000")
    assert newer is not None and newer.id != d.sid
    await d.settle()
    version = await d.version()
    for body in ({"queueName": "billing"}, {"targetUri": await d.user_uri("agent2")}):
        r = await d.op("agent1", "Transfer", 2, **body)
        assert newer.id in r["statusMessage"]
        assert await d.version() == version
    await d.quiet()
    await d.op("agent1", "Complete")  # the way out


async def test_a_text_goes_to_the_reopened_older_session_when_the_newest_is_closed(api: Api) -> None:
    d = await Desk.start(api)
    await d.op("agent1", "Leave")
    await api.text("are you there?")  # opens a newer session...
    newer = await api.rt.store.find_open_session(CUST, "+15550000000")
    assert newer is not None and newer.id != d.sid
    await api.text("STOP")  # ...which STOP closes
    await api.text("START")
    await d.op("agent1", "Transfer", queueName="billing")  # no open newer session: the old one reopens
    latest = await api.rt.store.latest_session(CUST, "+15550000000")
    assert latest is not None and latest.id == newer.id and not latest.is_open
    await api.text("still there?")
    rec = await api.rt.store.find_open_session(CUST, "+15550000000")
    assert rec is not None and rec.id == d.sid
    texts = [m.get("text") for m in await api.rt.store.read_messages(d.sid) if m["type"] == "Text"]
    assert texts[-1] == "still there?"

"""Spec §6.22 through the HTTP API: ``GET /api/v2/me/smssessions`` (uris, ``fields=*``), one session under
``/api/v2/me/smssessions/{id}`` and ``/api/v2/smssessions/{id}``, the transcript with ``startIndex``/``count``,
and ``GET /api/v2/me?subresources=*`` with ``smssessions``. Each user reads its own view: its state, its
capabilities, the participants and messages it may see."""

from __future__ import annotations

from tests.api.conftest import Api
from tests.api.test_operations_kit import BASE, CONFERENCE, Desk, check_session


async def test_list_my_sessions_as_uris_and_as_objects(api: Api) -> None:
    d = await Desk.start(api)
    r = await api.get("/api/v2/me/smssessions")
    assert r.json() == {"statusCode": 0, "uris": [f"{BASE}/api/v2/smssessions/{d.sid}"]}
    r = await api.get("/api/v2/me/smssessions?fields=*")
    body = r.json()
    assert set(body) == {"statusCode", "smssessions"} and len(body["smssessions"]) == 1
    check_session(body["smssessions"][0])
    assert body["smssessions"][0] == await d.view("agent1")
    assert (await api.get("/api/v2/me/smssessions", user="agent2")).json() == {"statusCode": 0, "uris": []}
    assert (await api.get("/api/v2/me/smssessions?fields=*", user="agent2")).json() == {
        "statusCode": 0,
        "smssessions": [],
    }


async def test_one_session_with_and_without_me_is_the_callers_view(api: Api) -> None:
    d = await Desk.start(api)
    await d.op("agent1", "Invite", targetUri=await d.user_uri("agent2"))
    mine = await d.view("agent1")
    plain = (await api.get(f"/api/v2/smssessions/{d.sid}")).json()
    assert plain == {"statusCode": 0, "smssession": mine}
    assert mine["state"] == "Chatting" and "CancelConsult" not in mine["capabilities"]
    theirs = (await api.get(f"/api/v2/smssessions/{d.sid}", user="agent2")).json()["smssession"]
    assert theirs["state"] == "Invited" and theirs["capabilities"] == ["Accept", "Reject"]
    assert theirs["participants"] == mine["participants"]
    await d.op("agent2", "Accept")
    assert (await d.view("agent2"))["capabilities"] == CONFERENCE
    for path in (f"/api/v2/me/smssessions/{d.sid}", f"/api/v2/smssessions/{d.sid}"):
        r = await api.get(path, user="agent3")  # not in it: looks like it does not exist
        assert (r.status_code, r.json()["statusCode"]) == (404, 6)
    r = await api.get("/api/v2/me/smssessions/0000000000000000")
    assert (r.status_code, r.json()["statusCode"]) == (404, 6)


async def test_transcript_paging_and_visibility(api: Api) -> None:
    d = await Desk.start(api)
    await d.conference("agent2")
    await d.op("agent2", "SendToAgents", text="agents only")
    await d.op("agent1", "SendMessage", text="for everyone")
    full = await d.transcript("agent1")
    assert [m["index"] for m in full] == [1, 2, 3, 4, 5, 6]
    assert [(m["type"], m["visibility"]) for m in full[-2:]] == [("Text", "Agents"), ("Text", "All")]
    assert await d.transcript("agent2") == full  # both agents see All + Agents
    assert await d.transcript("agent1", "?startIndex=3&count=2") == full[2:4]
    assert await d.transcript("agent1", "?startIndex=5") == full[4:]
    assert await d.transcript("agent1", "?count=0") == []
    assert await d.transcript("agent1", "?startIndex=99") == []
    for bad in ("?startIndex=-1", "?count=x", "?count=-3"):
        r = await api.get(f"{d.url}/messages{bad}")
        assert (r.status_code, r.json()["statusCode"]) == (400, 10), bad
    r = await api.get(f"{d.url}/messages", user="agent3")
    assert r.json()["statusCode"] == 6


async def test_me_with_subresources_embeds_my_sessions(api: Api) -> None:
    d = await Desk.start(api)
    me = (await api.get("/api/v2/me?subresources=*")).json()["user"]
    assert me["userName"] == "agent1"
    assert me["smssessions"] == [await d.view("agent1")]
    assert me["channels"][0]["channel"] == "sms"
    only = (await api.get("/api/v2/me?subresources=smssessions")).json()["user"]
    assert only["smssessions"] == me["smssessions"] and "channels" not in only
    plain = (await api.get("/api/v2/me")).json()["user"]
    assert "smssessions" not in plain
    r = await api.get("/api/v2/me?subresources=nonsense")
    assert r.json()["statusCode"] == 10


async def test_a_removed_agent_no_longer_reads_what_the_others_say(api: Api) -> None:
    d = await Desk.start(api)
    await d.conference("agent2")
    await d.op("agent1", "RemoveParticipantFromConference", targetUri=await d.user_uri("agent2"))
    shown = await d.transcript("agent2")
    assert shown[-1]["type"] == "ParticipantLeft" and shown[-1]["from"]["nickname"] == "Bob (agent2)"
    await d.conference("agent3")
    await d.op("agent3", "SendToAgents", text="not for Bob")
    await api.text("a customer text after Bob left")
    assert await d.transcript("agent2") == shown
    assert await d.transcript("agent2", "?startIndex=2&count=2") == shown[1:3]
    assert (await d.transcript("agent1"))[-1]["text"] == "a customer text after Bob left"


async def test_an_agent_revoked_before_joining_reads_only_up_to_then(api: Api) -> None:
    d = await Desk.start(api)
    await d.op("agent1", "Consult", targetUri=await d.user_uri("agent2"))
    before = await d.transcript("agent2")  # an invitee may read the transcript before accepting
    await d.op("agent1", "CancelConsult")
    api.clock.advance(1)
    await d.op("agent1", "SendMessage", text="after the consult was cancelled")
    assert await d.transcript("agent2") == before

"""SMS sessions end to end through the HTTP API: inbound SMS → queue → routing → Invited → Accept → messages
→ Complete, with the exact notifications each participant receives (what their CometD clients get)."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api, accepted

BIZ = "+15550000000"
CUST = "+15551230001"


def kinds(events: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    out = []
    for e in events:
        if e["_channel"] != "/v2/me/smssessions":
            continue
        detail = e["smssession"]["state"] if "smssession" in e else ",".join(m["type"] for m in e["messages"])
        out.append((e["messageType"], e["notificationType"], detail))
    return out


async def ready(api: Api, *names: str) -> None:
    for n in names:
        r = await api.post("/api/v2/me/channels/sms", {"operationName": "Ready"}, user=n)
        assert accepted(r.json()) == {"statusCode": 0}


async def offered_session(api: Api, agent: str = "agent1") -> str:
    await api.route()
    r = await api.get("/api/v2/me/smssessions?fields=*", user=agent)
    sessions = r.json()["smssessions"]
    assert len(sessions) == 1, sessions
    sid: str = sessions[0]["id"]
    return sid


async def test_inbound_is_queued_until_an_agent_is_ready(api: Api) -> None:
    ack = await api.text("Hello, my order is late")
    assert ack["statusCode"] == 0 and ack["messageId"]
    assert await api.route() == 0
    assert (await api.get("/api/v2/me/smssessions")).json() == {"statusCode": 0, "uris": []}
    await ready(api, "agent1")
    assert await api.route() == 1
    r = await api.get("/api/v2/me/smssessions")
    assert len(r.json()["uris"]) == 1 and r.json()["uris"][0].startswith(
        "http://127.0.0.1:8080/api/v2/smssessions/"
    )


async def test_offer_accept_converse_complete(api: Api) -> None:
    await ready(api, "agent1")
    await api.text("Hello")
    sid = await offered_session(api)
    r = await api.get(f"/api/v2/me/smssessions/{sid}")
    s = r.json()["smssession"]
    assert s["state"] == "Invited" and s["capabilities"] == ["Accept", "Reject"]
    assert s["userData"]["CustomerNumber"] == CUST and s["userData"]["BusinessNumber"] == BIZ

    r = await api.post(f"/api/v2/me/smssessions/{sid}", {"operationName": "Accept", "nickname": "Alice"})
    assert accepted(r.json()) == {"statusCode": 0}
    ev = await api.events("agent1")
    assert kinds(ev)[-4:] == [
        ("SMSsessionStateChangeMessage", "StatusChange", "Invited"),
        ("SMSsessionStateChangeMessage", "StatusChange", "Chatting"),
        ("SMSsessionStateChangeMessage", "ParticipantsUpdated", "Chatting"),
        ("MessageLogUpdated", "NewMessages", "ParticipantJoined,Text,ParticipantJoined"),
    ]
    replay = ev[-1]["messages"]
    assert [m["text"] for m in replay if m["type"] == "Text"] == ["Hello"]
    assert replay[0]["from"]["type"] == "Customer" and replay[2]["from"]["nickname"] == "Alice"
    assert ev[-1]["smssessionUri"] == f"http://127.0.0.1:8080/api/v2/smssessions/{sid}"

    r = await api.post(
        f"/api/v2/me/smssessions/{sid}", {"operationName": "SendMessage", "text": "How can I help?"}
    )
    assert accepted(r.json()) == {"statusCode": 0}
    await api.send_outbox()
    assert await api.phone() == ["How can I help?"]
    await api.text("Where is order 42?")
    last = (await api.events("agent1"))[-1]
    assert last["messages"][0]["text"] == "Where is order 42?" and last["messages"][0]["visibility"] == "All"

    r = await api.get(f"/api/v2/me/smssessions/{sid}/messages")
    texts = [m.get("text") for m in r.json()["messages"] if m["type"] == "Text"]
    assert texts == ["Hello", "How can I help?", "Where is order 42?"]
    mine = next(m for m in r.json()["messages"] if m.get("text") == "How can I help?")
    assert mine["status"] == "delivered"
    r = await api.get(f"/api/v2/me/smssessions/{sid}/messages?startIndex=2&count=1")
    assert [m["index"] for m in r.json()["messages"]] == [2]

    r = await api.post(f"/api/v2/me/smssessions/{sid}", {"operationName": "Complete"})
    assert accepted(r.json()) == {"statusCode": 0}
    assert kinds(await api.events("agent1"))[-1] == (
        "SMSsessionStateChangeMessage",
        "StatusChange",
        "Completed",
    )
    assert (await api.get("/api/v2/me/smssessions")).json()["uris"] == []


async def test_reject_routes_to_another_agent_and_timeout_revokes(api: Api) -> None:
    await ready(api, "agent1", "agent2")
    await api.text("Hi")
    await api.route()
    holders = {}
    for name in ("agent1", "agent2"):
        holders[name] = (await api.get("/api/v2/me/smssessions?fields=*", user=name)).json()["smssessions"]
    first = next(n for n, s in holders.items() if s)
    other = "agent2" if first == "agent1" else "agent1"
    sid = holders[first][0]["id"]
    r = await api.post(f"/api/v2/me/smssessions/{sid}", {"operationName": "Reject"}, user=first)
    assert accepted(r.json()) == {"statusCode": 0}
    assert kinds(await api.events(first))[-1][2] == "Completed"
    await api.route()
    s = (await api.get(f"/api/v2/me/smssessions/{sid}", user=other)).json()["smssession"]
    assert s["state"] == "Invited"
    api.clock.advance(api.rt.settings.offer_timeout_s + 1)
    await api.route()
    assert kinds(await api.events(other))[-1][2] == "Revoked"


async def test_two_agents_accepting_at_once_one_wins(api: Api) -> None:
    import asyncio

    await ready(api, "agent1")
    await api.text("Hi")
    sid = await offered_session(api)
    results = await asyncio.gather(
        *(api.post(f"/api/v2/me/smssessions/{sid}", {"operationName": "Accept"}) for _ in range(3))
    )
    codes = sorted(r.json()["statusCode"] for r in results)
    assert codes == [0, 2, 2]


async def test_operation_errors(api: Api) -> None:
    await ready(api, "agent1")
    await api.text("Hi")
    sid = await offered_session(api)
    cases = [
        ({"operationName": "SendMessage", "text": "x"}, 409, 2),
        ({"operationName": "Dance"}, 400, 10),
        ({}, 400, 1),
        ({"operationName": 7}, 400, 10),
    ]
    for body, status, code in cases:
        r = await api.post(f"/api/v2/me/smssessions/{sid}", body)
        assert (r.status_code, r.json()["statusCode"]) == (status, code), (body, r.json())
    r = await api.post(f"/api/v2/me/smssessions/{sid}", {"operationName": "Accept"}, user="agent2")
    assert r.json()["statusCode"] == 6  # not his session: looks like it does not exist
    r = await api.post("/api/v2/me/smssessions/NOPE", {"operationName": "Accept"})
    assert r.status_code == 404 and r.json()["statusCode"] == 6
    await api.post(f"/api/v2/me/smssessions/{sid}", {"operationName": "Accept"})
    r = await api.post(f"/api/v2/me/smssessions/{sid}", {"operationName": "SendMessage"})
    assert r.json()["statusCode"] == 1
    r = await api.post(f"/api/v2/me/smssessions/{sid}", {"operationName": "SendMessage", "text": 5})
    assert r.json()["statusCode"] == 10
    r = await api.get(f"/api/v2/me/smssessions/{sid}/messages?startIndex=x")
    assert r.json()["statusCode"] == 10


async def test_every_url_spelling_is_accepted(api: Api) -> None:
    await ready(api, "agent1")
    await api.text("Hi")
    sid = await offered_session(api)
    await api.post(f"/api/v2/me/smssessions/{sid}", {"operationName": "Accept"})
    for seg in ("smssessions", "smsessions", "smsssession", "smssession", "smsession"):
        for prefix in ("/api/v2/me", "/api/v2"):
            r = await api.post(f"{prefix}/{seg}/{sid}", {"operationName": "SendStartTypingNotification"})
            assert accepted(r.json()) == {"statusCode": 0}, (prefix, seg)
            r = await api.get(f"{prefix}/{seg}/{sid}")
            assert r.json()["smssession"]["id"] == sid


async def test_user_data_and_disposition(api: Api) -> None:
    await ready(api, "agent1")
    await api.text("Hi")
    sid = await offered_session(api)
    await api.post(f"/api/v2/me/smssessions/{sid}", {"operationName": "Accept"})
    url = f"/api/v2/me/smssessions/{sid}"
    for body in (
        {"operationName": "AttachUserData", "userData": {"A": "1", "B": 2}},
        {"operationName": "UpdateUserData", "userData": {"A": "x"}},
        {"operationName": "DeleteUserData", "keys": ["B"]},
        {"operationName": "SetDisposition", "disposition": "Resolved"},
    ):
        assert accepted((await api.post(url, body)).json()) == {"statusCode": 0}, body
    ev = (await api.events("agent1"))[-1]
    assert ev["notificationType"] == "PropertiesUpdated"
    ud = ev["smssession"]["userData"]
    assert ud["A"] == "x" and "B" not in ud and ud["DispositionCode"] == "Resolved"
    r = await api.post(url, {"operationName": "AttachUserData", "userData": "nope"})
    assert r.json()["statusCode"] == 10


async def test_transfer_to_queue_and_to_agent(api: Api) -> None:
    await ready(api, "agent1", "agent2")
    await api.text("Hi")
    await api.route()
    owners = [
        n for n in ("agent1", "agent2") if (await api.get("/api/v2/me/smssessions", user=n)).json()["uris"]
    ]
    owner = owners[0]
    other = "agent2" if owner == "agent1" else "agent1"
    sid = (await api.get("/api/v2/me/smssessions?fields=*", user=owner)).json()["smssessions"][0]["id"]
    await api.post(f"/api/v2/me/smssessions/{sid}", {"operationName": "Accept"}, user=owner)
    target = await api.user_id(other)
    r = await api.post(
        f"/api/v2/me/smssessions/{sid}",
        {"operationName": "Transfer", "targetUri": f"http://127.0.0.1:8080/api/v2/users/{target}"},
        user=owner,
    )
    assert r.json()["statusCode"] == 0
    s = (await api.get(f"/api/v2/me/smssessions/{sid}", user=other)).json()["smssession"]
    assert s["state"] == "Invited"
    await api.post(f"/api/v2/me/smssessions/{sid}", {"operationName": "Accept"}, user=other)
    assert kinds(await api.events(owner))[-1][2] == "Completed"
    r = await api.post(
        f"/api/v2/me/smssessions/{sid}", {"operationName": "Transfer", "queueName": "vip"}, user=other
    )
    assert r.json()["statusCode"] == 0
    assert kinds(await api.events(other))[-1][2] == "Completed"
    r = await api.post(
        f"/api/v2/me/smssessions/{sid}",
        {"operationName": "Transfer", "targetUri": "http://x/api/v2/users/ghost"},
        user=owner,
    )
    assert r.json()["statusCode"] in (6, 2)


async def test_opt_out_stops_sending(api: Api) -> None:
    await ready(api, "agent1")
    await api.text("Hi")
    sid = await offered_session(api)
    await api.post(f"/api/v2/me/smssessions/{sid}", {"operationName": "Accept"})
    await api.text("STOP")
    await api.send_outbox()
    assert any("unsubscribed" in t for t in await api.phone())
    s = (await api.get(f"/api/v2/me/smssessions/{sid}")).json()["smssession"]
    assert s["state"] == "LeftChat"
    await api.text("hello again")  # opted-out numbers open no session
    await api.route()
    assert len((await api.get("/api/v2/me/smssessions")).json()["uris"]) == 1
    await api.text("START")
    await api.send_outbox()
    assert "resubscribed" in (await api.phone())[-1]


async def test_duplicate_provider_message_is_stored_once(api: Api) -> None:
    from smsdesk.actions.inbound import receive_sms
    from smsdesk.sms.base import InboundSms

    m = InboundSms("twilio", "SM123", CUST, BIZ, "only once")
    a1 = await receive_sms(api.rt, m)
    a2 = await receive_sms(api.rt, m)
    assert not a1.duplicate and a2.duplicate
    rec = await api.rt.store.find_open_session(CUST, BIZ)
    assert rec is not None
    msgs = await api.rt.store.read_messages(rec.id)
    assert [m["text"] for m in msgs if m["type"] == "Text"] == ["only once"]

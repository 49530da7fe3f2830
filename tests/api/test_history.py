"""``GET /api/v2/smssessions``: customer history and transcript search, and who may see what."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api
from tests.api.test_session_flow import CUST, offered_session, ready
from tests.api.test_statistics import op
from tests.api.test_supervision_seed import supervise

OTHER = "+15551230009"


async def search(api: Api, query: str, user: str = "supervisor1", status: int = 200) -> dict[str, Any]:
    r = await api.get(f"/api/v2/smssessions?{query}", user=user)
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    return body


async def conversation(api: Api, agent: str, text: str, reply: str, customer: str = CUST) -> str:
    await ready(api, agent)
    await api.text(text, customer=customer)
    sid = await offered_session(api, agent)
    await op(api, sid, "Accept", user=agent)
    await op(api, sid, "SendMessage", user=agent, text=reply)
    return sid


async def finish(api: Api, sid: str, agent: str) -> None:
    await op(api, sid, "SetDisposition", user=agent, disposition="Resolved")
    await op(api, sid, "Complete", user=agent)
    r = await api.post("/api/v2/me/channels/sms", {"operationName": "NotReady"}, user=agent)
    assert r.json()["statusCode"] == 0
    api.clock.advance(60)  # the next session starts later: newest first is well defined


async def test_a_supervisor_finds_a_customers_history_with_transcripts(api: Api) -> None:
    first = await conversation(api, "agent1", "my parcel is late", "Sorry, checking")
    await finish(api, first, "agent1")
    api.clock.advance(3600)
    second = await conversation(api, "agent2", "parcel arrived, thanks", "Great")
    body = await search(api, f"customerNumber=%2B{CUST[1:]}&fields=*")
    assert [s["id"] for s in body["smssessions"]] == [second, first]
    old = body["smssessions"][1]
    assert old["agent"]["userName"] == "agent1" and old["disposition"] == "Resolved"
    assert old["endedDate"] is not None and old["customerNumber"] == CUST
    assert [m["text"] for m in old["messages"] if m["type"] == "Text"] == [
        "my parcel is late",
        "Sorry, checking",
    ]
    assert (body["offset"], body["limit"], body["more"]) == (0, 20, False)
    plain = await search(api, f"customerNumber={CUST}")  # an unencoded "+" reads as a space
    assert plain["uris"] == [s["uri"] for s in body["smssessions"]]
    assert (await search(api, "q=LATE+parcel"))["uris"] == [old["uri"]]
    assert (await search(api, "agent=agent2"))["uris"] == [body["smssessions"][0]["uri"]]
    assert (await search(api, "queue=nowhere"))["uris"] == []
    paged = await search(api, f"customerNumber=%2B{CUST[1:]}&limit=1&offset=1")
    assert paged["uris"] == [old["uri"]] and paged["more"] is False


async def test_an_agent_sees_their_sessions_and_their_current_customers_history(api: Api) -> None:
    assert (await supervise(api, "Coach")).json() == {"statusCode": 0}  # joins agent1's next session
    first = await conversation(api, "agent1", "hello there", "hi from agent1")
    await op(api, first, "SendMessage", user="supervisor1", text="internal note")  # to agents only
    await finish(api, first, "agent1")
    unrelated = await conversation(api, "agent3", "other customer", "hi", customer=OTHER)
    await finish(api, unrelated, "agent3")
    # agent2 had no part in either: sees nothing, even when asking for the customer by number
    assert (await search(api, f"customerNumber=%2B{CUST[1:]}", user="agent2"))["uris"] == []
    current = await conversation(api, "agent2", "me again", "welcome back")
    body = await search(api, f"customerNumber=%2B{CUST[1:]}&fields=*", user="agent2")
    assert [s["id"] for s in body["smssessions"]] == [current, first]
    seen = [m.get("text") for m in body["smssessions"][1]["messages"] if m["type"] == "Text"]
    assert seen == ["hello there", "hi from agent1"]  # not the note the customer never saw
    assert (await search(api, "", user="agent2"))["uris"] == [s["uri"] for s in body["smssessions"]]
    assert (await search(api, f"customerNumber=%2B{OTHER[1:]}", user="agent2"))["uris"] == []
    mine = await search(api, "fields=*", user="agent1")
    assert [s["id"] for s in mine["smssessions"]] == [first]  # agent2's current one is not agent1's
    notes = [m.get("text") for m in mine["smssessions"][0]["messages"] if m["type"] == "Text"]
    assert "internal note" in notes  # agent1 took part: sees what it saw


async def test_bad_parameters_are_clear_errors(api: Api) -> None:
    for query in (
        "customerNumber=hello",
        "from=yesterday",
        "to=2026-13-01",
        "limit=0",
        "limit=101",
        "offset=-1",
        "agent=nobody",
    ):
        body = await search(api, query, status=400)
        assert body["statusCode"] != 0 and body["statusMessage"], query

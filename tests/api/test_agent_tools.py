"""Agent tools (docs/api.md, "Agent tools"): standard responses (search, changes by supervisors and admins only,
placeholders filled for a session) and contact notes (who may read and write them; never sent)."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api, accepted, basic
from tests.api.test_session_flow import offered_session, ready

GREETING = {
    "name": "Greeting",
    "category": "Openings",
    "text": "Hi, {agentNickname} ({agentFirstName}) here. Is {customerNumber} your number? Order {userData.order}",
}


async def _put(api: Api, path: str, body: Any, user: str) -> Any:
    return await api.client.put(path, json=body, headers=basic(user))


async def _add(api: Api, body: dict[str, Any], user: str = "supervisor1") -> dict[str, Any]:
    r = await api.post("/api/v2/responses", body, user=user)
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()["response"]
    return out


async def _chatting(api: Api, agent: str = "agent1", customer: str = "+15551230001") -> str:
    await ready(api, agent)
    await api.text("Where is my order?", customer=customer)
    sid = await offered_session(api, agent)
    r = await api.post(f"/api/v2/me/smssessions/{sid}", {"operationName": "Accept"}, user=agent)
    assert accepted(r.json()) == {"statusCode": 0}
    return sid


async def test_supervisors_and_admins_add_change_and_delete_responses(api: Api) -> None:
    greeting = await _add(api, GREETING)
    bye = await _add(api, {"name": "Bye", "category": "Closings", "text": "Thanks, goodbye"}, user="admin")
    assert greeting["uri"].endswith(f"/api/v2/responses/{greeting['id']}")
    listed = (await api.get("/api/v2/responses")).json()["responses"]
    assert [r["name"] for r in listed] == ["Bye", "Greeting"]  # by category, then name

    r = await _put(api, f"/api/v2/responses/{bye['id']}", {"name": "Bye", "text": "See you"}, "supervisor1")
    assert r.json()["response"] == {**bye, "category": "", "text": "See you"}
    assert (await api.get(f"/api/v2/responses/{bye['id']}")).json()["response"]["text"] == "See you"

    assert (await api.delete(f"/api/v2/responses/{bye['id']}", user="supervisor1")).json() == {
        "statusCode": 0
    }
    r = await api.delete(f"/api/v2/responses/{bye['id']}", user="supervisor1")
    assert r.status_code == 404 and r.json()["statusCode"] == 6
    assert [x["id"] for x in (await api.get("/api/v2/responses")).json()["responses"]] == [greeting["id"]]


async def test_agents_read_but_never_change_responses(api: Api) -> None:
    greeting = await _add(api, GREETING)
    r = await api.post("/api/v2/responses", GREETING, user="agent1")
    assert r.status_code == 403 and r.json()["statusCode"] == 5
    r = await _put(api, f"/api/v2/responses/{greeting['id']}", GREETING, "agent1")
    assert r.status_code == 403 and r.json()["statusCode"] == 5
    r = await api.delete(f"/api/v2/responses/{greeting['id']}", user="agent1")
    assert r.status_code == 403 and r.json()["statusCode"] == 5
    assert (await api.get(f"/api/v2/responses/{greeting['id']}")).json()["response"] == greeting
    # an unknown one is not found, for anyone
    r = await _put(api, "/api/v2/responses/nope", GREETING, "supervisor1")
    assert r.status_code == 404 and r.json()["statusCode"] == 6


async def test_responses_need_credentials(api: Api) -> None:
    for r in (
        await api.client.get("/api/v2/responses"),
        await api.client.post("/api/v2/responses", json=GREETING),
        await api.client.get("/api/v2/contacts/%2B15551230001/notes"),
    ):
        assert r.status_code == 401 and r.json()["statusCode"] != 0


async def test_search_matches_every_word_in_name_category_or_text_and_the_category(api: Api) -> None:
    await _add(api, GREETING)
    await _add(api, {"name": "Refund policy", "category": "Billing", "text": "Refunds take 5 days"})
    await _add(api, {"name": "Late order", "category": "Shipping", "text": "Your ORDER ships today"})

    async def names(**params: str) -> list[str]:
        r = await api.get("/api/v2/responses", params=params)
        assert r.status_code == 200, r.text
        return [x["name"] for x in r.json()["responses"]]

    assert await names(q="order") == ["Greeting", "Late order"]  # text of one, name and text of the other
    assert await names(q="ORDER today") == ["Late order"]  # every word, any case
    assert await names(q="billing") == ["Refund policy"]  # the category is searched
    assert await names(category="billing") == ["Refund policy"]
    assert await names(q="order", category="Shipping") == ["Late order"]
    assert await names(q="nothing-like-this") == []
    r = await api.get("/api/v2/responses", params={"q": "x" * 201})
    assert r.status_code == 400 and r.json()["statusCode"] == 10


async def test_bad_bodies_are_refused_with_a_statuscode(api: Api) -> None:
    for body, code in (
        ({"category": "c", "text": "t"}, 1),
        ({"name": "n", "category": "c"}, 1),
        ({"name": "   ", "text": "t"}, 10),
        ({"name": "n", "text": 5}, 10),
        ({"name": "n" * 101, "text": "t"}, 10),
        ({"name": "n", "text": "t" * 2001}, 10),
    ):
        r = await api.post("/api/v2/responses", body, user="supervisor1")
        assert r.status_code == 400 and r.json()["statusCode"] == code, (body, r.text)
    r = await api.client.post(
        "/api/v2/responses", content=b"name=x", headers={**basic("supervisor1"), "content-type": "text/plain"}
    )
    assert r.status_code == 415
    assert (await api.get("/api/v2/responses")).json()["responses"] == []


async def test_placeholders_are_filled_for_a_session_of_the_caller(api: Api) -> None:
    greeting = await _add(api, GREETING)
    sid = await _chatting(api)
    r = await api.post(
        f"/api/v2/me/smssessions/{sid}",
        {"operationName": "AttachUserData", "userData": {"order": 4711}},
    )
    assert accepted(r.json()) == {"statusCode": 0}
    r = await api.get(f"/api/v2/responses/{greeting['id']}", params={"session": sid})
    assert r.json()["response"]["filledText"] == (
        "Hi, Alice (agent1) (agent1) here. Is +15551230001 your number? Order 4711"
    )
    assert r.json()["response"]["text"] == GREETING["text"]  # the stored text stays as written
    # another agent's session is not found; a supervisor fills it as themselves
    r = await api.get(f"/api/v2/responses/{greeting['id']}", params={"session": sid}, user="agent2")
    assert r.status_code == 404 and r.json()["statusCode"] == 6
    r = await api.get(f"/api/v2/responses/{greeting['id']}", params={"session": sid}, user="supervisor1")
    assert r.json()["response"]["filledText"].startswith("Hi, Sam (supervisor1) (supervisor1) here.")
    # filling sends nothing to the customer
    await api.send_outbox()
    assert not any("Alice" in t for t in await api.phone())


async def test_contact_notes_are_kept_and_never_sent(api: Api) -> None:
    customer = "+15551230001"
    path = "/api/v2/contacts/%2B15551230001/notes"
    sid = await _chatting(api, customer=customer)
    r = await api.post(path, {"text": "Prefers mornings"})
    assert r.status_code == 200, r.text
    note = r.json()["note"]
    assert note["customerNumber"] == customer and note["authorName"] == "Alice (agent1)"
    api.clock.advance(1)
    r = await api.post(path, {"text": "VIP since 2020"}, user="supervisor1")
    assert r.status_code == 200, r.text
    texts = [n["text"] for n in (await api.get(path)).json()["notes"]]
    assert texts == ["Prefers mornings", "VIP since 2020"]
    # the agent keeps them after the session is over
    for op in ("Leave", "Complete"):
        await api.post(f"/api/v2/me/smssessions/{sid}", {"operationName": op})
    assert len((await api.get(path)).json()["notes"]) == 2
    # never in the transcript, never sent
    await api.send_outbox()
    assert not any("mornings" in t for t in await api.phone(customer))
    messages = (await api.get(f"/api/v2/smssessions/{sid}/messages", user="supervisor1")).json()["messages"]
    assert not any("mornings" in str(m) for m in messages)


async def test_an_agent_reads_only_the_notes_of_their_customers(api: Api) -> None:
    await _chatting(api, customer="+15551230001")
    path = "/api/v2/contacts/%2B15551230001/notes"
    assert (await api.post(path, {"text": "a note"}, user="supervisor1")).status_code == 200
    for r in (await api.get(path, user="agent2"), await api.post(path, {"text": "x"}, user="agent2")):
        assert r.status_code == 404 and r.json()["statusCode"] == 6
    assert len((await api.get(path, user="supervisor2")).json()["notes"]) == 1
    r = await api.get("/api/v2/contacts/15551230001/notes", user="supervisor1")
    assert r.status_code == 400 and r.json()["statusCode"] == 10
    for body, code in (({}, 1), ({"text": "  "}, 10), ({"text": "x" * 2001}, 10)):
        r = await api.post(path, body)
        assert r.status_code == 400 and r.json()["statusCode"] == code, body

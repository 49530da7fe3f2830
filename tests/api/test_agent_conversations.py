"""Agent-started conversations (docs/api.md, "Agent-started conversations"): ``POST /api/v2/me/smssessions``
``{"operationName": "Create", ...}`` creates a session with the agent Chatting, counted against capacity, the
first SMS sent through the business number's provider; the customer's reply continues it; supervisors'
monitoring applies; each refusal has its statusCode."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from smsdesk.clock import FakeClock
from tests.api.conftest import Api, basic, make_api
from tests.api.test_session_flow import ready
from tests.api.test_supervision_seed import monitor

OURS = "+15550000000"
CUSTOMER = "+15557770001"


@pytest.fixture
async def api(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Api]:
    # the business number is ours: mapped to a queue (or bound to a provider by name)
    async for a in make_api(tmp_path, clock, number_queues={OURS: "billing"}, default_capacity=2):
        yield a


def create(customer: str = CUSTOMER, business: str = OURS, text: str = "Your order 4711 shipped") -> Any:
    return {"operationName": "Create", "customerNumber": customer, "businessNumber": business, "text": text}


async def test_the_agent_is_chatting_the_sms_goes_out_and_the_reply_continues_it(api: Api) -> None:
    await ready(api, "agent1")
    r = await api.post("/api/v2/me/smssessions", create(customer="+1 555 777 0001"))
    assert r.status_code == 200, r.text
    s = r.json()["smssession"]
    sid = s["id"]
    assert s["state"] == "Chatting" and "SendMessage" in s["capabilities"] and "Complete" in s["capabilities"]
    assert s["userData"]["CustomerNumber"] == CUSTOMER and s["userData"]["StartedBy"] == "agent1"
    assert (await api.rt.store.agent_loads()).get(await api.user_id("agent1")) == 1
    await api.send_outbox()
    assert await api.phone(CUSTOMER) == ["Your order 4711 shipped"]
    # the agent's desktop hears of it as of any session
    states = [e.get("smssession", {}).get("state") for e in await api.events("agent1")]
    assert "Chatting" in states and "Invited" not in states  # nothing rings for what the agent starts

    await api.text("Thanks! When does it arrive?", customer=CUSTOMER, business=OURS)
    await api.route()
    assert (await api.get("/api/v2/me/smssessions")).json()["uris"] == [s["uri"]]
    texts = [
        m.get("text") for m in (await api.get(f"/api/v2/me/smssessions/{sid}/messages")).json()["messages"]
    ]
    assert texts[-2:] == ["Your order 4711 shipped", "Thanks! When does it arrive?"]
    # and the agent answers in it as usual
    r = await api.post(f"/api/v2/me/smssessions/{sid}", {"operationName": "SendMessage", "text": "Tomorrow"})
    assert r.json()["statusCode"] == 0
    await api.send_outbox()
    assert (await api.phone(CUSTOMER))[-1] == "Tomorrow"


async def test_it_counts_against_capacity(api: Api) -> None:
    await ready(api, "agent1")
    for n in (1, 2):
        r = await api.post("/api/v2/me/smssessions", create(customer=f"+1555777000{n}"))
        assert r.status_code == 200, r.text
    r = await api.post("/api/v2/me/smssessions", create(customer="+15557770003"))
    assert r.status_code == 409 and r.json()["statusCode"] == 19, r.text
    # and the router offers this agent nothing more
    await api.text("Hello?", customer="+15557770009", business=OURS)
    await api.route()
    assert len((await api.get("/api/v2/me/smssessions")).json()["uris"]) == 2


async def test_supervisors_monitoring_applies(api: Api) -> None:
    await monitor(api, supervisorMonitoringMode="AllChats")
    await ready(api, "agent1")
    sid = (await api.post("/api/v2/me/smssessions", create())).json()["smssession"]["id"]
    s = (await api.get(f"/api/v2/smssessions/{sid}", user="supervisor1")).json()["smssession"]
    assert "supervisor1" in {p["nickname"] for p in s["participants"]}


@pytest.mark.parametrize(
    ("body", "http", "code"),
    [
        ({**create(), "operationName": "Accept"}, 400, 10),
        ({"operationName": "Create", "businessNumber": OURS, "text": "x"}, 400, 1),
        ({**create(), "text": "   "}, 400, 10),
        (create(customer="+1555"), 400, 10),  # impossible
        (create(customer="call me"), 400, 10),
        (create(business="+15559999999"), 404, 6),  # not ours
    ],
)
async def test_bad_requests_are_refused(api: Api, body: Any, http: int, code: int) -> None:
    await ready(api, "agent1")
    r = await api.post("/api/v2/me/smssessions", body)
    assert (r.status_code, r.json()["statusCode"]) == (http, code), r.text
    assert (await api.get("/api/v2/me/smssessions")).json()["uris"] == []


async def test_refusals_by_state(api: Api) -> None:
    # an agent without an SMS channel session
    r = await api.post("/api/v2/me/smssessions", create(), user="agent3")
    assert (r.status_code, r.json()["statusCode"]) == (409, 2), r.text
    # a supervisor is not an agent
    r = await api.post("/api/v2/me/smssessions", create(), user="supervisor1")
    assert (r.status_code, r.json()["statusCode"]) == (403, 5), r.text
    # an opted-out customer
    await ready(api, "agent1")
    await api.text("STOP", customer="+15557770005", business=OURS)
    r = await api.post("/api/v2/me/smssessions", create(customer="+15557770005"))
    assert (r.status_code, r.json()["statusCode"]) == (403, 3), r.text
    # a customer with a conversation open on that number already
    assert (await api.post("/api/v2/me/smssessions", create())).status_code == 200
    r = await api.post("/api/v2/me/smssessions", create(), user="agent1")
    assert (r.status_code, r.json()["statusCode"]) == (409, 18), r.text
    # not JSON
    r = await api.client.post(
        "/api/v2/me/smssessions", content=b"x", headers={**basic("agent1"), "content-type": "text/plain"}
    )
    assert r.status_code == 415
    # no credentials (the client's cookie forgotten)
    api.client.cookies.clear()
    assert (await api.client.post("/api/v2/me/smssessions", json=create())).status_code == 401
    await api.send_outbox()
    assert await api.phone("+15557770005") == [
        "You have been unsubscribed and will receive no more messages. Reply START to resubscribe."
    ]

"""Queues and skills end to end (docs/routing.md): HTTP, the router and real CometD clients.

Business numbers map to queues; a queue is served by agents holding its skills at the levels asked (longest
idle first among them), higher-priority queues first, and a session waiting past its queue's
``overflow_after_s`` moves to ``overflow_to``; transfers to unknown queues are refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from smsdesk.clock import FakeClock
from tests.routing.live import CUST, Listener, Live, eventually, listener, live, tick

pytestmark = [pytest.mark.timeout(120), pytest.mark.filterwarnings("ignore::DeprecationWarning")]

SESSIONS = "/v2/me/smssessions"
BILLING_NUMBER = "+15550000009"
QUEUES = {
    "billing": {"skills": {"billing": 3}, "priority": 5, "overflow_after_s": 60, "overflow_to": "default"},
}
SETTINGS: dict[str, Any] = {
    "presence_grace_s": 0,
    "queues": QUEUES,
    "number_queues": {BILLING_NUMBER: "billing"},
    "default_capacity": 1,
}


def invited(lst: Listener) -> list[dict[str, Any]]:
    return [
        d["smssession"]
        for d in lst.data(SESSIONS)
        if d.get("notificationType") == "StatusChange" and d["smssession"]["state"] == "Invited"
    ]


async def text_to(srv: Live, business: str, customer: str, text: str = "Hello") -> None:
    r = await srv.http.post("/sms/simulator/inbound", json={"from": customer, "to": business, "text": text})
    assert r.json()["statusCode"] == 0, r.text


async def skill(srv: Live, user: str, name: str, level: int) -> None:
    uid = await srv.user_id(user)
    r = await srv.post(f"/api/v2/users/{uid}/skills", {"name": name, "level": level}, "admin")
    assert r == {"statusCode": 0}, r


async def queue_of(srv: Live, customer: str) -> str:
    rec = await srv.app.state.rt.store.latest_session(customer, BILLING_NUMBER)
    assert rec is not None
    return str(rec.queue)


async def test_a_queue_goes_to_the_skilled_agent_and_the_default_queue_to_anyone(tmp_path: Path) -> None:
    async with (
        live(tmp_path, **SETTINGS) as srv,
        listener(srv.url, "agent1", SESSIONS) as a1,
        listener(srv.url, "agent2", SESSIONS) as a2,
    ):
        await skill(srv, "agent1", "billing", 2)  # below the level billing asks for
        await skill(srv, "agent2", "billing", 3)
        await srv.ready("agent1")  # idle the longest
        await srv.ready("agent2")
        await text_to(srv, BILLING_NUMBER, "+15551110001", "About my invoice")
        assert await srv.route() == 1
        await eventually(lambda: len(invited(a2)) == 1, what="agent2 offered the billing session")
        await srv.text("Hi", customer=CUST)  # an unmapped number: the default queue, no skills
        assert await srv.route() == 1
        await eventually(lambda: len(invited(a1)) == 1, what="agent1 offered the default session")


async def test_higher_priority_queue_first_and_overflow_after_the_wait(tmp_path: Path) -> None:
    clock = FakeClock()
    async with (
        live(tmp_path, clock=clock, **SETTINGS) as srv,
        listener(srv.url, "agent3", SESSIONS) as a3,
    ):
        await skill(srv, "agent3", "billing", 9)
        await srv.text("first, in the default queue", customer="+15551110002")
        clock.advance(5)
        await text_to(srv, BILLING_NUMBER, "+15551110003", "second, in billing")
        await srv.ready("agent3")  # capacity 1: one of the two
        assert await srv.route() == 1
        await eventually(lambda: len(invited(a3)) == 1, what="agent3 offered")
        assert invited(a3)[0]["userData"]["Queue"] == "billing"
        sid = invited(a3)[0]["id"]
        rec = await srv.app.state.rt.store.get_session(sid)
        assert rec is not None and rec.queue == "billing"  # priority 5 before the older default session

    # overflow: nobody with the billing skill is there; after 60 s the session moves to the default queue
    clock = FakeClock()
    async with (
        live(tmp_path, "overflow", clock=clock, **SETTINGS) as srv,
        listener(srv.url, "agent1", SESSIONS) as a1,
    ):
        await text_to(srv, BILLING_NUMBER, "+15551110004", "Anyone?")
        await srv.ready("agent1")  # no billing skill
        assert await srv.route() == 0
        await tick(clock, 55, srv)
        assert invited(a1) == [] and await queue_of(srv, "+15551110004") == "billing"
        await tick(clock, 10, srv)
        await eventually(lambda: len(invited(a1)) == 1, what="agent1 offered after the overflow")
        data = invited(a1)[0]["userData"]
        assert data["OverflowedFrom"] == "billing" and data["Queue"] == "default"
        assert await queue_of(srv, "+15551110004") == "default"


async def test_transfer_and_complete_use_the_configured_queues(tmp_path: Path) -> None:
    async with live(tmp_path, **SETTINGS) as srv:
        await srv.ready("agent1")
        await srv.text()
        assert await srv.route() == 1
        (sid,) = await srv.sessions("agent1")
        assert (await srv.post(f"/api/v2/me/smssessions/{sid}", {"operationName": "Accept"}))[
            "statusCode"
        ] == 0
        for body in (
            {"operationName": "Transfer", "queueName": "nowhere"},
            {"operationName": "Complete", "queueName": "nowhere"},
            {"operationName": "Consult", "targetUri": "http://x/api/v2/queues/nowhere"},
        ):
            r = await srv.post(f"/api/v2/me/smssessions/{sid}", body)
            assert r["statusCode"] == 10 and "Unknown queue 'nowhere'" in r["statusMessage"], r
        r = await srv.post(
            f"/api/v2/me/smssessions/{sid}", {"operationName": "Transfer", "queueName": "billing"}
        )
        assert r["statusCode"] == 0, r
        rec = await srv.app.state.rt.store.get_session(sid)
        assert rec is not None and rec.queue == "billing" and rec.waiting

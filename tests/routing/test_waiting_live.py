"""Waiting customers end to end (docs/routing.md): the place-in-line reply and business hours, through HTTP,
the router, the outbox to the simulator's phones, and real CometD clients of the agents.

Each reply is sent once per session, through the outbox like any reply, never to an opted-out number; outside
business hours the session waits for the opening and is offered then."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from smsdesk.clock import FakeClock
from smsdesk.store.base import Change
from tests.routing.live import Listener, Live, eventually, listener, live

pytestmark = [pytest.mark.timeout(120), pytest.mark.filterwarnings("ignore::DeprecationWarning")]

SESSIONS = "/v2/me/smssessions"
QUEUE_REPLY = "You are number {position} in line; we usually answer within {wait}."
CLOSED_REPLY = "We are closed. We will answer from {opens}."
# FakeClock starts at 2023-11-14 22:13:20 UTC, a Tuesday night
START = datetime.fromtimestamp(FakeClock().now_ms() / 1000, UTC)


async def phone(srv: Live, customer: str) -> list[str]:
    await srv.app.state.outbox.run_once()
    r = await srv.http.get("/sms/simulator/outbound", params={"to": customer})
    return [m["text"] for m in r.json()["messages"]]


def invited(lst: Listener) -> list[dict[str, Any]]:
    return [
        d["smssession"]
        for d in lst.data(SESSIONS)
        if d.get("notificationType") == "StatusChange" and d["smssession"]["state"] == "Invited"
    ]


async def test_the_place_in_line_reply_once_per_session_with_an_estimate(tmp_path: Path) -> None:
    clock = FakeClock()
    async with (
        live(tmp_path, clock=clock, presence_grace_s=0, queue_reply=QUEUE_REPLY, default_capacity=1) as srv,
        listener(srv.url, "agent1", SESSIONS) as a1,
    ):
        await srv.text("first", customer="+15551112001")
        clock.advance(1)
        await srv.text("second", customer="+15551112002")
        await srv.route()
        await srv.route()  # a second pass sends nothing more
        await srv.text("still there?", customer="+15551112001")
        await srv.route()
        assert await phone(srv, "+15551112001") == [
            "You are number 1 in line; we usually answer within a few minutes."
        ]
        assert await phone(srv, "+15551112002") == [
            "You are number 2 in line; we usually answer within a few minutes."
        ]
        clock.advance(149)  # the first has waited 2.5 minutes when agent1 comes
        await srv.ready("agent1")
        assert await srv.route() == 1
        await eventually(lambda: len(invited(a1)) == 1, what="agent1 offered the first session")
        await srv.text("hello", customer="+15551112003")
        await srv.route()
        texts = await phone(srv, "+15551112003")  # number 2: the second customer still waits before it
        assert texts == ["You are number 2 in line; we usually answer within 2 minutes."]
        # the transcript keeps the reply as a system text, as the agent sees it after Accept
        sid = invited(a1)[0]["id"]
        r = await srv.post(f"/api/v2/me/smssessions/{sid}", {"operationName": "Accept"})
        assert r["statusCode"] == 0
        body = await srv.get(f"/api/v2/me/smssessions/{sid}/messages")
        said = [(m["from"]["type"], m.get("text")) for m in body["messages"] if m["type"] == "Text"]
        assert said[:2] == [
            ("Customer", "first"),
            ("System", QUEUE_REPLY.format(position=1, wait="a few minutes")),
        ]


async def test_an_opted_out_number_gets_no_auto_reply(tmp_path: Path) -> None:
    async with live(tmp_path, presence_grace_s=0, queue_reply=QUEUE_REPLY) as srv:
        await srv.text("hi", customer="+15551112009")
        await srv.app.state.rt.commit(Change(opt_outs=[("+15551112009", True)]))  # STOP raced the pass
        await srv.route()
        assert await phone(srv, "+15551112009") == []
        rec = await srv.app.state.rt.store.latest_session("+15551112009", "+15550000000")
        assert rec is not None and rec.data.get("autoReplies") == ["queue"]  # not tried again


async def test_outside_business_hours_the_customer_is_told_and_waits_for_the_opening(tmp_path: Path) -> None:
    clock = FakeClock()
    hours = {
        "tz": "UTC",
        "weekly": {"wed": ["09:00-17:00"], "thu": ["09:00-17:00"]},
        "holidays": ["2023-11-15"],
    }
    settings = {
        "presence_grace_s": 0,
        "hours": hours,
        "closed_reply": CLOSED_REPLY,
        "queue_reply": QUEUE_REPLY,
    }
    async with live(tmp_path, clock=clock, **settings) as srv, listener(srv.url, "agent1", SESSIONS) as a1:
        assert START.strftime("%A %H:%M") == "Tuesday 22:13"
        await srv.ready("agent1")
        await srv.text("anyone?", customer="+15551112010")
        assert await srv.route() == 0  # closed: not offered although agent1 is Ready
        await srv.route()
        assert await phone(srv, "+15551112010") == ["We are closed. We will answer from Thursday 09:00."]
        clock.advance(24 * 3600)  # Wednesday night: a holiday, still closed
        assert await srv.route() == 0
        clock.advance(11 * 3600)  # Thursday 09:13
        assert await srv.route() == 1
        await eventually(lambda: len(invited(a1)) == 1, what="offered at the opening")
        assert await phone(srv, "+15551112010") == ["We are closed. We will answer from Thursday 09:00."]

"""A whole customer conversation through Twilio, end to end: the full app under uvicorn, an agent on the GWS
REST API and a real CometD client (aiocometd-ng), and a loopback fake of Twilio that posts signed webhooks and
serves the Messages REST API (``e2e_harness.FakeTwilio``).

Also: opt-out through Twilio, a send refused for good, and a restart between the inbound and the reply.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiocometd_ng.client import Client
from aiocometd_ng.constants import ConnectionType
from aiocometd_ng.extensions import AuthExtension

from smsdesk.actions.inbound import OPT_IN_REPLY, OPT_OUT_REPLY
from smsdesk.sms.routes import EMPTY_TWIML
from tests.sms.e2e_harness import (
    SIM_BIZ,
    SMS_CHANNEL,
    Agent,
    Desk,
    Twilio,
    basic_auth,
    notices,
    running_desk,
    status_updates,
    wait_until,
)
from tests.sms.e2e_harness import (
    TWILIO_BIZ as BIZ,
)
from tests.sms.e2e_harness import (
    TWILIO_CUST as CUST,
)

pytestmark = [
    pytest.mark.timeout(60),
    # aiocometd-ng 0.5.6 calls aiohttp with arguments aiohttp now deprecates: their warnings are not ours
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]


class _BasicAuth(AuthExtension):  # type: ignore[misc]
    def __init__(self, user: str) -> None:
        self.header = basic_auth(user)

    async def outgoing(self, payload: Any, headers: Any) -> None:
        headers["Authorization"] = self.header
        for message in payload:  # this desktop asks for delivery statuses (docs/notifications.md)
            if message.get("channel") == "/meta/handshake":
                message.setdefault("ext", {})["messagesUpdated"] = True

    async def incoming(self, payload: Any, headers: Any = None) -> None:
        return None


async def received(client: Client, match: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """Read the client's messages until one matches (fails after 10 s)."""
    async with asyncio.timeout(10):
        while True:
            message: dict[str, Any] = await client.receive()
            if message.get("channel") == SMS_CHANNEL and match(message["data"]):
                return message


async def chatting(agent: Agent, twilio: Twilio, desk: Desk, first: str) -> str:
    """The customer texts ``first`` through Twilio; the agent is offered the session and accepts it."""
    await agent.ready()
    await twilio.text(desk, first)
    session = await agent.offered()
    assert (await agent.operation(session["id"], "Accept"))["statusCode"] == 0
    sid: str = session["id"]
    return sid


async def status_of(agent: Agent, sid: str, text: str, expected: str) -> None:
    async def reached() -> bool:
        return (await agent.message(sid, text)).get("status") == expected

    await wait_until(reached, what=f"{text!r} to show status {expected!r}")


async def test_whole_conversation_through_twilio(desk: Desk, twilio: Twilio) -> None:
    agent = desk.agent("agent1")
    await agent.ready()
    url = f"{desk.url}/api/v2/notifications"
    async with Client(url, ConnectionType.LONG_POLLING, auth=_BasicAuth("agent1")) as cometd:
        await cometd.subscribe(SMS_CHANNEL)
        await twilio.text(desk, "Hi, is my order shipped?", sid="SM" + "1" * 32)
        offer = await received(cometd, lambda d: d.get("smssession", {}).get("state") == "Invited")
        sid = offer["data"]["smssession"]["id"]
        session = await agent.session(sid)
        assert session["userData"]["Provider"] == "twilio"
        assert (session["userData"]["CustomerNumber"], session["userData"]["BusinessNumber"]) == (CUST, BIZ)
        assert (await agent.operation(sid, "Accept", nickname="Alice"))["statusCode"] == 0

        reply = "It ships today. Anything else?"
        assert (await agent.operation(sid, "SendMessage", text=reply))["statusCode"] == 0
        (sent,) = await twilio.fake.wait_sent(1)
        assert {k: sent[k] for k in ("To", "From", "Body")} == {"To": CUST, "From": BIZ, "Body": reply}
        assert sent["StatusCallback"].startswith(f"{desk.url}/sms/twilio/status?outbox=")
        await status_of(agent, sid, reply, "queued")  # what the REST API answered
        for status in ("sent", "delivered"):
            r = await twilio.fake.report(sent, status)
            assert (r.status_code, r.text) == (200, EMPTY_TWIML)
        await status_of(agent, sid, reply, "delivered")
        update = await received(
            cometd,
            lambda d: (
                d.get("notificationType") == "MessagesUpdated"
                and d["messages"][0].get("status") == "delivered"
            ),
        )
        assert update["data"]["messageType"] == "MessageLogUpdated"
        assert update["data"]["messages"][0]["text"] == reply
        assert update["data"]["smssessionUri"].endswith(f"/api/v2/smssessions/{sid}")

        late = await twilio.fake.report(sent, "sent")  # a callback that arrives out of order
        assert late.status_code == 200
        assert (await agent.message(sid, reply))["status"] == "delivered"
        assert status_updates(await agent.events()) == [
            (reply, "queued"),
            (reply, "sent"),
            (reply, "delivered"),
        ]

        await twilio.text(desk, "No, that's all. Thanks!", sid="SM" + "2" * 32)
        await twilio.text(desk, "No, that's all. Thanks!", sid="SM" + "2" * 32)  # Twilio retries
        new = await received(cometd, lambda d: d.get("notificationType") == "NewMessages")
        assert [m["text"] for m in new["data"]["messages"]] == ["No, that's all. Thanks!"]
        assert (await agent.operation(sid, "Complete"))["statusCode"] == 0
        await received(cometd, lambda d: d.get("smssession", {}).get("state") == "Completed")

    texts = [m.get("text") for m in await agent.messages(sid) if m["type"] == "Text"]
    assert texts == ["Hi, is my order shipped?", reply, "No, that's all. Thanks!"]
    assert await agent.sessions() == []
    assert twilio.fake.to(CUST) == [reply]


async def test_bad_signature_is_refused_and_changes_nothing(desk: Desk, twilio: Twilio) -> None:
    agent = desk.agent("agent1")
    await agent.ready()
    twilio.fake.auth_token = "not-the-token"
    r = await twilio.fake.text(desk.url, customer=CUST, business=BIZ, body="forged")
    assert r.status_code == 403 and "X-Twilio-Signature" in r.json()["statusMessage"]
    await asyncio.sleep(0.3)
    assert await agent.sessions() == []
    assert await desk.rt.store.find_open_session(CUST, BIZ) is None


async def test_each_business_number_answers_through_its_own_provider(desk: Desk, twilio: Twilio) -> None:
    agent = desk.agent("agent1")
    sid = await chatting(agent, twilio, desk, "via twilio")
    async with httpx.AsyncClient(base_url=desk.url) as http:
        r = await http.post("/sms/simulator/inbound", json={"from": CUST, "to": SIM_BIZ, "text": "via sim"})
        assert r.json()["statusCode"] == 0
        sim_session = await agent.offered()
        assert sim_session["userData"]["Provider"] == "simulator"
        assert (await agent.operation(sim_session["id"], "Accept"))["statusCode"] == 0
        assert (await agent.operation(sim_session["id"], "SendMessage", text="to sim"))["statusCode"] == 0
        assert (await agent.operation(sid, "SendMessage", text="to twilio"))["statusCode"] == 0
        await twilio.fake.wait_sent(1)
        await status_of(agent, sim_session["id"], "to sim", "delivered")
        phone = (await http.get("/sms/simulator/outbound", params={"to": CUST})).json()["messages"]
    assert [(m["from"], m["text"]) for m in phone] == [(SIM_BIZ, "to sim")]
    assert [(m["From"], m["Body"]) for m in twilio.fake.sent] == [(BIZ, "to twilio")]


async def test_opt_out_through_twilio(desk: Desk, twilio: Twilio) -> None:
    agent = desk.agent("agent1")
    sid = await chatting(agent, twilio, desk, "Hi")
    assert (await agent.operation(sid, "SendMessage", text="Hello! How can I help?"))["statusCode"] == 0
    await twilio.fake.wait_sent(1)

    await twilio.text(desk, "STOP", sid="SM" + "5" * 32)
    await twilio.fake.wait_sent(2)
    await twilio.text(desk, "STOP", sid="SM" + "5" * 32)  # Twilio retries the same webhook
    await twilio.text(desk, "stop", sid="SM" + "6" * 32)  # the customer insists
    refused = await agent.operation(sid, "SendMessage", text="Are you sure?")
    assert refused["statusCode"] == 3, refused
    assert "opted out" in refused["statusMessage"] and CUST in refused["statusMessage"]
    await asyncio.sleep(0.3)  # the outbox is woken on every commit: anything queued would be gone by now
    assert twilio.fake.to(CUST) == ["Hello! How can I help?", OPT_OUT_REPLY]
    assert await desk.rt.store.is_opted_out(CUST)
    assert any("opted" in n.lower() for n in notices(await agent.events()))

    await twilio.text(desk, "START", sid="SM" + "7" * 32)
    await twilio.fake.wait_sent(3)
    assert twilio.fake.to(CUST)[-1] == OPT_IN_REPLY
    assert not await desk.rt.store.is_opted_out(CUST)
    await twilio.text(desk, "I'm back", sid="SM" + "8" * 32)
    back = await agent.offered()
    assert back["id"] != sid
    assert (await agent.operation(back["id"], "Accept"))["statusCode"] == 0
    assert (await agent.operation(back["id"], "SendMessage", text="Welcome back"))["statusCode"] == 0
    await twilio.fake.wait_sent(4)
    assert twilio.fake.to(CUST)[-1] == "Welcome back"


async def test_yes_in_a_conversation_sends_no_resubscribe_notice(desk: Desk, twilio: Twilio) -> None:
    agent = desk.agent("agent1")
    sid = await chatting(agent, twilio, desk, "Can you cancel my order?")
    assert (await agent.operation(sid, "SendMessage", text="Shall I cancel it?"))["statusCode"] == 0
    await twilio.fake.wait_sent(1)
    await twilio.text(desk, "Yes")
    await wait_until(lambda: _has_text(agent, sid, "Yes"), what="the customer's 'Yes' in the transcript")
    await asyncio.sleep(0.3)
    assert twilio.fake.to(CUST) == ["Shall I cancel it?"]


async def _has_text(agent: Agent, sid: str, text: str) -> bool:
    return any(m.get("text") == text for m in await agent.messages(sid))


async def test_a_send_refused_for_good_is_shown_to_the_agent(desk: Desk, twilio: Twilio) -> None:
    agent = desk.agent("agent1")
    sid = await chatting(agent, twilio, desk, "Hi")
    invalid_to = {
        "code": 21211,
        "message": f"Invalid 'To' Phone Number: {CUST}",
        "more_info": "https://www.twilio.com/docs/errors/21211",
        "status": 400,
    }
    twilio.fake.script.append((400, invalid_to))
    assert (await agent.operation(sid, "SendMessage", text="Hello?"))["statusCode"] == 0
    await status_of(agent, sid, "Hello?", "failed")
    failed = await agent.message(sid, "Hello?")
    assert "21211" in failed["statusDetail"] and "Invalid 'To' Phone Number" in failed["statusDetail"]
    events = await agent.events()
    assert status_updates(events)[-1] == ("Hello?", "failed")
    assert any("21211" in n for n in notices(events)), notices(events)
    await asyncio.sleep(0.3)
    assert len(twilio.fake.refused) == 1 and twilio.fake.sent == []  # a 400 is not retried

    # a message Twilio accepted but the carrier could not deliver: shown the same way
    assert (await agent.operation(sid, "SendMessage", text="Second try"))["statusCode"] == 0
    (sent,) = await twilio.fake.wait_sent(1)
    await status_of(agent, sid, "Second try", "queued")  # the sid is recorded: callbacks can find it
    assert (await twilio.fake.report(sent, "undelivered", error_code="30003")).status_code == 200
    await status_of(agent, sid, "Second try", "undelivered")
    second = await agent.message(sid, "Second try")
    assert "30003" in second.get("statusDetail", ""), json.dumps(second)
    assert any("30003" in n for n in notices(await agent.events()))


async def test_restart_between_inbound_and_reply_loses_nothing(tmp_path: Path, twilio: Twilio) -> None:
    db = tmp_path / "desk.db"
    async with running_desk(db, twilio.settings, background=False) as first:
        await twilio.text(first, "Hello before the restart", sid="SM" + "a" * 32)
    # the inbound was acknowledged, so it is committed: a new process finds it waiting
    async with running_desk(db, twilio.settings, background=False) as second:
        agent = second.agent("agent1")
        await agent.ready()
        assert await second.app.state.router.run_once() == 1
        (offer,) = await agent.sessions()
        sid = offer["id"]
        assert (await agent.operation(sid, "Accept"))["statusCode"] == 0
        assert (await agent.operation(sid, "SendMessage", text="Reply across a restart"))["statusCode"] == 0
        assert twilio.fake.sent == []  # no outbox worker ran: the reply is only queued
    async with running_desk(db, twilio.settings) as third:
        (sent,) = await twilio.fake.wait_sent(1)
        assert sent["Body"] == "Reply across a restart"
        assert sent["StatusCallback"].startswith(f"{third.url}/sms/twilio/status?outbox=")
        agent = third.agent("agent1")
        assert (await agent.session(sid))["state"] == "Chatting"
        await status_of(agent, sid, "Reply across a restart", "queued")
        await twilio.fake.report(sent, "delivered")
        await status_of(agent, sid, "Reply across a restart", "delivered")
        await twilio.text(third, "Hello before the restart", sid="SM" + "a" * 32)  # a late Twilio retry
        await twilio.text(third, "Got it, thanks", sid="SM" + "b" * 32)
        texts = [m.get("text") for m in await agent.messages(sid) if m["type"] == "Text"]
        assert texts == ["Hello before the restart", "Reply across a restart", "Got it, thanks"]
        assert (await agent.operation(sid, "Complete"))["statusCode"] == 0
    assert twilio.fake.to(CUST) == ["Reply across a restart"]


async def test_racing_status_callbacks_never_move_a_status_backwards(desk: Desk, twilio: Twilio) -> None:
    """Twilio's "delivered" callback can overtake the desk's own record of the REST API's "queued" answer."""
    from smsdesk.actions.inbound import receive_status
    from smsdesk.sms.base import StatusUpdate

    agent = desk.agent("agent1")
    sid = await chatting(agent, twilio, desk, "Hi")
    assert (await agent.operation(sid, "SendMessage", text="Fast carrier"))["statusCode"] == 0
    (sent,) = await twilio.fake.wait_sent(1)
    await status_of(agent, sid, "Fast carrier", "queued")
    delivered, queued = (StatusUpdate("twilio", sent["Sid"], s) for s in ("delivered", "queued"))
    await asyncio.gather(
        receive_status(desk.rt, delivered), *(receive_status(desk.rt, queued) for _ in range(5))
    )
    assert (await agent.message(sid, "Fast carrier"))["status"] == "delivered"
    assert status_updates(await agent.events())[-1] == ("Fast carrier", "delivered")


async def test_a_status_callback_before_twilio_answers_the_send_is_not_lost(
    desk: Desk, twilio: Twilio
) -> None:
    """Twilio may post the callback before its REST API's answer reaches us, when no sid is recorded for the
    message yet: the callback URL names our outbox row, so the status still reaches the message."""
    agent = desk.agent("agent1")
    sid = await chatting(agent, twilio, desk, "Hi")
    twilio.fake.report_before_answer = "delivered"
    assert (await agent.operation(sid, "SendMessage", text="Very fast carrier"))["statusCode"] == 0
    (sent,) = await twilio.fake.wait_sent(1)
    await status_of(agent, sid, "Very fast carrier", "delivered")
    # the REST API's own "queued" answer, recorded after the callback, does not move it back
    assert (await agent.message(sid, "Very fast carrier"))["status"] == "delivered"
    row = await desk.rt.store.find_outbound_by_provider_id("twilio", sent["Sid"])
    assert row is not None and sent["StatusCallback"].endswith(f"/sms/twilio/status?outbox={row.id}")

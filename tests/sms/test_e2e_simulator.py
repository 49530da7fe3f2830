"""A whole customer conversation through the built-in simulator, end to end: the full app under uvicorn, the
customer on the simulator's HTTP API (what the ``/simulator`` phone page uses), an agent on the GWS REST API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from smsdesk.sms.config import SimulatorSettings, SmsSettings
from tests.sms.e2e_harness import Desk, running_desk, status_updates, wait_until

pytestmark = [pytest.mark.timeout(60)]

BIZ = "+15550000000"
CUST = "+15551230001"


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    def settings(_base: str) -> SmsSettings:
        return SmsSettings(simulator=SimulatorSettings(True, (BIZ,), public=True))

    async with running_desk(tmp_path / "desk.db", settings) as d:
        yield d


class Phone:
    """The customer's handset, as the simulator page drives it."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def text(self, body: str, message_id: str | None = None) -> dict[str, Any]:
        payload = {"from": CUST, "to": BIZ, "text": body} | ({"messageId": message_id} if message_id else {})
        r = await self.http.post("/sms/simulator/inbound", json=payload)
        assert r.status_code == 200, r.text
        answer: dict[str, Any] = r.json()
        return answer

    async def inbox(self) -> list[str]:
        r = await self.http.get("/sms/simulator/outbound", params={"to": CUST})
        return [m["text"] for m in r.json()["messages"]]


async def test_whole_conversation_through_the_simulator(desk: Desk) -> None:
    agent = desk.agent("agent1")
    await agent.ready()
    async with httpx.AsyncClient(base_url=desk.url) as http:
        phone = Phone(http)
        assert "<html" in (await http.get("/simulator")).text.lower()
        ack = await phone.text("Hi, I need to change my delivery address", message_id="web-1")
        assert ack["statusCode"] == 0 and ack["messageId"] == "web-1"
        assert (await phone.text("Hi, I need to change my delivery address", message_id="web-1"))[
            "statusCode"
        ] == 0  # the page retried: stored once
        offer = await agent.offered()
        sid = offer["id"]
        assert offer["userData"]["Provider"] == "simulator"
        assert (await agent.operation(sid, "Accept"))["statusCode"] == 0
        assert (await agent.operation(sid, "SendMessage", text="Sure, what is the new one?"))[
            "statusCode"
        ] == 0

        async def on_phone() -> bool:
            return await phone.inbox() == ["Sure, what is the new one?"]

        await wait_until(on_phone, what="the reply on the simulated phone")

        async def delivered() -> bool:
            return (await agent.message(sid, "Sure, what is the new one?")).get("status") == "delivered"

        await wait_until(delivered, what="the reply marked delivered")
        assert ("Sure, what is the new one?", "delivered") in status_updates(await agent.events())

        await phone.text("12 Main Street")

        async def appended() -> bool:
            return any(m.get("text") == "12 Main Street" for m in await agent.messages(sid))

        await wait_until(appended, what="the customer's second text in the same session")
        texts = [m.get("text") for m in await agent.messages(sid) if m["type"] == "Text"]
        assert texts == [
            "Hi, I need to change my delivery address",
            "Sure, what is the new one?",
            "12 Main Street",
        ]
        assert (await agent.operation(sid, "Complete"))["statusCode"] == 0
        assert await agent.sessions() == []
        bad = await http.post("/sms/simulator/inbound", json={"from": "+1555", "to": BIZ, "text": "x"})
        assert (
            bad.status_code == 400
            and bad.json()["statusCode"] == 10
            and "+1555" in bad.json()["statusMessage"]
        )

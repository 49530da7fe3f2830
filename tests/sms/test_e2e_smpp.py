"""A whole customer conversation over SMPP, end to end: the full app under uvicorn bound as a transceiver to the
npm ``smpp`` SMSC (``smsc/smsc.cjs`` under node), an agent on the GWS REST API.

MO ``deliver_sm`` → session → routed → accepted → a long UCS-2 reply split into concatenated ``submit_sm``
→ one delivery receipt per segment → the transcript message shows ``delivered`` → a concatenated GSM-7 MO
reassembled into one customer message → Complete.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from smsdesk.sms.config import SimulatorSettings, SmppSettings, SmsSettings
from smsdesk.sms.segments import split_text
from tests.sms.e2e_harness import Agent, Desk, running_desk, status_updates, wait_until
from tests.sms.smsc_peer import SmscPeer

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]

BIZ = "+447700900123"  # bound to SMPP
CUST = "+447700900456"
ENDS = {"from": CUST[1:], "to": BIZ[1:]}  # SMPP addresses, TON 1: no '+'
LONG_UCS2 = (
    "Здравствуйте! Ваш заказ отправлен сегодня 📦 и прибудет в четверг. Спасибо, что выбрали нас! " * 2
)
LONG_GSM = (
    "My parcel ref {A-7} still says 'in transit' & the fee was 5€; can you check it please? " * 3
).strip()


@pytest.fixture
async def smsc() -> AsyncIterator[SmscPeer]:
    peer = await SmscPeer.start("desk01", "s3cret")
    try:
        yield peer
    finally:
        await peer.stop()


@pytest.fixture
async def desk(tmp_path: Path, smsc: SmscPeer) -> AsyncIterator[Desk]:
    smpp = SmppSettings(
        host="127.0.0.1",
        port=smsc.port,
        system_id="desk01",
        password="s3cret",
        system_type="smsdesk",
        enquire_link_s=5,
        submit_timeout_s=5,
        reconnect_min_ms=100,
        numbers=(BIZ,),
    )

    def settings(_base: str) -> SmsSettings:
        return SmsSettings(simulator=SimulatorSettings(enabled=False), smpp=smpp)

    async with running_desk(tmp_path / "desk.db", settings) as d:
        await smsc.wait_for(lambda e: e["event"] == "bind" and e["ok"])
        yield d


async def texts_of(agent: Agent, sid: str) -> list[Any]:
    return [m.get("text") for m in await agent.messages(sid) if m["type"] == "Text"]


async def test_whole_conversation_over_smpp(desk: Desk, smsc: SmscPeer) -> None:
    agent = desk.agent("agent1")
    await agent.ready()
    await smsc.command(cmd="mo", tag="hello", text="Hello, where is my parcel?", **ENDS)
    await smsc.wait_for(lambda e: e["event"] == "mo_acked" and e["tag"] == "hello" and e["status"] == 0)
    offer = await agent.offered()
    sid = offer["id"]
    assert (offer["userData"]["Provider"], offer["userData"]["CustomerNumber"]) == ("smpp", CUST)
    assert (await agent.operation(sid, "Accept", nickname="Ivan"))["statusCode"] == 0

    expected = split_text(LONG_UCS2, ref=0).segments
    assert len(expected) == 3
    assert (await agent.operation(sid, "SendMessage", text=LONG_UCS2))["statusCode"] == 0
    submits = await smsc.wait_for(lambda e: e["event"] == "submit_sm", count=3)
    assert [(s["data_coding"], s["esm_class"] & 0x40) for s in submits] == [(8, 0x40)] * 3
    udhs = [bytes.fromhex(s["udh"][0]) for s in submits]
    assert [(u[3], u[4]) for u in udhs] == [(3, 1), (3, 2), (3, 3)] and len({u[2] for u in udhs}) == 1
    assert "".join(s["text"] for s in submits) == LONG_UCS2
    assert (submits[0]["source"], submits[0]["destination"]) == (BIZ[1:], CUST[1:])

    async def shows(status: str) -> bool:
        return (await agent.message(sid, LONG_UCS2)).get("status") == status

    await wait_until(lambda: shows("sent"), what="the reply accepted by the SMSC")
    for i, submit in enumerate(submits):
        await smsc.command(cmd="dlr", tag=f"dlr{i}", id=submit["message_id"], stat="DELIVRD", **ENDS)
        tag = f"dlr{i}"
        await smsc.wait_for(lambda e: e["event"] == "mo_acked" and e["tag"] == tag)  # noqa: B023 - awaited here
        if i < 2:
            assert await shows("sent")  # one status for the whole message, once every part is in
    await wait_until(lambda: shows("delivered"), what="the reply delivered")
    assert status_updates(await agent.events())[-2:] == [(LONG_UCS2, "sent"), (LONG_UCS2, "delivered")]

    split = split_text(LONG_GSM, ref=42)
    parts = [s.short_message.hex() for s in split.segments]
    await smsc.command(cmd="mo_raw", tag="again", parts=parts, data_coding=split.data_coding, **ENDS)
    await smsc.wait_for(lambda e: e["event"] == "mo_acked" and e["tag"].startswith("again"), count=len(parts))

    async def answered() -> bool:
        return LONG_GSM in await texts_of(agent, sid)

    await wait_until(answered, what="the concatenated MO in the transcript")
    assert await texts_of(agent, sid) == ["Hello, where is my parcel?", LONG_UCS2, LONG_GSM]
    assert (await agent.operation(sid, "Complete"))["statusCode"] == 0
    assert await agent.sessions() == []


async def test_an_smsc_refusal_is_shown_to_the_agent(desk: Desk, smsc: SmscPeer) -> None:
    agent = desk.agent("agent1")
    await agent.ready()
    await smsc.command(cmd="mo", tag="hi", text="Hi", **ENDS)
    sid = (await agent.offered())["id"]
    assert (await agent.operation(sid, "Accept"))["statusCode"] == 0
    await smsc.command(cmd="reject_next", status=0x0B)  # ESME_RINVDSTADR: permanent
    assert (await agent.operation(sid, "SendMessage", text="Hello?"))["statusCode"] == 0

    async def failed() -> bool:
        return (await agent.message(sid, "Hello?")).get("status") == "failed"

    await wait_until(failed, what="the refused reply marked failed")
    assert "ESME_RINVDSTADR" in (await agent.message(sid, "Hello?"))["statusDetail"]
    assert len(smsc.of("submit_sm")) == 1  # not retried


async def test_a_push_url_goes_out_as_a_link_in_the_text(desk: Desk, smsc: SmscPeer) -> None:
    agent = desk.agent("agent1")
    await agent.ready()
    await smsc.command(cmd="mo", tag="manual", text="Do you have the manual?", **ENDS)
    sid = (await agent.offered())["id"]
    assert (await agent.operation(sid, "Accept"))["statusCode"] == 0
    link = "https://example.com/manuals/part-42.pdf"
    assert (await agent.operation(sid, "SendUrl", url=link))["statusCode"] == 0
    (submit,) = await smsc.wait_for(lambda e: e["event"] == "submit_sm")
    assert (submit["text"], submit["data_coding"]) == (link, 0)  # SMPP has no MMS: the URL is the text

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from smsdesk.bus.local import LocalBus
from smsdesk.clock import FakeClock
from smsdesk.sms.base import OutboundSms, PermanentFailure
from smsdesk.sms.routes import build_sms_routes
from smsdesk.sms.simulator import SHARE_TOPIC, SimulatorProvider
from tests.sms.sinks import MemoryInboundSink, MemoryStatusSink


class Env:
    def __init__(self, client: httpx.AsyncClient, sim: SimulatorProvider, sink: MemoryInboundSink) -> None:
        self.client, self.sim, self.sink = client, sim, sink


@pytest.fixture
async def env(clock: FakeClock) -> AsyncIterator[Env]:
    sim, sink = SimulatorProvider(clock), MemoryInboundSink()
    routes = build_sms_routes(clock=clock, inbound_sink=sink, status_sink=MemoryStatusSink(), simulator=sim)
    transport = httpx.ASGITransport(app=Starlette(routes=routes))
    async with httpx.AsyncClient(transport=transport, base_url="http://desk") as client:
        yield Env(client, sim, sink)


async def test_customer_texts_the_business(env: Env, clock: FakeClock) -> None:
    r = await env.client.post(
        "/sms/simulator/inbound", json={"from": "+15551230001", "to": "+15550000000", "text": "hi"}
    )
    assert r.status_code == 200
    body = r.json()
    assert body["statusCode"] == 0 and body["messageId"].startswith("SIMIN-")
    (msg,) = env.sink.stored
    assert (msg.provider, msg.from_number, msg.to_number, msg.text) == (
        "simulator",
        "+15551230001",
        "+15550000000",
        "hi",
    )
    assert msg.provider_message_id == body["messageId"] and msg.received_ms == clock.now_ms()


@pytest.mark.parametrize("number", ["+1 (555) 123-0001", "+15551230001*", "15551230001", " +15551230001"])
async def test_numbers_are_e164_as_written(env: Env, number: str) -> None:
    """The API takes E.164 (the phone page removes the spaces and punctuation a person types), as the API
    description says: anything else is a clear statusCode 10, not a guess."""
    r = await env.client.post(
        "/sms/simulator/inbound", json={"from": number, "to": "+15550000000", "text": "hi"}
    )
    assert (r.status_code, r.json()["statusCode"]) == (400, 10) and "E.164" in r.json()["statusMessage"]
    r = await env.client.get("/sms/simulator/outbound", params={"to": number})
    assert (r.status_code, r.json()["statusCode"]) == (400, 10)
    assert env.sink.stored == []


async def test_client_message_id_makes_retries_idempotent(env: Env) -> None:
    payload = {"from": "+15551230001", "to": "+15550000000", "text": "hi", "messageId": "phone-1"}
    for _ in range(2):
        assert (await env.client.post("/sms/simulator/inbound", json=payload)).json()[
            "messageId"
        ] == "phone-1"
    assert len(env.sink.stored) == 1


async def test_outbound_list_is_per_phone_and_in_order(env: Env, clock: FakeClock) -> None:
    for i, to in enumerate(["+15551230001", "+15551230002", "+1 555 123 0001"]):
        result = await env.sim.send(OutboundSms(f"ob-{i}", "+15550000000", to, f"reply {i}"))
        assert result.status == "delivered"
        clock.advance(1)
    again = await env.sim.send(OutboundSms("ob-0", "+15550000000", "+15551230001", "reply 0"))
    assert (
        again.provider_message_id == env.sim.outbound_for("+15551230001")[0].message_id
    )  # outbox retry: no dup
    r = await env.client.get("/sms/simulator/outbound", params={"to": "+15551230001"})
    messages = r.json()["messages"]
    assert r.json()["statusCode"] == 0
    assert [m["text"] for m in messages] == ["reply 0", "reply 2"]
    assert (
        messages[0]["from"] == "+15550000000"
        and messages[0]["timestampSeconds"] < messages[1]["timestampSeconds"]
    )
    empty = await env.client.get("/sms/simulator/outbound", params={"to": "+15559999999"})
    assert empty.json() == {"statusCode": 0, "messages": []}


async def test_simulator_refuses_unsendable_text(clock: FakeClock) -> None:
    with pytest.raises(PermanentFailure, match="empty"):
        await SimulatorProvider(clock).send(OutboundSms("x", "+15550000000", "+15551230001", ""))


@pytest.mark.parametrize(
    ("payload", "code", "needle"),
    [
        (b"not json", 10, "not valid JSON"),
        (b"[1, 2]", 10, "JSON object"),
        (b'{"to": "+15550000000", "text": "x"}', 1, "'from'"),
        (b'{"from": "+15551230001", "to": "+15550000000", "text": ""}', 1, "'text'"),
        (b'{"from": 5, "to": "+15550000000", "text": "x"}', 10, "must be a string"),
        (b'{"from": "+1555", "to": "+15550000000", "text": "x"}', 10, "'+1555'"),
        (
            b'{"from": "+15551230001", "to": "+15550000000", "text": "' + b"x" * 1601 + b'"}',
            10,
            "longer than",
        ),
        (b"\xff\xfe", 10, "not valid JSON"),
    ],
)
async def test_bad_input_is_a_gws_error(env: Env, payload: bytes, code: int, needle: str) -> None:
    r = await env.client.post(
        "/sms/simulator/inbound", content=payload, headers={"content-type": "application/json"}
    )
    assert r.status_code == 400
    assert r.json()["statusCode"] == code and needle in r.json()["statusMessage"]
    assert env.sink.calls == 0


@pytest.mark.parametrize("query", [{}, {"to": "garbage"}])
async def test_bad_outbound_query(env: Env, query: dict[str, str]) -> None:
    r = await env.client.get("/sms/simulator/outbound", params=query)
    assert r.status_code == 400 and r.json()["statusCode"] in (1, 10)


async def test_phone_page_is_plain_html_wired_to_the_api(env: Env) -> None:
    r = await env.client.get("/simulator")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = r.text
    for needle in ("/sms/simulator/inbound", "/sms/simulator/outbound?to=", '<label for="me">', "aria-live"):
        assert needle in page
    assert "<script src=" not in page  # no build step, no external assets


async def test_workers_sharing_a_bus_show_each_others_sent_messages(clock: FakeClock) -> None:
    bus = LocalBus()  # stands for the workers' bus: it delivers to the sender too, as PeerBus does
    a, b = SimulatorProvider(clock), SimulatorProvider(clock)
    a.share(bus)
    b.share(bus)
    await bus.start()
    try:
        await a.send(OutboundSms("ob-1", "+15550000000", "+15551230001", "from a"))
        clock.advance(1)
        await b.send(OutboundSms("ob-2", "+15550000000", "+1 555 123 0001", "from b"))
        await bus.publish(SHARE_TOPIC, {"type": "resync"})  # not a record: ignored
        await bus.publish(SHARE_TOPIC, {"messageId": 5, "from": "x", "to": "y", "text": "z"})  # malformed
        for _ in range(5):
            await asyncio.sleep(0)
        for sim in (a, b):
            assert [m.text for m in sim.outbound_for("+15551230001")] == ["from a", "from b"]
        assert a.outbound_for("+15551230001") == b.outbound_for("+15551230001")
    finally:
        await bus.close()


async def test_memory_is_bounded_the_phones_texted_last_and_the_latest_outbox_ids_kept(
    clock: FakeClock,
) -> None:
    sim = SimulatorProvider(clock, max_phones=2, max_sent=2)
    first = await sim.send(OutboundSms("ob-1", "+15550000000", "+15551230001", "one"))
    await sim.send(OutboundSms("ob-2", "+15550000000", "+15551230002", "two"))
    await sim.send(OutboundSms("ob-3", "+15550000000", "+15551230001", "one again"))  # 0001 is now the latest
    await sim.send(OutboundSms("ob-4", "+15550000000", "+15551230003", "three"))  # 0002 forgotten, not 0001
    assert [m.text for m in sim.outbound_for("+15551230001")] == ["one", "one again"]
    assert sim.outbound_for("+15551230002") == []
    assert [m.text for m in sim.outbound_for("+15551230003")] == ["three"]
    again = await sim.send(OutboundSms("ob-4", "+15550000000", "+15551230003", "three"))
    assert [m.text for m in sim.outbound_for("+15551230003")] == ["three"]  # a recent re-send: a no-op
    assert again.provider_message_id == sim.outbound_for("+15551230003")[0].message_id
    late = await sim.send(OutboundSms("ob-1", "+15550000000", "+15551230001", "one"))  # beyond max_sent
    assert late.provider_message_id != first.provider_message_id

"""The SMPP provider's PDU handling on captured real PDUs (fixtures/smpp_pdus.json), without a socket."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aiosmpplib.protocol import MESSAGE_TYPE_MAP, SmppMessage

from smsdesk.clock import FakeClock
from smsdesk.sms.config import SmppSettings
from smsdesk.sms.smpp import SmppProvider, _Correlator
from tests.sms.sinks import MemoryInboundSink, MemoryStatusSink

PDUS: dict[str, str] = json.loads((Path(__file__).parent / "fixtures" / "smpp_pdus.json").read_text())["pdus"]


def parse(name: str) -> Any:
    raw = bytes.fromhex(PDUS[name])
    header = SmppMessage.parse_header(raw[:16])
    cls = MESSAGE_TYPE_MAP[header.smpp_command]
    if name.startswith("deliver_sm"):
        return cls.from_pdu(raw, header, "gsm0338", None)
    return cls.from_pdu(raw, header)


@pytest.fixture
def provider() -> tuple[SmppProvider, MemoryInboundSink, MemoryStatusSink]:
    inbound, status = MemoryInboundSink(), MemoryStatusSink()
    p = SmppProvider(
        SmppSettings("127.0.0.1", system_id="esme1"),
        clock=FakeClock(),
        inbound_sink=inbound,
        status_sink=status,
    )
    return p, inbound, status


@pytest.mark.parametrize(
    ("name", "text"),
    [("deliver_sm_mo_dc1", "Where is my order? 5€ [A]"), ("deliver_sm_mo_ucs2", "Привет 😀")],
)
async def test_mo_pdus_reach_the_sink(provider: Any, name: str, text: str) -> None:
    p, inbound, _ = provider
    await p._on_received(parse(name))
    (msg,) = inbound.stored
    assert (msg.from_number, msg.to_number, msg.text) == ("+15551230001", "+15550000000", text)


async def test_redelivered_mo_is_deduplicated_by_the_sink(provider: Any) -> None:
    p, inbound, _ = provider
    for _ in range(2):
        await p._on_received(parse("deliver_sm_mo_ucs2"))
    assert inbound.calls == 2 and len(inbound.stored) == 1


@pytest.mark.parametrize(
    ("name", "status", "error"),
    [("deliver_sm_dlr_delivrd", "delivered", None), ("deliver_sm_dlr_undeliv", "undelivered", "UNDELIV")],
)
async def test_receipt_pdus_become_status_updates(
    provider: Any, name: str, status: str, error: str | None
) -> None:
    p, inbound, statuses = provider
    await p._on_received(parse(name))
    (update,) = statuses.updates
    assert (update.provider, update.provider_message_id, update.status) == ("smpp", "m1", status)
    assert (error is None) == (update.error is None) and (error or "") in (update.error or "")
    assert inbound.stored == []


async def test_sink_failure_turns_into_a_connection_error(provider: Any) -> None:
    p, inbound, _ = provider
    inbound.fail_next = 1
    with pytest.raises(ConnectionError, match="not acknowledged"):
        await p._on_received(parse("deliver_sm_mo_ucs2"))


async def test_concatenated_mo_parts_are_reassembled_by_the_correlator() -> None:
    correlator = _Correlator("esme1", FakeClock())
    assert await correlator.put_delivery_segmented(parse("deliver_sm_mo_concat_part1")) is None
    whole = await correlator.put_delivery_segmented(parse("deliver_sm_mo_concat_part2"))
    assert whole.short_message == "a" * 150 + " and the end of a long message"


async def test_submit_sm_resp_resolves_the_waiting_send(provider: Any) -> None:
    p, _, _ = provider
    resp = parse("submit_sm_resp")
    assert resp.message_id == "m1"
    await p._on_received(resp)  # nobody waiting: ignored, no error
    await p._on_received(parse("bind_transceiver_resp"))
    await p._on_received(None)  # a segment placeholder or an unparsable PDU

"""The SMPP provider against a real SMSC peer: the npm ``smpp`` 0.5.1 server under node."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import replace

import pytest

from smsdesk.clock import FakeClock
from smsdesk.sms.base import OutboundSms, PermanentFailure, TemporaryFailure
from smsdesk.sms.config import SmppSettings
from smsdesk.sms.memory_outbox import MemoryOutboxStore, OutboxState
from smsdesk.sms.outbox import OutboxSettings, OutboxWorker
from smsdesk.sms.segments import split_text
from smsdesk.sms.smpp import SmppProvider
from tests.sms.sinks import MemoryInboundSink, MemoryStatusSink
from tests.sms.smsc_peer import SmscPeer

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]

BUSINESS, CUSTOMER = "+15550000000", "+15551230001"
LONG_GSM = ("Your parcel 12345 is on its way; track it at example.com [ref: {A-7}] for 5€. " * 5).strip()
LONG_UCS2 = "Здравствуйте! Ваш заказ отправлен 📦. Спасибо, что выбрали нас. " * 3


class Rig:
    def __init__(
        self, peer: SmscPeer, provider: SmppProvider, inbound: MemoryInboundSink, status: MemoryStatusSink
    ):
        self.peer, self.provider, self.inbound, self.status = peer, provider, inbound, status


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    peer = await SmscPeer.start("esme1", "secret")
    settings = SmppSettings(
        host="127.0.0.1",
        port=peer.port,
        system_id="esme1",
        password="secret",
        system_type="smsdesk",
        enquire_link_s=0.5,
        submit_timeout_s=3,
        reconnect_min_ms=100,
        reconnect_doublings=2,
    )
    inbound, status = MemoryInboundSink(), MemoryStatusSink()
    provider = SmppProvider(settings, clock=FakeClock(), inbound_sink=inbound, status_sink=status)
    await provider.start()
    try:
        await provider.wait_bound(10)
        yield Rig(peer, provider, inbound, status)
    finally:
        await provider.close()
        await peer.stop()


def sms(i: int, text: str) -> OutboundSms:
    return OutboundSms(f"ob-{i}", BUSINESS, CUSTOMER, text)


async def submitted(rig: Rig, count: int) -> list[dict[str, object]]:
    """The submit_sm the SMSC answered (its stdout may trail the socket by a moment)."""
    return await rig.peer.wait_for(lambda e: e["event"] == "submit_sm", count=count)


async def wait_until(predicate: Callable[[], bool], within_s: float = 10) -> None:
    async with asyncio.timeout(within_s):
        while not predicate():  # noqa: ASYNC110 - polling a fake sink's counter
            await asyncio.sleep(0.02)


async def test_bind_transceiver_and_enquire_link(rig: Rig) -> None:
    (bind,) = rig.peer.of("bind")
    assert bind == {"event": "bind", "system_id": "esme1", "system_type": "smsdesk", "ok": True}
    await rig.peer.wait_for(lambda e: e["event"] == "enquire_link", within_s=5)
    assert rig.provider.bound


async def test_wrong_password_never_binds_and_send_fails_temporarily() -> None:
    peer = await SmscPeer.start("esme1", "secret")
    settings = SmppSettings(
        host="127.0.0.1", port=peer.port, system_id="esme1", password="nope", reconnect_min_ms=100
    )
    provider = SmppProvider(
        settings, clock=FakeClock(), inbound_sink=MemoryInboundSink(), status_sink=MemoryStatusSink()
    )
    await provider.start()
    try:
        await peer.wait_for(lambda e: e["event"] == "bind" and not e["ok"], count=2)  # and it retries
        assert not provider.bound
        with pytest.raises(TemporaryFailure, match="not bound"):
            await provider.send(sms(1, "hi"))
    finally:
        await provider.close()
        await peer.stop()


async def test_long_gsm7_text_goes_as_concatenated_segments(rig: Rig) -> None:
    result = await rig.provider.send(sms(1, LONG_GSM))
    submits = await submitted(rig, 3)
    assert len(submits) == 3 and result.provider_message_id == submits[0]["message_id"]
    assert {(s["esm_class"] & 0x40, s["data_coding"]) for s in submits} == {(0x40, 0)}
    udhs = [bytes.fromhex(s["udh"][0]) for s in submits]  # the IE: 00 03 ref total seq
    assert [(u[0], u[1], u[3], u[4]) for u in udhs] == [(0, 3, 3, 1), (0, 3, 3, 2), (0, 3, 3, 3)]
    assert len({u[2] for u in udhs}) == 1  # one shared reference
    assert "".join(s["text"] for s in submits) == LONG_GSM
    assert submits[0]["destination"] == CUSTOMER[1:] and submits[0]["source"] == BUSINESS[1:]
    assert submits[0]["source_ton"] == 1


async def test_long_ucs2_text_goes_as_concatenated_segments(rig: Rig) -> None:
    await rig.provider.send(sms(1, LONG_UCS2))
    submits = await submitted(rig, 3)
    assert len(submits) == len(split_text(LONG_UCS2, ref=0).segments) == 3
    assert {s["data_coding"] for s in submits} == {8}
    assert "".join(s["text"] for s in submits) == LONG_UCS2


async def test_short_text_is_one_plain_submit(rig: Rig) -> None:
    await rig.provider.send(sms(1, "Thanks!"))
    (submit,) = await submitted(rig, 1)
    assert (submit["esm_class"], submit["udh"], submit["text"]) == (0, [], "Thanks!")


async def test_rejected_submit_maps_to_permanent_or_temporary(rig: Rig) -> None:
    await rig.peer.command(cmd="reject_next", status=0x0B)  # ESME_RINVDSTADR
    with pytest.raises(PermanentFailure, match="ESME_RINVDSTADR"):
        await rig.provider.send(sms(1, "hi"))
    await rig.peer.command(cmd="reject_next", status=0x58)  # ESME_RTHROTTLED
    with pytest.raises(TemporaryFailure, match="ESME_RTHROTTLED"):
        await rig.provider.send(sms(2, "hi"))


async def test_mo_is_acknowledged_only_after_the_sink_committed(rig: Rig) -> None:
    rig.inbound.gate = asyncio.Event()
    await rig.peer.command(
        cmd="mo", tag="a", **{"from": CUSTOMER[1:], "to": BUSINESS[1:]}, text="Where is my order?"
    )
    await wait_until(lambda: rig.inbound.calls == 1)
    await asyncio.sleep(0.3)
    assert rig.peer.of("mo_acked") == []  # aiosmpplib is waiting on our hook: no deliver_sm_resp yet
    rig.inbound.gate.set()
    await rig.peer.wait_for(lambda e: e["event"] == "mo_acked" and e["status"] == 0)
    (msg,) = rig.inbound.stored
    assert (msg.provider, msg.from_number, msg.to_number, msg.text) == (
        "smpp",
        CUSTOMER,
        BUSINESS,
        "Where is my order?",
    )
    assert msg.provider_message_id.startswith("smpp-mo-")


async def test_concatenated_mo_is_reassembled(rig: Rig) -> None:
    for text, tag in ((LONG_GSM, "g"), (LONG_UCS2, "u")):
        split = split_text(text, ref=77)
        parts = [s.short_message.hex() for s in split.segments]
        await rig.peer.command(
            cmd="mo_raw",
            tag=tag,
            parts=parts,
            data_coding=split.data_coding,
            **{"from": CUSTOMER[1:], "to": BUSINESS[1:]},
        )
        await rig.peer.wait_for(lambda e, t=tag: e["event"] == "mo_acked" and e["tag"].startswith(t), count=3)
    assert rig.inbound.texts() == [LONG_GSM, LONG_UCS2]


async def test_delivery_receipts_become_status_updates(rig: Rig) -> None:
    single = await rig.provider.send(sms(1, "short"))
    multi = await rig.provider.send(sms(2, LONG_GSM))
    ids = [s["message_id"] for s in await submitted(rig, 4)]
    assert ids[0] == single.provider_message_id and ids[1] == multi.provider_message_id
    ends = {"from": CUSTOMER[1:], "to": BUSINESS[1:]}
    await rig.peer.command(cmd="dlr", tag="d0", id=ids[0], stat="UNDELIV", **ends)
    await rig.peer.command(cmd="dlr", tag="d1", id=ids[1], stat="DELIVRD", **ends)
    await rig.peer.command(cmd="dlr", tag="d2", id=ids[2], stat="DELIVRD", **ends)
    await rig.peer.wait_for(lambda e: e["event"] == "mo_acked", count=3)
    assert [(u.provider_message_id, u.status) for u in rig.status.updates] == [(ids[0], "undelivered")]
    await rig.peer.command(cmd="dlr", tag="d3", id=ids[3], stat="DELIVRD", **ends)
    await rig.peer.wait_for(lambda e: e["event"] == "mo_acked", count=4)
    assert [(u.provider_message_id, u.status) for u in rig.status.updates][1:] == [(ids[1], "delivered")]
    assert rig.status.updates[0].error is not None and "UNDELIV" in rig.status.updates[0].error
    assert rig.inbound.stored == []  # receipts are not customer messages


async def test_sink_failure_withholds_the_ack_and_the_smsc_redelivers(rig: Rig) -> None:
    rig.inbound.fail_next = 1
    await rig.peer.command(cmd="mo", tag="x", **{"from": CUSTOMER[1:], "to": BUSINESS[1:]}, text="retry me")
    await rig.peer.wait_for(lambda e: e["event"] == "mo_acked" and e["status"] == 0)
    assert rig.inbound.calls == 2 and rig.inbound.texts() == ["retry me"]
    assert len(rig.peer.of("bind")) == 2  # the connection was dropped and re-bound


async def test_dropped_connection_mid_traffic_loses_nothing(rig: Rig) -> None:
    clock = FakeClock()
    store = MemoryOutboxStore()
    worker = OutboxWorker(
        store,
        {"smpp": rig.provider},
        clock,
        MemoryStatusSink(),
        OutboxSettings(base_delay_s=1, send_timeout_s=5),
    )
    texts = ["first reply", LONG_GSM, "third reply"]
    for i, text in enumerate(texts):
        store.enqueue("smpp", sms(i, text), now_ms=clock.now_ms())
    ends = {"from": CUSTOMER[1:], "to": BUSINESS[1:]}
    await rig.peer.command(cmd="mo", tag="before", text="before the drop", **ends)
    await rig.peer.wait_for(lambda e: e["event"] == "mo_acked" and e["tag"] == "before")
    await rig.peer.command(cmd="kill_on_submit", count=1)
    await worker.run_once()  # the SMSC kills the socket on the first submit_sm, unanswered
    first = store.get("ob-0")  # the rest may already go out over the re-established session
    assert first.state is OutboxState.PENDING and "SMSC" in (first.last_error or "")
    await rig.peer.command(cmd="mo", tag="during", text="sent while down", **ends)  # held by the SMSC
    await rig.provider.wait_bound(10)
    await rig.peer.wait_for(lambda e: e["event"] == "mo_acked" and e["tag"] == "during")
    for _ in range(5):
        clock.advance(10)
        await worker.run_once()
        if all(r.state is OutboxState.SENT for r in store.all()):
            break
    assert [r.state for r in store.all()] == [OutboxState.SENT] * 3
    delivered = await submitted(rig, 5)  # 1 + 3 segments + 1 after the reconnect (at least once)
    texts_seen = [s["text"] for s in delivered if not s["udh"]]
    assert texts_seen.count("first reply") == 1 and texts_seen.count("third reply") == 1
    assert "".join(s["text"] for s in delivered if s["udh"]) == LONG_GSM
    acked = {e["tag"] for e in rig.peer.of("mo_acked") if e["status"] == 0}
    assert acked == {"before", "during"}
    assert rig.inbound.texts() == ["before the drop", "sent while down"]
    assert len(rig.peer.of("bind")) >= 2


async def test_settings_with_unbound_provider_close_cleanly() -> None:
    settings = SmppSettings(host="127.0.0.1", port=9, system_id="x", reconnect_min_ms=50)
    provider = SmppProvider(
        settings, clock=FakeClock(), inbound_sink=MemoryInboundSink(), status_sink=MemoryStatusSink()
    )
    await provider.start()
    await asyncio.sleep(0.2)
    assert not provider.bound
    await provider.close()
    assert replace(settings, port=10).port == 10

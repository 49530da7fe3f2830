"""The hub on fakes: FakeClock, MemoryEventSource, LocalBus. Waits are bounded by pytest-timeout."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from smsdesk.bus.local import LocalBus
from smsdesk.bus.messages import EVENTS_TOPIC
from smsdesk.clock import FakeClock
from smsdesk.domain.events import SUPERVISORS
from smsdesk.domain.users import Principal
from smsdesk.notify.bayeux import Transport
from smsdesk.notify.fakes import MemoryEventSource
from smsdesk.notify.hub import NotificationHub
from smsdesk.notify.settings import NotifySettings
from tests.notify.helpers import AGENT, SUPERVISOR, make_hub

pytestmark = pytest.mark.timeout(10)
LP = Transport.LONG_POLLING


@pytest.fixture
async def hub(clock: FakeClock) -> AsyncIterator[NotificationHub]:
    h = make_hub(clock, NotifySettings(poll_interval_ms=0))
    await h.start()
    await h.bus.start()
    yield h
    await h.close()
    await h.bus.close()


async def call(
    hub: NotificationHub, who: Principal | None, *messages: dict[str, Any]
) -> list[dict[str, Any]]:
    processed = await hub.process(list(messages), who, LP)
    assert processed is not None
    return processed.replies


async def client(hub: NotificationHub, who: Principal = AGENT, sub: str = "/v2/me/**") -> str:
    [hs] = await call(hub, who, {"channel": "/meta/handshake"})
    cid: str = hs["clientId"]
    await call(hub, who, {"channel": "/meta/connect", "clientId": cid})
    [s] = await call(hub, who, {"channel": "/meta/subscribe", "clientId": cid, "subscription": sub})
    assert s["successful"]
    return cid


def source(hub: NotificationHub) -> MemoryEventSource:
    assert isinstance(hub.source, MemoryEventSource)
    return hub.source


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_committed_event_reaches_a_held_connect(hub: NotificationHub) -> None:
    cid = await client(hub)
    held = asyncio.create_task(call(hub, AGENT, {"channel": "/meta/connect", "clientId": cid}))
    await settle()
    assert not held.done()
    event = source(hub).append(
        AGENT.user_id, "/v2/me/channels", {"messageType": "ChannelStateChangeMessageV2"}
    )
    await hub.notify_committed(event.id, [AGENT.user_id])
    replies = await held
    assert replies[0] == {
        "channel": "/v2/me/channels",
        "data": {"messageType": "ChannelStateChangeMessageV2"},
        "id": "1",
    }
    assert replies[1]["channel"] == "/meta/connect"


async def test_held_connect_times_out_on_the_injected_clock(hub: NotificationHub, clock: FakeClock) -> None:
    cid = await client(hub)
    held = asyncio.create_task(call(hub, AGENT, {"channel": "/meta/connect", "clientId": cid}))
    await settle()
    clock.advance(29.9)
    await settle()
    assert not held.done()
    clock.advance(0.2)
    assert await held == [{"channel": "/meta/connect", "successful": True}]


async def test_client_that_goes_away_keeps_its_events(hub: NotificationHub) -> None:
    cid = await client(hub)
    gone: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    held = asyncio.create_task(hub.process([{"channel": "/meta/connect", "clientId": cid}], AGENT, LP, gone))
    await settle()
    gone.set_result(None)
    assert await held is None
    event = source(hub).append(AGENT.user_id, "/v2/me/channels", {"n": 1})
    await hub.notify_committed(event.id, [AGENT.user_id])
    await settle()
    replies = await call(hub, AGENT, {"channel": "/meta/connect", "clientId": cid})
    assert replies[0]["data"] == {"n": 1}


async def test_hint_for_users_elsewhere_does_not_read_the_store(hub: NotificationHub) -> None:
    await client(hub)
    reads = source(hub).reads
    event = source(hub).append("someone-else", "/v2/me/channels", {})
    await hub.notify_committed(event.id, ["someone-else"])
    await settle()
    assert source(hub).reads == reads


async def test_events_before_handshake_are_not_delivered(hub: NotificationHub) -> None:
    source(hub).append(AGENT.user_id, "/v2/me/channels", {"old": True})
    await hub.catch_up()
    cid = await client(hub)
    new = source(hub).append(AGENT.user_id, "/v2/me/channels", {"new": True})
    await hub.notify_committed(new.id, [AGENT.user_id])
    await settle()
    replies = await call(hub, AGENT, {"channel": "/meta/connect", "clientId": cid})
    assert [m.get("data") for m in replies[:-1]] == [{"new": True}]


async def test_supervisor_event(hub: NotificationHub) -> None:
    cid = await client(hub, SUPERVISOR, "/v2/users")
    event = source(hub).append(SUPERVISORS, "/v2/users", {"messageType": "UserStateChange"})
    await hub.notify_committed(event.id, [SUPERVISORS])
    await settle()
    replies = await call(hub, SUPERVISOR, {"channel": "/meta/connect", "clientId": cid})
    assert replies[0]["data"] == {"messageType": "UserStateChange"}


async def test_expired_client_is_swept_and_must_rehandshake(hub: NotificationHub, clock: FakeClock) -> None:
    cid = await client(hub)
    clock.advance(15.5)
    await settle()
    assert hub.bayeux.session(cid) is None
    [reply] = await call(hub, AGENT, {"channel": "/meta/connect", "clientId": cid})
    assert reply["error"] == "402::Unknown client" and reply["advice"]["reconnect"] == "handshake"


async def test_store_failure_is_retried_on_the_next_hint(hub: NotificationHub) -> None:
    cid = await client(hub)
    source(hub).fail_next = 1
    event = source(hub).append(AGENT.user_id, "/v2/me/channels", {"n": 1})
    await hub.notify_committed(event.id, [AGENT.user_id])
    await settle()
    assert hub.cursor == 0
    await hub.notify_committed(event.id, [AGENT.user_id])
    await settle()
    assert hub.cursor == event.id
    replies = await call(hub, AGENT, {"channel": "/meta/connect", "clientId": cid})
    assert replies[0]["data"] == {"n": 1}


async def test_poll_catches_up_without_any_hint(clock: FakeClock) -> None:
    hub = make_hub(clock, NotifySettings(poll_interval_ms=2_000, max_interval_ms=60_000))
    await hub.start()
    try:
        cid = await client(hub)
        source(hub).append(AGENT.user_id, "/v2/me/channels", {"n": 1})  # committed, but the hint was lost
        clock.advance(2.0)
        await settle()
        replies = await call(hub, AGENT, {"channel": "/meta/connect", "clientId": cid})
        assert replies[0]["data"] == {"n": 1}
    finally:
        await hub.close()


async def test_catch_up_reads_in_batches(clock: FakeClock) -> None:
    hub = make_hub(clock, NotifySettings(read_batch=2, max_queue=10))
    await hub.start()
    try:
        cid = await client(hub)
        for i in range(5):
            source(hub).append(AGENT.user_id, "/v2/me/channels", {"n": i})
        await hub.catch_up()
        replies = await call(hub, AGENT, {"channel": "/meta/connect", "clientId": cid})
        assert [m["data"]["n"] for m in replies[:-1]] == [0, 1, 2, 3, 4]
    finally:
        await hub.close()


async def test_bad_bus_message_is_ignored(hub: NotificationHub) -> None:
    await hub.bus.publish(EVENTS_TOPIC, {"type": "garbage"})
    await settle()


async def test_close_answers_held_connects(clock: FakeClock) -> None:
    hub = make_hub(clock)
    await hub.start()
    cid = await client(hub)
    held = asyncio.create_task(call(hub, AGENT, {"channel": "/meta/connect", "clientId": cid}))
    await settle()
    await hub.close()
    [reply] = await held
    assert reply["successful"] is False and reply["advice"]["reconnect"] == "handshake"


async def test_drop_user_at_logout(hub: NotificationHub) -> None:
    cid = await client(hub)
    hub.drop_user(AGENT.user_id)
    [reply] = await call(hub, AGENT, {"channel": "/meta/connect", "clientId": cid})
    assert reply["error"] == "402::Unknown client"


async def test_two_hubs_on_one_bus_share_hints(clock: FakeClock) -> None:
    bus = LocalBus()
    store = MemoryEventSource()
    node_a = make_hub(clock, bus=bus, source=store)
    node_b = make_hub(clock, bus=bus, source=store)
    await node_a.start()
    await node_b.start()
    await bus.start()
    try:
        cid = await client(node_a)
        event = store.append(AGENT.user_id, "/v2/me/smssessions", {"n": 1})
        await node_b.notify_committed(event.id, [AGENT.user_id])
        await settle()
        replies = await call(node_a, AGENT, {"channel": "/meta/connect", "clientId": cid})
        assert replies[0]["data"] == {"n": 1}
    finally:
        await node_a.close()
        await node_b.close()
        await bus.close()


class FakeSink:
    """A websocket as the hub sees it: frames written are kept; ``close`` stops it taking any."""

    def __init__(self) -> None:
        self.clients: set[str] = set()
        self.frames: list[list[dict[str, Any]]] = []
        self.closed = False

    @property
    def open(self) -> bool:
        return not self.closed

    def deliver(self, frame: bytes) -> None:
        assert not self.closed
        self.frames.append(json.loads(frame))


async def ws_client(hub: NotificationHub, sink: FakeSink, **handshake: Any) -> str:
    frame = hub.handle_websocket([{"channel": "/meta/handshake", **handshake}], AGENT, sink)
    assert frame is not None
    cid: str = json.loads(frame)[0]["clientId"]
    sub = {"channel": "/meta/subscribe", "clientId": cid, "subscription": "/v2/me/**"}
    hub.handle_websocket([sub], AGENT, sink)
    hub.handle_websocket([{"channel": "/meta/connect", "clientId": cid}], AGENT, sink)
    assert hub.handle_websocket([{"channel": "/meta/connect", "clientId": cid}], AGENT, sink) is None  # held
    return cid


async def test_websocket_events_are_written_to_the_sink_as_one_frame_per_catch_up(
    hub: NotificationHub,
) -> None:
    sink = FakeSink()
    await ws_client(hub, sink)
    for n in range(3):
        source(hub).append(AGENT.user_id, "/v2/me/channels", {"n": n})
    await hub.catch_up()
    assert [[m["data"] for m in frame] for frame in sink.frames] == [[{"n": 0}, {"n": 1}, {"n": 2}]]


async def test_a_detached_sink_leaves_the_events_queued_for_the_next_connect(hub: NotificationHub) -> None:
    sink = FakeSink()
    cid = await ws_client(hub, sink)
    sink.closed = True
    hub.detach(sink)
    session = hub.bayeux.session(cid)
    assert session is not None and session.held is None  # the held connect was abandoned
    source(hub).append(AGENT.user_id, "/v2/me/channels", {"n": 1})
    await hub.catch_up()
    assert sink.frames == []
    replies = await call(hub, AGENT, {"channel": "/meta/connect", "clientId": cid})
    assert replies[0]["data"] == {"n": 1}


async def test_a_closing_sink_is_not_attached(hub: NotificationHub) -> None:
    sink = FakeSink()
    cid = await ws_client(hub, sink)
    hub.detach(sink)
    closing = FakeSink()
    closing.closed = True
    hub.handle_websocket([{"channel": "/meta/connect", "clientId": cid}], AGENT, closing)
    assert closing.clients == set()
    session = hub.bayeux.session(cid)
    assert session is not None and session.held is None


async def test_the_hints_of_one_loop_turn_go_out_as_one_message(hub: NotificationHub) -> None:
    heard: list[dict[str, Any]] = []

    async def listen(wire: dict[str, Any]) -> None:
        heard.append(wire)

    hub.bus.subscribe(EVENTS_TOPIC, listen)
    await asyncio.gather(  # three commits answered in the same turn, as a group commit answers them
        hub.notify_committed(7, ["u1"], [("S1", 2)]),
        hub.notify_committed(9, ["u2", "u1"], [("S1", 3), ("S2", 1)]),
        hub.notify_committed(8, ["u3"]),
    )
    await settle()
    assert heard == [
        {
            "type": "events_advanced",
            "last_event_id": 9,
            "user_ids": ["u1", "u2", "u3"],
            "sessions": [["S1", 3], ["S2", 1]],
        }
    ]
    await hub.notify_committed(10, ["u1"])
    await hub.notify_committed(11, [])  # possibly anyone: the merged hint names no user
    await settle()
    assert heard[1:] == [{"type": "events_advanced", "last_event_id": 11, "user_ids": []}]
    await hub.notify_committed(12, ["u4"])
    await settle()
    assert heard[2:] == [{"type": "events_advanced", "last_event_id": 12, "user_ids": ["u4"]}]

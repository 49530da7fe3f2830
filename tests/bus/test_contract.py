"""One contract suite for every bus implementation (``smsdesk/bus/base.py``)."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from smsdesk.bus.base import Bus
from smsdesk.bus.local import LocalBus
from smsdesk.bus.messages import Resync
from smsdesk.bus.peers import PeerBus
from smsdesk.bus.redis import RedisBus
from tests.services import REDIS_URL, require

pytestmark = pytest.mark.timeout(20)

BusFactory = Callable[[], Bus]


def require_redis() -> str:
    require("redis", REDIS_URL, 6379)
    return REDIS_URL


class Recorder:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.changed = asyncio.Event()

    async def __call__(self, message: dict[str, Any]) -> None:
        self.messages.append(message)
        self.changed.set()

    def payloads(self) -> list[dict[str, Any]]:
        return [m for m in self.messages if m != Resync().to_wire()]

    async def wait_for(self, count: int, seconds: float = 5.0) -> list[dict[str, Any]]:
        async def loop() -> None:
            while len(self.payloads()) < count:
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(loop(), seconds)
        return self.payloads()


@pytest.fixture(params=["local", "peer", "redis"])
def make_bus(request: pytest.FixtureRequest, tmp_path: Path) -> BusFactory:
    if request.param == "local":
        return LocalBus
    if request.param == "peer":  # the worker processes of one node: one directory, a name each
        names = itertools.count(1)
        return lambda: PeerBus(tmp_path, f"w{next(names)}")
    url = require_redis()
    return lambda: RedisBus(url)


@pytest.fixture
def topic() -> str:
    return f"test.{uuid.uuid4().hex}"


@pytest.fixture
async def buses(make_bus: BusFactory) -> AsyncIterator[list[Bus]]:
    made: list[Bus] = []
    yield made
    for bus in made:
        await bus.close()


async def test_round_trip_to_every_subscriber(make_bus: BusFactory, buses: list[Bus], topic: str) -> None:
    bus = make_bus()
    buses.append(bus)
    first, second = Recorder(), Recorder()
    bus.subscribe(topic, first)
    bus.subscribe(topic, second)
    await bus.start()
    await bus.publish(topic, {"type": "events_advanced", "last_event_id": 7, "user_ids": ["u1"]})
    assert await first.wait_for(1) == [{"type": "events_advanced", "last_event_id": 7, "user_ids": ["u1"]}]
    assert await second.wait_for(1) == first.payloads()


async def test_message_is_a_json_copy_not_the_same_object(
    make_bus: BusFactory, buses: list[Bus], topic: str
) -> None:
    bus = make_bus()
    buses.append(bus)
    got = Recorder()
    bus.subscribe(topic, got)
    await bus.start()
    sent: dict[str, Any] = {"type": "x", "nested": {"a": [1, 2]}, "t": (1, 2)}
    await bus.publish(topic, sent)
    [received] = await got.wait_for(1)
    assert received == {"type": "x", "nested": {"a": [1, 2]}, "t": [1, 2]}  # the tuple became a list
    assert received["nested"] is not sent["nested"]


async def test_non_json_message_is_refused_at_publish(
    make_bus: BusFactory, buses: list[Bus], topic: str
) -> None:
    bus = make_bus()
    buses.append(bus)
    await bus.start()
    with pytest.raises(TypeError):
        await bus.publish(topic, {"bad": object()})


async def test_other_topics_are_not_delivered(make_bus: BusFactory, buses: list[Bus], topic: str) -> None:
    bus = make_bus()
    buses.append(bus)
    got = Recorder()
    bus.subscribe(topic, got)
    await bus.start()
    await bus.publish(topic + ".other", {"type": "nope"})
    await bus.publish(topic, {"type": "yes"})
    assert await got.wait_for(1) == [{"type": "yes"}]
    await asyncio.sleep(0.05)
    assert got.payloads() == [{"type": "yes"}]


async def test_order_is_kept(make_bus: BusFactory, buses: list[Bus], topic: str) -> None:
    bus = make_bus()
    buses.append(bus)
    got = Recorder()
    bus.subscribe(topic, got)
    await bus.start()
    for i in range(20):
        await bus.publish(topic, {"type": "n", "i": i})
    assert [m["i"] for m in await got.wait_for(20)] == list(range(20))


async def test_failing_handler_does_not_stop_delivery(
    make_bus: BusFactory, buses: list[Bus], topic: str
) -> None:
    bus = make_bus()
    buses.append(bus)
    got = Recorder()

    async def boom(message: dict[str, Any]) -> None:
        raise RuntimeError("handler bug")

    bus.subscribe(topic, boom)
    bus.subscribe(topic, got)
    await bus.start()
    await bus.publish(topic, {"type": "a"})
    await bus.publish(topic, {"type": "b"})
    assert await got.wait_for(2) == [{"type": "a"}, {"type": "b"}]


async def test_publish_before_start_is_a_clear_error(make_bus: BusFactory, topic: str) -> None:
    bus = make_bus()
    with pytest.raises(RuntimeError, match="before start"):
        await bus.publish(topic, {"type": "a"})


async def test_two_buses_reach_each_other_only_when_distributed(
    make_bus: BusFactory, buses: list[Bus], topic: str
) -> None:
    """Two nodes (or workers): RedisBus and PeerBus carry hints across; two LocalBus instances are isolated."""
    a, b = make_bus(), make_bus()
    buses.extend([a, b])
    got_a = Recorder()
    a.subscribe(topic, got_a)
    await a.start()
    await b.start()
    await b.publish(topic, {"type": "from-b"})
    if isinstance(a, RedisBus | PeerBus):
        assert await got_a.wait_for(1) == [{"type": "from-b"}]
    else:
        await asyncio.sleep(0.05)
        assert got_a.payloads() == []


async def test_redis_reconnects_and_asks_for_resync(buses: list[Bus], topic: str) -> None:
    url = require_redis()
    bus = RedisBus(url, reconnect_delay=0.05)
    buses.append(bus)
    got = Recorder()
    bus.subscribe(topic, got)
    await bus.start()
    assert bus.connects == 1
    assert got.messages[:1] == [Resync().to_wire()]

    admin = aioredis.Redis.from_url(url)
    try:
        killed = await admin.client_kill_filter(_type="pubsub")
        assert killed >= 1

        async def reconnected() -> None:
            while bus.connects < 2:  # noqa: ASYNC110 - polling a counter owned by the bus
                await asyncio.sleep(0.02)

        await asyncio.wait_for(reconnected(), 5)
        assert got.messages.count(Resync().to_wire()) == 2
        await bus.publish(topic, {"type": "after"})
        assert await got.wait_for(1) == [{"type": "after"}]
    finally:
        await admin.aclose()


async def test_redis_start_fails_clearly_when_unreachable() -> None:
    bus = RedisBus("redis://127.0.0.1:1/0")
    with pytest.raises(ConnectionError, match="cannot reach"):
        await bus.start()

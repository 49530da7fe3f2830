"""Any client on any node, and resuming (notify/shared.py): hubs on one ``MemoryClientStore`` play nodes on one
database, sharing one in-process bus (as Redis would carry the hints). FakeClock; waits bounded by
pytest-timeout."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from smsdesk.bus.local import LocalBus
from smsdesk.clock import FakeClock
from smsdesk.domain.users import Principal
from smsdesk.notify.bayeux import Transport
from smsdesk.notify.fakes import MemoryClientStore, MemoryEventSource
from smsdesk.notify.hub import NotificationHub
from smsdesk.notify.settings import NotifySettings
from tests.notify.helpers import AGENT, AGENT2, SUPERVISOR, authenticator

pytestmark = pytest.mark.timeout(20)
LP = Transport.LONG_POLLING
CHANNEL = "/v2/me/channels"
SETTINGS = NotifySettings(poll_interval_ms=0)


class FakeSink:
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

    def events(self) -> list[Any]:
        return [m["data"]["n"] for f in self.frames for m in f if not m["channel"].startswith("/meta/")]


class Cluster:
    def __init__(self, store: MemoryEventSource, hubs: list[NotificationHub]) -> None:
        self.store = store
        self.hubs = hubs

    async def commit(self, n: int, user: Principal = AGENT, channel: str = CHANNEL) -> None:
        event = self.store.append(user.user_id, channel, {"n": n})
        await self.hubs[0].notify_committed(event.id, [user.user_id])
        await settle()


async def settle() -> None:
    for _ in range(30):
        await asyncio.sleep(0)


@pytest.fixture
async def cluster(clock: FakeClock) -> AsyncIterator[Cluster]:
    store, bus = MemoryClientStore(), LocalBus()
    hubs = [NotificationHub(store, bus, authenticator(), clock, SETTINGS, shared=store) for _ in range(3)]
    for hub in hubs:
        await hub.start()
    await bus.start()
    yield Cluster(store, hubs)
    for hub in hubs:
        await hub.close()
    await bus.close()


@pytest.fixture
async def single(clock: FakeClock) -> AsyncIterator[Cluster]:
    source, bus = MemoryEventSource(), LocalBus()
    hub = NotificationHub(source, bus, authenticator(), clock, SETTINGS)
    await hub.start()
    await bus.start()
    yield Cluster(source, [hub])
    await hub.close()
    await bus.close()


async def call(
    hub: NotificationHub, who: Principal, *messages: dict[str, Any], key: str = "B:browser"
) -> list[dict[str, Any]]:
    processed = await hub.process(list(messages), who, LP, resume_key=key)
    assert processed is not None
    return processed.replies


def data(replies: list[dict[str, Any]]) -> list[Any]:
    return [m["data"]["n"] for m in replies if not m["channel"].startswith("/meta/")]


def meta(replies: list[dict[str, Any]], channel: str = "/meta/connect") -> dict[str, Any]:
    [reply] = [m for m in replies if m["channel"] == channel]
    return reply


def connect(cid: str, ack: int | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"channel": "/meta/connect", "clientId": cid, "connectionType": "long-polling"}
    if ack is not None:
        message["ext"] = {"ack": ack}
    return message


async def handshake(
    hub: NotificationHub, who: Principal = AGENT, *, ack: bool = False, key: str = "B:x"
) -> str:
    ext = {"ext": {"ack": True}} if ack else {}
    [hs] = await call(hub, who, {"channel": "/meta/handshake", **ext}, key=key)
    assert hs["successful"], hs
    cid: str = hs["clientId"]
    return cid


async def subscribe(hub: NotificationHub, cid: str, who: Principal = AGENT, sub: str = "/v2/me/**") -> None:
    [reply] = await call(hub, who, {"channel": "/meta/subscribe", "clientId": cid, "subscription": sub})
    assert reply["successful"], reply


async def held(hub: NotificationHub, message: dict[str, Any], who: Principal = AGENT) -> asyncio.Task[Any]:
    task = asyncio.create_task(call(hub, who, message))
    await settle()
    return task


@pytest.mark.parametrize("ack", [False, True])
async def test_every_request_of_a_client_may_land_on_another_node(cluster: Cluster, ack: bool) -> None:
    a, b, c = cluster.hubs
    cid = await handshake(a, ack=ack)
    await subscribe(b, cid)
    first = await call(c, AGENT, connect(cid, 0 if ack else None))
    assert meta(first)["successful"] and data(first) == []
    batch = meta(first).get("ext", {}).get("ack")
    await cluster.commit(1)
    committed = 1
    received: list[Any] = []
    for hub in [a, b, c, a, b, c, a, b, c]:
        task = await held(hub, connect(cid, batch if ack else None))
        if not task.done():  # held: answered by the next commit
            committed += 1
            await cluster.commit(committed)
        replies = await task
        assert meta(replies)["successful"], replies
        received += data(replies)
        batch = meta(replies).get("ext", {}).get("ack")
    assert committed >= 6
    assert received == list(range(1, committed + 1))  # each once, in order, whichever node answered


async def test_a_subscription_made_on_another_node_reaches_the_held_connect(cluster: Cluster) -> None:
    a, b, _ = cluster.hubs
    cid = await handshake(a)
    await subscribe(a, cid, sub="/v2/me/channels")
    await call(a, AGENT, connect(cid))
    task = await held(a, connect(cid))
    await subscribe(b, cid, sub="/v2/me/sms/**")
    await cluster.commit(1, channel="/v2/me/sms/sessions")
    await cluster.hubs[0].catch_up()
    await settle()
    replies = task.result() if task.done() else None
    if replies is None:  # a copy learns the subscription at its next request at the latest
        task.cancel()
        replies = await call(b, AGENT, connect(cid))
    assert data(replies) == [1]


async def test_a_reply_lost_with_its_node_comes_again_from_another_with_the_ack_extension(
    cluster: Cluster,
) -> None:
    a, b, _ = cluster.hubs
    cid = await handshake(a, ack=True)
    await subscribe(a, cid)
    batch = meta(await call(a, AGENT, connect(cid, 0)))["ext"]["ack"]
    task = await held(a, connect(cid, batch))
    await cluster.commit(1)
    lost = await task  # answered by A, which dies before the client reads it
    assert data(lost) == [1]
    replies = await call(b, AGENT, connect(cid, batch))  # the client retries on B with its last batch
    assert data(replies) == [1]
    again = await held(b, connect(cid, meta(replies)["ext"]["ack"]))
    await cluster.commit(2)
    assert data(await again) == [2]


async def test_a_websocket_reconnecting_to_another_node_gets_what_was_committed_meanwhile(
    cluster: Cluster,
) -> None:
    a, b, _ = cluster.hubs
    sink_a = FakeSink()
    [hs] = json.loads(await a.receive_websocket([{"channel": "/meta/handshake"}], AGENT, sink_a) or b"[]")
    cid = hs["clientId"]
    for message in (
        {"channel": "/meta/subscribe", "clientId": cid, "subscription": "/v2/me/**"},
        {"channel": "/meta/connect", "clientId": cid, "connectionType": "websocket"},
    ):
        frame = await a.receive_websocket([message], AGENT, sink_a)
        assert frame is not None and json.loads(frame)[0]["successful"]
    await cluster.commit(1)
    assert sink_a.events() == [1]  # at once: no ack extension
    a.detach(sink_a)
    sink_a.closed = True
    await a.shared.flush()  # type: ignore[union-attr]  # A's last position write (at most a second late)
    await cluster.commit(2)
    await cluster.commit(3)
    sink_b = FakeSink()
    reconnect = {"channel": "/meta/connect", "clientId": cid, "connectionType": "websocket"}
    frame = await b.receive_websocket([reconnect], AGENT, sink_b)
    got = sink_b.events() + [m["data"]["n"] for m in json.loads(frame or b"[]") if "data" in m]
    assert got == [2, 3]
    await cluster.commit(4)
    assert sink_b.events()[-1] == 4


async def test_a_client_gone_from_the_store_gets_402_on_every_node(
    cluster: Cluster, clock: FakeClock
) -> None:
    a, b, c = cluster.hubs
    cid = await handshake(a)
    await call(b, AGENT, connect(cid))
    a.drop_user(AGENT.user_id)  # logout on A
    await settle()
    for hub in (b, c):
        assert meta(await call(hub, AGENT, connect(cid)))["error"] == "402::Unknown client"
    other = await handshake(a, AGENT2)
    clock.advance(60)  # long without a request: expired on every node
    assert meta(await call(c, AGENT2, connect(other)))["error"] == "402::Unknown client"
    assert cluster.store.clients[other].gone  # type: ignore[attr-defined]


async def test_a_client_id_is_never_usable_by_another_user(cluster: Cluster) -> None:
    a, b, _ = cluster.hubs
    cid = await handshake(a)
    assert meta(await call(b, AGENT2, connect(cid)))["error"] == "402::Unknown client"
    assert b.bayeux.session(cid) is None


@pytest.mark.parametrize("ack", [False, True])
async def test_a_client_that_handshakes_again_resumes_where_it_was_one_node(
    single: Cluster, clock: FakeClock, ack: bool
) -> None:
    await resume_scenario(single, clock, ack, nodes=single.hubs * 3)


@pytest.mark.parametrize("ack", [False, True])
async def test_a_client_that_handshakes_again_resumes_where_it_was_on_any_node(
    cluster: Cluster, clock: FakeClock, ack: bool
) -> None:
    await resume_scenario(cluster, clock, ack, nodes=cluster.hubs)


async def resume_scenario(
    cluster: Cluster, clock: FakeClock, ack: bool, nodes: list[NotificationHub]
) -> None:
    a, b, c = nodes
    cid = await handshake(a, ack=ack, key="B:mine")
    await subscribe(a, cid)
    batch = meta(await call(a, AGENT, connect(cid, 0 if ack else None))).get("ext", {}).get("ack")
    task = await held(a, connect(cid, batch if ack else None))
    await cluster.commit(1)
    assert data(await task) == [1]
    await a.shared.flush() if a.shared is not None else None
    await cluster.commit(2)  # the client is away (its network, its laptop lid): 2 and 3 wait in the store
    await cluster.commit(3)
    clock.advance(60)
    await settle()
    [gone] = await call(b, AGENT, connect(cid, batch))
    assert gone["error"] == "402::Unknown client" and gone["advice"]["reconnect"] == "handshake"
    stranger = await handshake(c, ack=ack, key="B:another-browser")  # not resumed: starts from now
    again = await handshake(c, ack=ack, key="B:mine")
    for new in (stranger, again):
        await subscribe(b, new)
    first = await call(a, AGENT, connect(again, 0 if ack else None))
    rest = (
        []
        if data(first)
        else data(await call(b, AGENT, connect(again, meta(first).get("ext", {}).get("ack"))))
    )
    assert data(first) + rest == [2, 3]  # what it missed, once; not 1, which it had
    assert data(await call(a, AGENT, connect(stranger, 0 if ack else None))) == []
    assert await handshake_resumes_nothing_twice(cluster, c, ack)


async def handshake_resumes_nothing_twice(cluster: Cluster, hub: NotificationHub, ack: bool) -> bool:
    """The former client was resumed once: a third handshake from the same browser starts from now."""
    third = await handshake(hub, ack=ack, key="B:mine")
    await subscribe(hub, third)
    return data(await call(hub, AGENT, connect(third, 0 if ack else None))) == []


async def test_supervisors_get_supervisor_events_on_any_node(cluster: Cluster) -> None:
    from smsdesk.domain.events import SUPERVISORS

    a, b, _ = cluster.hubs
    cid = await handshake(a, SUPERVISOR)
    await subscribe(b, cid, SUPERVISOR, "/v2/**")
    event = cluster.store.append(SUPERVISORS, "/v2/supervisor/sessions", {"n": 1})
    await a.notify_committed(event.id, [SUPERVISORS])
    await settle()
    assert data(await call(b, SUPERVISOR, connect(cid))) == [1]


async def test_a_node_stopping_releases_its_held_connects_and_its_clients_go_on_elsewhere(
    clock: FakeClock,
) -> None:
    store, bus = MemoryClientStore(), LocalBus()
    a, b = (NotificationHub(store, bus, authenticator(), clock, SETTINGS, shared=store) for _ in range(2))
    for hub in (a, b):
        await hub.start()
    await bus.start()
    try:
        cid = await handshake(a)
        await subscribe(a, cid)
        await call(a, AGENT, connect(cid))
        task = await held(a, connect(cid))
        await a.close()  # a graceful restart of node A
        replies = await task
        assert meta(replies)["successful"], replies  # not 402: the client reconnects, to another node
        event = store.append(AGENT.user_id, CHANNEL, {"n": 1})
        await b.notify_committed(event.id, [AGENT.user_id])
        await settle()
        assert data(await call(b, AGENT, connect(cid))) == [1]
    finally:
        await b.close()
        await bus.close()


async def test_the_next_message_of_a_client_on_the_node_that_served_it_last_reads_no_row(
    cluster: Cluster,
) -> None:
    """CometD clients number their messages: the very next one, on the node that served the previous one,
    finds its copy current; after a message served elsewhere, the node reads the row again."""
    a, b, _ = cluster.hubs
    store = cluster.store
    assert isinstance(store, MemoryClientStore)
    [hs] = await call(a, AGENT, {"channel": "/meta/handshake", "id": "1"})
    cid = hs["clientId"]
    reads = store.client_reads
    sub = {"channel": "/meta/subscribe", "clientId": cid, "subscription": "/v2/me/channels", "id": "2"}
    assert (await call(a, AGENT, sub))[0]["successful"]
    assert meta(await call(a, AGENT, {**connect(cid), "id": "3"}))["successful"]
    assert store.client_reads == reads  # served by A all along: no read
    other = {"channel": "/meta/subscribe", "clientId": cid, "subscription": "/v2/me/sms/**", "id": "4"}
    assert (await call(b, AGENT, other))[0]["successful"]
    assert store.client_reads == reads + 1  # B had never seen it
    await cluster.commit(1, channel="/v2/me/sms/sessions")
    replies = await call(a, AGENT, {**connect(cid), "id": "5"})  # 4 went elsewhere: A reads the row
    assert store.client_reads == reads + 2
    assert data(replies) == [1]  # with the subscription made on B


async def test_a_logout_on_another_node_ends_a_client_served_without_reads_within_seconds(
    cluster: Cluster, clock: FakeClock
) -> None:
    a, b, _ = cluster.hubs
    [hs] = await call(a, AGENT, {"channel": "/meta/handshake", "id": "1"})
    cid = hs["clientId"]
    assert meta(await call(a, AGENT, {**connect(cid), "id": "2"}))["successful"]
    b.drop_user(AGENT.user_id)  # logout through node B
    await settle()
    clock.advance(a.shared.RECHECK_S + 0.1)  # type: ignore[union-attr]
    replies = await call(a, AGENT, {**connect(cid), "id": "3"})  # the very next message, on A
    assert meta(replies)["error"] == "402::Unknown client"

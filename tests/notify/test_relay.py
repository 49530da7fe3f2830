"""Long-polling between worker processes (``smsdesk/notify/relay.py``): two hubs, as two workers of one node,
each with its own relay socket in one directory; a batch for a client of hub A that reaches hub B is answered
by hub A. (Across real processes: tests/interop/test_workers.py.)"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from asgi_lifespan import LifespanManager

from smsdesk.bus.local import LocalBus
from smsdesk.clock import FakeClock
from smsdesk.notify.fakes import MemoryEventSource
from smsdesk.notify.hub import NotificationHub
from smsdesk.notify.relay import Relay
from smsdesk.notify.settings import NotifySettings
from tests.notify.helpers import AGENT, authenticator, basic, make_app

pytestmark = pytest.mark.timeout(15)
URL = "http://testserver/api/v2/notifications"
CHANNEL = "/v2/me/channels"


@pytest.fixture
def short_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Unix socket paths are limited to ~107 bytes: pytest's tmp_path can be longer
    import tempfile

    return Path(tempfile.mkdtemp(prefix="relay-"))


def worker_hub(clock: FakeClock, source: MemoryEventSource, directory: Path, name: str) -> NotificationHub:
    return NotificationHub(
        source,
        LocalBus(),
        authenticator(),
        clock,
        NotifySettings(poll_interval_ms=0),
        relay=Relay(directory, name),
    )


class Worker:
    def __init__(self, hub: NotificationHub, http: httpx.AsyncClient) -> None:
        self.hub = hub
        self.http = http

    async def post(self, body: Any) -> tuple[int, Any]:
        r = await self.http.post(URL, json=body)
        return r.status_code, (r.json() if r.content else None)


@pytest.fixture
async def workers(clock: FakeClock, short_dir: Path) -> AsyncIterator[tuple[Worker, Worker]]:
    source = MemoryEventSource()
    hubs = [worker_hub(clock, source, short_dir, name) for name in ("wa", "wb")]
    async with LifespanManager(make_app(hubs[0])) as a, LifespanManager(make_app(hubs[1])) as b:
        headers = {"Authorization": basic("agent1")}
        async with (
            httpx.AsyncClient(transport=httpx.ASGITransport(app=a.app), headers=headers) as http_a,
            httpx.AsyncClient(transport=httpx.ASGITransport(app=b.app), headers=headers) as http_b,
        ):
            yield Worker(hubs[0], http_a), Worker(hubs[1], http_b)


async def handshake(worker: Worker) -> str:
    status, [reply] = await worker.post([{"channel": "/meta/handshake", "version": "1.0"}])
    assert status == 200 and reply["successful"], reply
    client_id: str = reply["clientId"]
    return client_id


def connect(client_id: str, **advice: int) -> list[dict[str, Any]]:
    message: dict[str, Any] = {
        "channel": "/meta/connect",
        "clientId": client_id,
        "connectionType": "long-polling",
    }
    if advice:
        message["advice"] = advice
    return [message]


async def test_a_client_of_worker_a_is_served_through_worker_b(workers: tuple[Worker, Worker]) -> None:
    a, b = workers
    client_id = await handshake(a)
    assert client_id.startswith("wa.")
    status, [first] = await b.post(connect(client_id, timeout=0))
    assert status == 200 and first["successful"], first
    status, [sub] = await b.post(
        [{"channel": "/meta/subscribe", "clientId": client_id, "subscription": CHANNEL}]
    )
    assert status == 200 and sub["successful"], sub
    assert b.hub.relay is not None and b.hub.relay.relayed == 2
    assert a.hub.bayeux.session(client_id) is not None and b.hub.bayeux.session(client_id) is None

    held = asyncio.create_task(b.post(connect(client_id)))  # held by worker A, through B
    await asyncio.sleep(0.05)
    assert not held.done()
    source = a.hub.source
    assert isinstance(source, MemoryEventSource)
    source.append(AGENT.user_id, CHANNEL, {"messageType": "ChannelStateChangeMessageV2"})
    await a.hub.notify_committed(await source.last_event_id(), [AGENT.user_id])
    status, replies = await asyncio.wait_for(held, 5)
    assert status == 200
    assert [m["data"]["messageType"] for m in replies if m["channel"] == CHANNEL] == [
        "ChannelStateChangeMessageV2"
    ]


async def test_the_owner_gone_the_batch_is_answered_here_and_the_client_handshakes_again(
    workers: tuple[Worker, Worker],
) -> None:
    a, b = workers
    client_id = await handshake(a)
    await a.hub.close()  # worker A died: its socket is gone
    status, [reply] = await b.post(connect(client_id, timeout=0))
    assert status == 200
    assert reply["successful"] is False and reply["error"].startswith("402::"), reply
    assert reply["advice"]["reconnect"] == "handshake"
    assert (await handshake(b)).startswith("wb.")


async def test_own_clients_and_handshakes_are_never_relayed(workers: tuple[Worker, Worker]) -> None:
    _, b = workers
    client_id = await handshake(b)
    status, [reply] = await b.post(connect(client_id, timeout=0))
    assert status == 200 and reply["successful"]
    unknown = "wzz." + "0" * 40  # a worker that does not exist: answered here
    status, [reply] = await b.post(connect(unknown, timeout=0))
    assert reply["error"].startswith("402::")
    assert b.hub.relay is not None and b.hub.relay.relayed == 0


async def test_a_client_leaving_while_relayed_is_seen_gone_by_the_owner(short_dir: Path) -> None:
    seen: list[bytes] = []
    arrived, gone_seen = asyncio.Event(), asyncio.Event()

    async def handler(
        body: bytes, headers: Mapping[str, str], gone: asyncio.Future[Any]
    ) -> tuple[int, bytes]:
        seen.append(body)
        arrived.set()
        await gone
        gone_seen.set()
        return 204, b""

    owner, front = Relay(short_dir, "wa"), Relay(short_dir, "wb")
    await owner.start(handler)
    try:
        path = front.target([{"channel": "/meta/connect", "clientId": "wa.x"}])
        assert path == owner.path
        forwarding = asyncio.create_task(front.forward(path, b"[1]", {"authorization": "Basic x"}))
        await asyncio.wait_for(arrived.wait(), 5)
        forwarding.cancel()  # the HTTP client went away
        await asyncio.wait_for(gone_seen.wait(), 5)
        assert seen == [b"[1]"]
    finally:
        await owner.close()
    assert not owner.path.exists()


async def test_bad_frames_are_dropped_and_the_relay_keeps_serving(short_dir: Path) -> None:
    async def handler(
        body: bytes, headers: Mapping[str, str], gone: asyncio.Future[Any]
    ) -> tuple[int, bytes]:
        return 200, orjson.dumps({"body": body.decode(), "auth": headers.get("authorization")})

    owner, front = Relay(short_dir, "wa"), Relay(short_dir, "wb")
    await owner.start(handler)
    try:
        for junk in (b"\xff\xff\xff\xff", b"\x00\x00\x00\x03abc", b"\x00\x00"):
            reader, writer = await asyncio.open_unix_connection(str(owner.path))
            writer.write(junk)
            writer.write_eof()
            assert await asyncio.wait_for(reader.read(), 5) == b""  # closed without an answer
            writer.close()
        answer = await front.forward(owner.path, b"[2]", {"authorization": "Basic y", "x-other": "no"})
        assert answer == (200, orjson.dumps({"body": "[2]", "auth": "Basic y"}))
    finally:
        await owner.close()


def test_worker_names_cannot_escape_the_directory(short_dir: Path) -> None:
    for bad in ("", "a.b", "../x"):
        with pytest.raises(ValueError):
            Relay(short_dir, bad)
    front = Relay(short_dir, "wb")
    assert front.target([{"channel": "/meta/connect", "clientId": "../../etc/x.y"}]) is None
    assert front.target([{"channel": "/meta/connect", "clientId": "nodot"}]) is None

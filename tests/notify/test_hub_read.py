"""How the hub reads the store: an ``IN`` list for a small audience, one ``id > cursor`` range read of every
user's events, filtered in memory, for a large one (``smsdesk/notify/hub.py``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from smsdesk.clock import FakeClock
from smsdesk.domain.users import Principal, Role
from smsdesk.notify.bayeux import Transport
from smsdesk.notify.fakes import MemoryEventSource
from smsdesk.notify.hub import NotificationHub
from smsdesk.notify.settings import NotifySettings
from tests.notify.helpers import make_hub

pytestmark = pytest.mark.timeout(10)


def agent(i: int) -> Principal:
    return Principal(f"u{i}", f"agent{i}", frozenset({Role.AGENT}))


async def connect(hub: NotificationHub, who: Principal) -> str:
    async def call(*messages: dict[str, Any]) -> list[dict[str, Any]]:
        processed = await hub.process(list(messages), who, Transport.LONG_POLLING)
        assert processed is not None
        return processed.replies

    [hs] = await call({"channel": "/meta/handshake"})
    cid: str = hs["clientId"]
    await call({"channel": "/meta/connect", "clientId": cid})
    await call({"channel": "/meta/subscribe", "clientId": cid, "subscription": "/v2/me/**"})
    return cid


@pytest.fixture
async def hub(clock: FakeClock) -> AsyncIterator[NotificationHub]:
    h = make_hub(clock, NotifySettings(poll_interval_ms=0, audience_in_list_max=2, read_batch=3))
    await h.start()
    await h.bus.start()
    yield h
    await h.close()
    await h.bus.close()


async def test_small_audience_reads_by_user_and_large_audience_reads_everything(
    hub: NotificationHub,
) -> None:
    src = hub.source
    assert isinstance(src, MemoryEventSource)
    clients = {i: await connect(hub, agent(i)) for i in range(2)}
    src.append("u0", "/v2/me/channels", {"n": 1})
    await hub.catch_up()
    assert (src.reads, src.all_reads) == (1, 0)
    clients[2] = await connect(hub, agent(2))
    for n in range(7):  # more than one read batch, mostly for users with no client here
        src.append(f"u{n % 5}", "/v2/me/channels", {"n": n})
    await hub.catch_up()
    assert src.reads == 1 and src.all_reads == 3
    assert hub.cursor == 8
    got = {i: [m["data"]["n"] for m in queue_of(hub, cid)] for i, cid in clients.items()}
    assert got == {0: [1, 0, 5], 1: [1, 6], 2: [2]}
    await asyncio.sleep(0)


def queue_of(hub: NotificationHub, client_id: str) -> list[dict[str, Any]]:
    session = hub.bayeux.session(client_id)
    assert session is not None
    return session.queue.take(keep=True)

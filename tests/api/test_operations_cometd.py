"""What a real CometD client receives is exactly what the other conformance tests read from the store.

The conformance tests (``tests/api/test_operations_*.py``) assert on the notifications stored for each user
(``Api.events``), which is what the notification hub delivers. This test closes the loop once: the whole app
under a real uvicorn on 127.0.0.1 (port 0), ``aiocometd-ng`` clients for two agents on
``/api/v2/notifications`` (topic ``/v2/me/smssessions``), a conversation through the REST API, and then, per
agent, the ``data`` of every message received over the wire equals the stored notifications, same order.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiocometd_ng.client import Client
from aiocometd_ng.constants import ConnectionType
from fastapi import FastAPI

from smsdesk.app import build_app
from smsdesk.config import Settings
from smsdesk.sms.config import SimulatorSettings, SmsSettings
from tests.api.test_operations_kit import BIZ, CUST, brief, check_event
from tests.notify.helpers import BasicAuth, serve

pytestmark = [
    pytest.mark.timeout(60),
    # aiocometd-ng 0.5.6 calls aiohttp with arguments aiohttp now deprecates: not our warnings.
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]
TOPIC = "/v2/me/smssessions"


def _auth(user: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:password".encode()).decode()}


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient, str]]:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'cometd.db'}")
    app = build_app(
        settings,
        fast_hash=True,
        seed_demo=True,
        sms=SmsSettings(SimulatorSettings(public=True)),
        background=False,
    )
    async with serve(app) as base, httpx.AsyncClient(base_url=base) as http:
        yield app, http, base + "/api/v2/notifications"


async def _collect(client: Client, into: list[dict[str, Any]], done: asyncio.Event) -> None:
    async for message in client:
        if message.get("channel") == TOPIC:
            into.append(message["data"])
            if message["data"].get("smssession", {}).get("state") == "Completed":
                done.set()


async def test_the_wire_carries_exactly_the_stored_notifications(
    live: tuple[FastAPI, httpx.AsyncClient, str],
) -> None:
    app, http, url = live

    async def op(user: str, body: dict[str, Any], sid: str) -> None:
        r = await http.post(f"/api/v2/me/smssessions/{sid}", json=body, headers=_auth(user))
        assert r.json()["statusCode"] == 0, r.text

    received: dict[str, list[dict[str, Any]]] = {"agent1": [], "agent2": []}
    done = {u: asyncio.Event() for u in received}
    async with (
        Client(url, connection_types=[ConnectionType.LONG_POLLING], auth=BasicAuth("agent1")) as c1,
        Client(url, connection_types=[ConnectionType.LONG_POLLING], auth=BasicAuth("agent2")) as c2,
    ):
        await c1.subscribe(TOPIC)
        await c2.subscribe(TOPIC)
        tasks = [
            asyncio.create_task(_collect(c, received[u], done[u]))
            for u, c in (("agent1", c1), ("agent2", c2))
        ]
        r = await http.post(
            "/api/v2/me/channels/sms", json={"operationName": "Ready"}, headers=_auth("agent1")
        )
        assert r.json() == {"statusCode": 0}
        r = await http.post("/sms/simulator/inbound", json={"from": CUST, "to": BIZ, "text": "Hello"})
        assert r.json()["statusCode"] == 0
        await app.state.router.run_once()
        uris = (await http.get("/api/v2/me/smssessions", headers=_auth("agent1"))).json()["uris"]
        sid = uris[0].rsplit("/", 1)[1]
        agent2 = (await http.get("/api/v2/me", headers=_auth("agent2"))).json()["user"]["uri"]
        await op("agent1", {"operationName": "Accept", "nickname": "Alice"}, sid)
        await op("agent1", {"operationName": "Invite", "targetUri": agent2}, sid)
        await op("agent2", {"operationName": "Accept"}, sid)
        await op("agent2", {"operationName": "SendToAgents", "text": "psst"}, sid)
        await op("agent1", {"operationName": "SendMessage", "text": "Hello, how can we help?"}, sid)
        await op("agent1", {"operationName": "AttachUserData", "userData": {"Order": 42}}, sid)
        await op("agent2", {"operationName": "Leave"}, sid)
        await op("agent1", {"operationName": "Complete"}, sid)
        await asyncio.wait_for(asyncio.gather(done["agent1"].wait(), done["agent2"].wait()), 20)
        for t in tasks:
            t.cancel()
    rt = app.state.rt
    for name, wire in received.items():
        user = await rt.store.get_user_by_name(name)
        assert user is not None
        stored = [
            dict(e.data) for e in await rt.store.read_events([user.id], 0, 10_000) if e.channel == TOPIC
        ]
        assert wire == stored, name
        for ev in wire:
            check_event(ev)
    assert [brief(e) for e in received["agent2"]] == [
        "StatusChange Invited",
        "StatusChange Chatting",
        "ParticipantsUpdated Chatting",
        "NewMessages ParticipantJoined/All,Text/All,ParticipantJoined/All,ParticipantJoined/All",
        "NewMessages Text/Agents",
        "NewMessages Text/All",
        "PropertiesUpdated Chatting",
        "StatusChange Completed",
    ]

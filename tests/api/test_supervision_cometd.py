"""The seed page end to end with a real CometD client: the whole app (``build_app``) under a real uvicorn on
127.0.0.1 (port 0), REST over HTTP, and ``aiocometd-ng`` clients for the supervisor and the agent on
``/api/v2/notifications``, topic ``/v2/me/smssessions``.

Proves over the wire: "the supervisor will also have the SMS session delivered, as well as all SMS session
notifications" and "When the SMS session is completed or placed in a queue, the supervisor will receive SMS
session state Revoked", while the agent's client never hears of the Monitor-mode supervisor.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
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
from tests.notify.helpers import BasicAuth, serve

pytestmark = [
    pytest.mark.timeout(60),
    # aiocometd-ng 0.5.6 calls aiohttp's ws_connect with arguments aiohttp now deprecates: not our warnings.
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]
TOPIC = "/v2/me/smssessions"
CUST = "+15551230001"


@dataclass
class Server:
    app: FastAPI
    http: httpx.AsyncClient
    url: str

    async def post(self, path: str, body: dict[str, Any], user: str) -> dict[str, Any]:
        auth = base64.b64encode(f"{user}:password".encode()).decode()
        r = await self.http.post(path, json=body, headers={"Authorization": f"Basic {auth}"})
        out: dict[str, Any] = r.json()
        return out

    async def get(self, path: str, user: str) -> dict[str, Any]:
        auth = base64.b64encode(f"{user}:password".encode()).decode()
        out: dict[str, Any] = (await self.http.get(path, headers={"Authorization": f"Basic {auth}"})).json()
        return out

    async def user_id(self, name: str) -> str:
        user = await self.app.state.rt.store.get_user_by_name(name)
        assert user is not None
        return str(user.id)


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'cometd.db'}")
    app = build_app(
        settings,
        fast_hash=True,
        seed_demo=True,
        sms=SmsSettings(SimulatorSettings(public=True)),
        background=False,
    )
    async with serve(app) as base, httpx.AsyncClient(base_url=base) as http:
        yield Server(app, http, base + "/api/v2/notifications")


async def until(client: Client, predicate: Any, seen: list[dict[str, Any]]) -> dict[str, Any]:
    """Receive on ``client`` (recording into ``seen``) until a message's data matches ``predicate``."""

    async def loop() -> dict[str, Any]:
        while True:
            message: dict[str, Any] = await client.receive()
            seen.append(message)
            if message.get("channel") == TOPIC and predicate(message["data"]):
                return message

    return await asyncio.wait_for(loop(), 15)


def state_is(state: str) -> Any:
    return lambda d: d.get("notificationType") == "StatusChange" and d["smssession"]["state"] == state


async def offered(server: Server) -> str:
    await server.post("/api/v2/me/channels/sms", {"operationName": "Ready"}, "agent1")
    r = await server.http.post(
        "/sms/simulator/inbound", json={"from": CUST, "to": "+15550000000", "text": "Hi"}
    )
    assert r.json()["statusCode"] == 0
    await server.app.state.router.run_once()
    sessions = (await server.get("/api/v2/me/smssessions?fields=*", "agent1"))["smssessions"]
    sid: str = sessions[0]["id"]
    return sid


@pytest.mark.parametrize(
    ("kind", "end"),
    [
        (ConnectionType.LONG_POLLING, {"operationName": "Complete"}),
        (ConnectionType.WEBSOCKET, {"operationName": "Transfer", "queueName": "default"}),
    ],
    ids=["long-polling/complete", "websocket/transfer-to-queue"],
)
async def test_supervisor_client_gets_the_session_then_revoked(
    server: Server, kind: ConnectionType, end: dict[str, Any]
) -> None:
    agent_id = await server.user_id("agent1")
    sup_seen: list[dict[str, Any]] = []
    agent_seen: list[dict[str, Any]] = []
    async with (
        Client(server.url, kind, auth=BasicAuth("supervisor1")) as sup,
        Client(server.url, kind, auth=BasicAuth("agent1")) as agent,
    ):
        await sup.subscribe(TOPIC)
        await agent.subscribe(TOPIC)
        body = {"operationName": "Monitor", "supervisorMonitoringMode": "NextChat", "nickname": "Silent Sam"}
        assert await server.post(f"/api/v2/users/{agent_id}/channels/smsession", body, "supervisor1") == {
            "statusCode": 0
        }
        sid = await offered(server)
        answer = await server.post(f"/api/v2/me/smssessions/{sid}", {"operationName": "Accept"}, "agent1")
        assert answer["statusCode"] == 0 and isinstance(answer["referenceId"], int)

        delivered = await until(sup, state_is("Chatting"), sup_seen)
        assert delivered["data"]["smssession"]["id"] == sid
        log = await until(sup, lambda d: d.get("messageType") == "MessageLogUpdated", sup_seen)
        assert [m["text"] for m in log["data"]["messages"] if m["type"] == "Text"] == ["Hi"]
        await server.post(
            f"/api/v2/me/smssessions/{sid}", {"operationName": "SendMessage", "text": "Hello"}, "agent1"
        )
        said = await until(sup, lambda d: d.get("messageType") == "MessageLogUpdated", sup_seen)
        assert said["data"]["messages"][0]["text"] == "Hello"

        assert (await server.post(f"/api/v2/me/smssessions/{sid}", end, "agent1"))["statusCode"] == 0
        revoked = await until(sup, state_is("Revoked"), sup_seen)
        assert revoked["data"]["smssession"]["id"] == sid
        await until(agent, state_is("Completed"), agent_seen)

    kinds = [
        (m["data"]["notificationType"], m["data"].get("smssession", {}).get("state"))
        for m in sup_seen
        if m.get("channel") == TOPIC
    ]
    assert kinds[:3] == [
        ("StatusChange", "Chatting"),
        ("ParticipantsUpdated", "Chatting"),
        ("NewMessages", None),
    ]
    assert kinds[-1] == ("StatusChange", "Revoked")
    sup_user = await server.user_id("supervisor1")
    assert "Silent Sam" not in json.dumps(agent_seen) and sup_user not in json.dumps(agent_seen)
    assert any(m.get("channel") == TOPIC for m in agent_seen)

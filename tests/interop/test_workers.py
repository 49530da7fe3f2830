"""``smsdesk serve --workers 2`` (docs/deployment.md): two worker processes on one port and one SQLite file.

Clients here open a new connection for every request, so the kernel spreads them over both workers: a
long-polling client's batches reach the worker that does not hold it (and must be relayed), SMS arrive at the
worker that does not route (and must wake the router through the bus), and the simulated handset is read from
either worker (which must have heard what the other sent).
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.interop.harness import require_node
from tests.interop.test_full_server import PASSWORD, database, listen_then_ready, serve

__all__ = ["database"]  # the fixture, shared with test_full_server.py

pytestmark = [pytest.mark.interop, pytest.mark.timeout(600)]  # startup may take minutes (tests/serving.py)
NOTIFY = "/api/v2/notifications"
BUSINESS = "+15550000000"
ADMIN = ("admin", PASSWORD)  # the simulator is for admins in `smsdesk serve`


def fresh(base: str) -> httpx.AsyncClient:
    """A client that opens a new connection for every request."""
    return httpx.AsyncClient(
        base_url=base, auth=("agent1", PASSWORD), limits=httpx.Limits(max_keepalive_connections=0), timeout=40
    )


async def bayeux(http: httpx.AsyncClient, *messages: dict[str, Any]) -> list[dict[str, Any]]:
    r = await http.post(NOTIFY, json=list(messages))
    assert r.status_code == 200, r.text
    replies: list[dict[str, Any]] = r.json()
    return replies


async def connect(
    http: httpx.AsyncClient, client_id: str, hold_ms: int | None = None
) -> list[dict[str, Any]]:
    message: dict[str, Any] = {
        "channel": "/meta/connect",
        "clientId": client_id,
        "connectionType": "long-polling",
    }
    if hold_ms is not None:
        message["advice"] = {"timeout": hold_ms}
    replies = await bayeux(http, message)
    [meta] = [m for m in replies if m["channel"] == "/meta/connect"]
    assert meta["successful"], replies  # a batch answered by the wrong worker would be 402::Unknown client
    return [m for m in replies if m["channel"] != "/meta/connect"]


async def both_workers_serving(http: httpx.AsyncClient) -> dict[int, str]:
    """Handshake until each of the two workers has answered one (they start one after the other, and until
    the second serves, every connection lands on the first); returns one live client id per worker pid."""
    clients: dict[int, str] = {}
    async with asyncio.timeout(60):
        while len(clients) < 2:
            [hello] = await bayeux(http, {"channel": "/meta/handshake", "version": "1.0"})
            assert hello["successful"], hello
            client_id = hello["clientId"]
            owner = int(client_id.split(".")[0][1:])  # "w<pid>.<random>"
            if owner in clients:  # surplus: a user may hold only so many clients
                await bayeux(http, {"channel": "/meta/disconnect", "clientId": client_id})
                await asyncio.sleep(0.05)
            clients.setdefault(owner, client_id)
    return clients


@pytest.mark.parametrize("transport", ["long-polling", "websocket"])
async def test_the_cometd_js_client_on_two_workers(database: str, tmp_path: Path, transport: str) -> None:
    require_node()
    async with serve(database, tmp_path / "node.log", workers=2) as base:
        await listen_then_ready(base, base, transport)


async def test_sms_to_offer_to_reply_with_every_request_on_a_new_connection(
    database: str, tmp_path: Path
) -> None:
    async with serve(database, tmp_path / "node.log", workers=2) as base, fresh(base) as http:
        # A worker shows the simulated SMS sent after it started: wait until both serve (docs/deployment.md).
        for spare in (await both_workers_serving(http)).values():
            await bayeux(http, {"channel": "/meta/disconnect", "clientId": spare})
        [hello] = await bayeux(http, {"channel": "/meta/handshake", "version": "1.0"})
        assert hello["successful"], hello
        client_id = hello["clientId"]
        assert client_id.split(".")[0].startswith("w")
        [sub] = await bayeux(
            http, {"channel": "/meta/subscribe", "clientId": client_id, "subscription": "/v2/me/smssessions"}
        )
        assert sub["successful"], sub
        for _ in range(10):  # ten batches on ten connections: all reach the worker holding the client
            await connect(http, client_id, hold_ms=0)
        r = await http.post("/api/v2/me/channels/sms", json={"operationName": "Ready"})
        assert r.status_code == 200, r.text

        customers = [f"+1555010{i:04d}" for i in range(3)]  # the agent's capacity
        for customer in customers:  # on new connections: some reach the worker that does not route
            r = await http.post(
                "/sms/simulator/inbound", json={"from": customer, "to": BUSINESS, "text": "hi"}, auth=ADMIN
            )
            assert r.status_code == 200, r.text
        invited: dict[str, str] = {}
        async with asyncio.timeout(30):
            while len(invited) < len(customers):
                for m in await connect(http, client_id):
                    session = m["data"].get("smssession") or {}
                    if (
                        m["data"].get("notificationType") == "StatusChange"
                        and session.get("state") == "Invited"
                    ):
                        invited[session["userData"]["CustomerNumber"]] = session["id"]
        assert sorted(invited) == customers

        for customer, session_id in invited.items():
            path = f"/api/v2/me/smssessions/{session_id}"
            for op in (
                {"operationName": "Accept"},
                {"operationName": "SendMessage", "text": f"re {customer}"},
            ):
                r = await http.post(path, json=op)
                assert r.status_code == 200, r.text
        async with asyncio.timeout(30):
            # Each handset, asked on new connections, shows the reply on several reads in a row: every worker
            # has it, not only the one that sent it (the others hear it over the bus, a moment later).
            for customer in customers:
                in_a_row = 0
                while in_a_row < 6:
                    r = await http.get("/sms/simulator/outbound", params={"to": customer}, auth=ADMIN)
                    assert r.status_code == 200, r.text
                    shown = [m["text"] for m in r.json()["messages"]]
                    assert shown in ([], [f"re {customer}"]), shown
                    in_a_row = in_a_row + 1 if shown else 0
                    if not shown:
                        await asyncio.sleep(0.05)
        await bayeux(http, {"channel": "/meta/disconnect", "clientId": client_id})


def _serve_children(port: int) -> list[int]:
    """The worker processes of the ``smsdesk serve --port port`` running here (its children but the
    multiprocessing resource tracker)."""
    procs: dict[int, tuple[int, bytes]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        procs[int(entry.name)] = (ppid, cmdline)
    needle = f"--port\0{port}\0".encode()
    [serve] = [pid for pid, (_, cmd) in procs.items() if needle in cmd and b"serve" in cmd]
    return [pid for pid, (ppid, cmd) in procs.items() if ppid == serve and b"resource_tracker" not in cmd]


async def test_a_worker_that_dies_is_replaced_and_its_clients_handshake_again(
    database: str, tmp_path: Path
) -> None:
    async with serve(database, tmp_path / "node.log", workers=2) as base, fresh(base) as http:
        port = int(base.rsplit(":", 1)[1])
        workers = _serve_children(port)
        assert len(workers) == 2, workers
        clients = await both_workers_serving(http)
        assert set(clients) == set(workers)
        victim, survivor = workers
        os.kill(victim, signal.SIGKILL)
        async with asyncio.timeout(60):  # the supervisor starts another worker
            while True:
                now = _serve_children(port)
                if len(now) == 2 and victim not in now:
                    break
                await asyncio.sleep(0.2)
        for _ in range(6):  # the survivor's client is still served, wherever its batches land
            await connect(http, clients[survivor], hold_ms=0)
        r = await http.post(
            NOTIFY,
            json=[
                {"channel": "/meta/connect", "clientId": clients[victim], "connectionType": "long-polling"}
            ],
        )
        [reply] = r.json()
        assert reply["successful"] is False and reply["error"].startswith("402::"), reply
        assert reply["advice"]["reconnect"] == "handshake"
        [hello] = await bayeux(http, {"channel": "/meta/handshake", "version": "1.0"})
        assert hello["successful"], hello
        await connect(http, hello["clientId"], hold_ms=0)

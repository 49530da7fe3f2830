"""Issue 23, trap A: the delivery-status ``MessageLogUpdated`` (``notificationType: "MessagesUpdated"``, which
repeats a message index) reaches only the CometD clients that asked for it in their handshake ``ext``
(``{"messagesUpdated": true}``, docs/notifications.md). An unmodified GWS desktop never sees it.

The whole server as deployed: ``smsdesk serve --workers 2`` on one SQLite file, two official CometD JS clients
of one agent (one asking, one not), the agent's REST calls and the SMS simulator, whose sends are delivered at
once. The flag lives with the client's session in the worker that holds it; the other worker relays.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.interop.harness import NodeProcess, node_process, require_node
from tests.interop.test_full_server import PASSWORD, database, serve

__all__ = ["database"]  # the fixture, shared with test_full_server.py

pytestmark = [pytest.mark.interop, pytest.mark.timeout(120)]
TOPIC = "/v2/me/smssessions"


async def _until(client: NodeProcess, want: Any, seconds: float = 30) -> dict[str, Any]:
    async with asyncio.timeout(seconds):
        while True:
            item = await client.expect("message", seconds)
            if want(item["data"]):
                return item["data"]


def _kind(data: dict[str, Any]) -> str:
    return str(data.get("notificationType"))


@pytest.mark.parametrize("transport", ["long-polling", "websocket"])
async def test_only_the_client_that_asked_gets_delivery_status(
    database: str, tmp_path: Path, transport: str
) -> None:
    require_node()
    async with serve(database, tmp_path / "node.log", workers=2) as base:
        url = base + "/api/v2/notifications"
        async with (
            node_process("client.mjs", url, transport, "agent1", PASSWORD, TOPIC, "messagesUpdated") as ours,
            node_process("client.mjs", url, transport, "agent1", PASSWORD, TOPIC, "ack") as theirs,
        ):
            hello = await ours.expect("handshake", 20)
            assert hello["successful"] and hello["ext"] == {"messagesUpdated": True}, hello
            hello = await theirs.expect("handshake", 20)
            assert hello["successful"] and "messagesUpdated" not in (hello["ext"] or {}), hello
            for client in (ours, theirs):
                assert (await client.expect("subscribed", 20))["successful"]

            async with httpx.AsyncClient(base_url=base, auth=("agent1", PASSWORD), timeout=30) as http:
                r = await http.post("/api/v2/me/channels/sms", json={"operationName": "Ready"})
                assert r.status_code == 200, r.text
                r = await http.post(
                    "/sms/simulator/inbound",
                    json={"from": "+15551230077", "to": "+15550000000", "text": "hi"},
                    auth=("admin", PASSWORD),  # the simulator of `serve` is for admins (docs/security.md)
                )
                assert r.status_code == 200, r.text
                offer = await _until(ours, lambda d: d.get("smssession", {}).get("state") == "Invited")
                sid = offer["smssession"]["id"]
                path = f"/api/v2/me/smssessions/{sid}"
                for op in ({"operationName": "Accept"}, {"operationName": "SendMessage", "text": "Hello!"}):
                    r = await http.post(path, json=op)
                    assert r.json()["statusCode"] == 0, r.text

            # ours: the text, then its delivery status on the same index
            sent = await _until(ours, lambda d: _kind(d) == "NewMessages" and d["messages"][-1]["type"] == "Text"
                                and d["messages"][-1].get("text") == "Hello!")  # fmt: skip
            index = sent["messages"][-1]["index"]
            update = await _until(ours, lambda d: _kind(d) == "MessagesUpdated")
            assert update["messageType"] == "MessageLogUpdated"
            assert [(m["index"], m["status"]) for m in update["messages"]] == [(index, "delivered")]

            # theirs: the same text once, and never a MessagesUpdated (it would show the message twice)
            await _until(
                theirs, lambda d: _kind(d) == "NewMessages" and d["messages"][-1].get("text") == "Hello!"
            )
            later = [m for m in await theirs.quiet(3.0) if m["event"] == "message"]
            assert [_kind(m["data"]) for m in later if _kind(m["data"]) == "MessagesUpdated"] == []
            seen = [m["data"] for m in theirs.seen if m.get("event") == "message"]
            assert all(_kind(d) != "MessagesUpdated" for d in seen)
            for client in (ours, theirs):
                await client.send("disconnect")
                assert (await client.expect("disconnected"))["successful"]

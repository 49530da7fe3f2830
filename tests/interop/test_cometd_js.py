"""The official CometD JavaScript client (``cometd`` 9 + ``cometd-nodejs-client`` 2, under Node) against
smsdesk over long-polling and websocket, and against the CometD project's reference server
(``cometd-nodejs-server``, long-polling only) to prove the harness itself.

Scenario: handshake, subscribe, receive an event, be expired by the server while the client is frozen
(SIGSTOP for longer than maxInterval), re-handshake and re-subscribe by itself, receive again,
unsubscribe (and receive nothing more), disconnect.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import pytest

from tests.interop.conftest import SmsdeskServer
from tests.interop.harness import NodeProcess, node_process
from tests.notify.helpers import AGENT, PASSWORD

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]

CHANNEL = "/v2/me/channels"
Publish = Callable[[dict[str, object]], Awaitable[None]]


async def scenario(
    client: NodeProcess,
    publish: Publish,
    *,
    transport: str,
    freeze: float,
    check: Callable[[str], None] | None = None,
) -> None:
    hello = await client.expect("handshake")
    assert hello["successful"], hello
    assert hello["transport"] == transport
    if check is not None:
        check(hello["clientId"])
    assert (await client.expect("subscribed"))["successful"]

    await publish({"messageType": "ChannelStateChangeMessageV2", "n": 1})
    message = await client.expect("message")
    assert message["channel"] == CHANNEL and message["data"]["n"] == 1

    client.pause()  # frozen past maxInterval: the server expires the session
    await asyncio.sleep(freeze)
    client.resume()
    again = await client.expect("handshake", 20)
    assert again["successful"], again
    assert (await client.expect("subscribed"))["successful"]
    await publish({"n": 2})
    assert (await client.expect("message"))["data"]["n"] == 2

    await client.send("unsubscribe")
    assert (await client.expect("unsubscribed"))["successful"]
    await publish({"n": 3})
    assert [m for m in await client.quiet(1.0) if m["event"] == "message"] == []

    await client.send("disconnect")
    assert (await client.expect("disconnected"))["successful"]


@pytest.mark.parametrize("transport", ["long-polling", "websocket"])
@pytest.mark.parametrize("ack", ["", "ack"])
async def test_cometd_js_against_smsdesk(smsdesk_server: SmsdeskServer, transport: str, ack: str) -> None:
    async def publish(data: dict[str, object]) -> None:
        await smsdesk_server.commit(AGENT.user_id, CHANNEL, data)

    def check(client_id: str) -> None:
        session = smsdesk_server.hub.bayeux.session(client_id)
        assert session is not None and session.ack is bool(ack)

    async with node_process(
        "client.mjs", smsdesk_server.url, transport, AGENT.user_name, PASSWORD, CHANNEL, ack
    ) as client:
        await scenario(client, publish, transport=transport, freeze=3.5, check=check)


async def test_cometd_js_is_denied_with_a_wrong_password(smsdesk_server: SmsdeskServer) -> None:
    async with node_process(
        "client.mjs", smsdesk_server.url, "long-polling", "agent1", "wrong", CHANNEL
    ) as client:
        hello = await client.expect("handshake")
        assert hello["successful"] is False and hello["error"] == "403::Handshake denied"


@pytest.mark.parametrize("ack", ["", "ack"])
async def test_harness_against_the_reference_server(ack: str) -> None:
    async with node_process("reference_server.mjs", "1000", "1500") as server:
        port = (await server.next())["port"]

        async def publish(data: dict[str, object]) -> None:
            await server.send(json.dumps({"publish": CHANNEL, "data": data}))

        url = f"http://127.0.0.1:{port}/api/v2/notifications"
        async with node_process("client.mjs", url, "long-polling", "anyone", "x", CHANNEL, ack) as client:
            await scenario(client, publish, transport="long-polling", freeze=4.0)


@pytest.mark.parametrize("transport", ["long-polling", "websocket"])
@pytest.mark.parametrize("ack", ["", "ack"])
async def test_cometd_js_resumes_after_handshaking_again(
    smsdesk_server: SmsdeskServer, transport: str, ack: str
) -> None:
    """Events committed while the client was away (expired: it must handshake again) reach it once it is
    back, in order, and what it had received does not come again (docs/notifications.md, "Resuming")."""

    async def publish(n: int) -> None:
        await smsdesk_server.commit(AGENT.user_id, CHANNEL, {"n": n})

    async with node_process(
        "client.mjs", smsdesk_server.url, transport, AGENT.user_name, PASSWORD, CHANNEL, ack
    ) as client:
        assert (await client.expect("handshake"))["successful"]
        assert (await client.expect("subscribed"))["successful"]
        await publish(1)
        assert (await client.expect("message"))["data"]["n"] == 1
        await asyncio.sleep(0.5)  # its next connect (and acknowledgement) is out
        client.pause()  # away past maxInterval: expired by the server
        await asyncio.sleep(2.0)
        await publish(2)
        await publish(3)
        await asyncio.sleep(1.5)
        client.resume()

        def count(event: str) -> int:
            return sum(1 for line in client.seen if line["event"] == event and line.get("successful", True))

        # a websocket without the ack extension may have had 2 and 3 written to it before the server expired
        # it (they wait in the frozen client's socket): then they come before the new handshake, else after
        async with asyncio.timeout(20):
            while count("handshake") < 2 or count("subscribed") < 2 or count("message") < 3:
                await client.next(20)
        await publish(4)
        assert (await client.expect("message"))["data"]["n"] == 4
        await client.quiet(1.0)
        assert [line["data"]["n"] for line in client.seen if line["event"] == "message"] == [1, 2, 3, 4]

"""``aiocometd-ng`` (Python, aiohttp-based) against smsdesk over long-polling and websocket: handshake,
subscribe, receive, server-side expiry (402 + ``reconnect: handshake``) followed by the client's own
re-handshake, unsubscribe, disconnect."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiocometd_ng.client import Client
from aiocometd_ng.constants import ConnectionType

from tests.interop.conftest import SmsdeskServer
from tests.notify.helpers import AGENT, PASSWORD, BasicAuth

pytestmark = [
    pytest.mark.interop,
    pytest.mark.timeout(40),
    # aiocometd-ng 0.5.6 calls aiohttp's ws_connect with arguments aiohttp now deprecates
    # (float receive_timeout, ssl=None): their warnings are not ours.
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]
CHANNEL = "/v2/me/smssessions"


async def receive(client: Client) -> dict[str, Any]:
    message: dict[str, Any] = await asyncio.wait_for(client.receive(), 10)
    return message


@pytest.mark.parametrize("kind", [ConnectionType.LONG_POLLING, ConnectionType.WEBSOCKET])
async def test_aiocometd_ng(smsdesk_server: SmsdeskServer, kind: ConnectionType) -> None:
    hub = smsdesk_server.hub
    async with Client(smsdesk_server.url, kind, auth=BasicAuth(AGENT.user_name, PASSWORD)) as client:
        await client.subscribe(CHANNEL)
        await smsdesk_server.commit(AGENT.user_id, CHANNEL, {"messageType": "SMSsessionStateChangeMessage"})
        message = await receive(client)
        assert message == {
            "channel": CHANNEL,
            "data": {"messageType": "SMSsessionStateChangeMessage"},
            "id": "1",
        }

        [old] = [s.client_id for s in hub.bayeux.sessions()]
        hub.drop_user(AGENT.user_id)  # the server forgets the client, as at expiry

        async def rehandshaken() -> str:
            while True:
                sessions = hub.bayeux.sessions()
                if sessions and sessions[0].subscriptions:
                    return sessions[0].client_id
                await asyncio.sleep(0.05)

        new = await asyncio.wait_for(rehandshaken(), 15)
        assert new != old
        await smsdesk_server.commit(AGENT.user_id, CHANNEL, {"n": 2})
        assert (await receive(client))["data"] == {"n": 2}

        await client.unsubscribe(CHANNEL)
        assert not hub.bayeux.session(new).subscriptions  # type: ignore[union-attr]
    assert hub.bayeux.session(new) is None  # the context manager disconnected


async def test_aiocometd_ng_wrong_password_is_refused(smsdesk_server: SmsdeskServer) -> None:
    client = Client(smsdesk_server.url, ConnectionType.LONG_POLLING, auth=BasicAuth("agent1", "nope"))
    with pytest.raises(Exception, match=r"403::Handshake denied"):
        await client.open()
    await client.close()

"""Real CometD clients (``aiocometd-ng``) for the routing tests, placed on a chosen worker. Light on imports: a
client process of its own (``cometd_child``) starts from here."""

from __future__ import annotations

import asyncio

from aiocometd_ng.client import Client
from aiocometd_ng.constants import ConnectionType

from tests.notify.helpers import BasicAuth

__all__ = ["client_id", "open_client"]


def client_id(client: Client) -> str:
    """The clientId the server gave ``client``: ``w<pid>.…`` when a worker of ``serve --workers N`` holds it."""
    transport = client._transport  # aiocometd-ng does not expose it
    assert transport is not None and transport.client_id is not None
    return str(transport.client_id)


async def open_client(url: str, user: str, *, avoid: str | None = None, within_s: float = 90.0) -> Client:
    """A handshaken long-polling client of ``user``. ``avoid``: a clientId prefix (``w<pid>.``, a worker) the
    client must not live on: a client that lands there is disconnected and another one opened (each on a
    new connection, which the kernel hands to either worker), until one lands elsewhere."""
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        c = Client(url, connection_types=[ConnectionType.LONG_POLLING], auth=BasicAuth(user))
        try:
            await c.open()
        except BaseException:
            await c.close()
            raise
        if avoid is None or not client_id(c).startswith(avoid):
            return c
        await c.close()  # a /meta/disconnect: the worker forgets the client at once
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"every client of {user} landed on {avoid}")
        await asyncio.sleep(0.05)

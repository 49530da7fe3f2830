"""A CometD client in a process of its own, for tests that kill it without a disconnect (SIGKILL).

``python -m tests.routing.cometd_child URL USER TOPIC``: handshakes as USER (password ``password``), subscribes
to TOPIC, prints ``subscribed`` and then one line per message received, until killed."""

from __future__ import annotations

import asyncio
import json
import sys

from aiocometd_ng.client import Client
from aiocometd_ng.constants import ConnectionType

from tests.notify.helpers import BasicAuth


async def main(url: str, user: str, topic: str) -> None:
    async with Client(url, connection_types=[ConnectionType.LONG_POLLING], auth=BasicAuth(user)) as client:
        await client.subscribe(topic)
        print("subscribed", flush=True)
        async for message in client:
            print(json.dumps(message), flush=True)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))

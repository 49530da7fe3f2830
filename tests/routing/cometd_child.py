"""A CometD client in a process of its own, for tests that kill it without a disconnect (SIGKILL).

``python -m tests.routing.cometd_child URL USER TOPIC [AVOID]``: handshakes as USER (password ``password``)
(with AVOID, a clientId prefix such as ``w<pid>.``, again until the client lives on another worker),
subscribes to TOPIC, prints ``subscribed <clientId>`` and then one line per message received, until killed."""

from __future__ import annotations

import asyncio
import json
import sys

from tests.routing.clients import client_id, open_client


async def main(url: str, user: str, topic: str, avoid: str | None = None) -> None:
    client = await open_client(url, user, avoid=avoid)
    try:
        await client.subscribe(topic)
        print("subscribed", client_id(client), flush=True)
        async for message in client:
            print(json.dumps(message), flush=True)
    finally:
        await client.close()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))

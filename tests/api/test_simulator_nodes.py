"""The simulator's handsets are read from the store: every node shows what any node sent.

Two nodes on one database and no bus between them (each has its own in-process bus, so no hint ever crosses):
the agent's reply, sent by node A's outbox, shows on the handset read through node B. Before, the handsets
were each process's memory fed by hints, and a lost hint lost the message on the other processes' phones.
"""

from __future__ import annotations

from pathlib import Path

from smsdesk.clock import FakeClock
from tests.api.conftest import node
from tests.api.test_session_cache_nodes import session_id


async def test_a_reply_sent_by_one_node_shows_on_the_phone_read_through_another(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with node(tmp_path, clock) as a, node(tmp_path, clock) as b:
        await a.post("/api/v2/me/channels/sms", {"operationName": "Ready"})
        await b.text("Hello")
        assert await a.route() == 1
        sid = await session_id(a)
        r = await a.post(f"/api/v2/me/smssessions/{sid}", {"operationName": "Accept"})
        assert r.json()["statusCode"] == 0, r.text
        for text in ("one", "two"):
            r = await a.post(f"/api/v2/me/smssessions/{sid}", {"operationName": "SendMessage", "text": text})
            assert r.json()["statusCode"] == 0, r.text
        assert await b.phone() == []  # not sent yet: the outbox has not run
        await a.send_outbox()
        assert await b.phone() == ["one", "two"]
        assert await a.phone() == ["one", "two"]
        r = await b.client.get("/sms/simulator/outbound", params={"to": "+15551230001"})
        (first, second) = r.json()["messages"]
        assert first["from"] == "+15550000000" and first["to"] == "+15551230001"
        assert first["messageId"].startswith("SIMOUT-") and first["segments"] == 1
        assert first["timestampSeconds"] <= second["timestampSeconds"]
        assert await b.phone("+15551239999") == []

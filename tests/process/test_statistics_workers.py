"""``/v2/statistics`` over the wire from a real ``smsdesk demo --workers 2``: a supervisor's CometD client
(GET first, then the pushed changes) ends up with exactly what ``GET /api/v2/statistics`` answers once the
system is quiet, whichever worker process holds the client, the publisher's lease or the REST calls."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiocometd_ng.client import Client
from aiocometd_ng.constants import ConnectionType

from tests.notify.helpers import BasicAuth
from tests.process.harness import served
from tests.routing.live import eventually

pytestmark = [
    pytest.mark.timeout(600),  # startup may take minutes (tests/serving.py)
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),  # aiocometd-ng's aiohttp calls
]
SUP = ("supervisor1", "password")


@pytest.fixture
def base(tmp_path: Path) -> Iterator[str]:
    with served(tmp_path, "demo", args=["--workers", "2"]) as server:
        yield server.url


def figures(body: dict[str, Any]) -> dict[str, Any]:
    return {"queues": body["queues"], "agents": body["agents"]}


class View:
    """What a wallboard holds: a GET, then every message newer than it applied (entries replaced)."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.as_of = body["asOf"]
        self.queues = {q["name"]: q for q in body["queues"]}
        self.agents = {a["id"]: a for a in body["agents"]}
        self.messages = 0

    def apply(self, m: dict[str, Any]) -> None:
        self.messages += 1
        if m["asOf"] < self.as_of:
            return  # older than what we hold
        self.as_of = m["asOf"]
        if m["complete"]:
            self.queues, self.agents = {}, {}
        self.queues.update({q["name"]: q for q in m["queues"]})
        self.agents.update({a["id"]: a for a in m["agents"]})
        for name in m["removedQueues"]:
            self.queues.pop(name, None)
        for agent_id in m["removedAgents"]:
            self.agents.pop(agent_id, None)

    def figures(self) -> dict[str, Any]:
        return {
            "queues": [self.queues[k] for k in sorted(self.queues)],
            "agents": sorted(self.agents.values(), key=lambda a: a["userName"]),
        }


async def test_the_wallboard_equals_get_once_quiet_across_two_worker_processes(base: str) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:

        async def call(method: str, path: str, user: str, body: Any = None) -> dict[str, Any]:
            r = await http.request(method, path, json=body, auth=(user, "password"))
            assert r.status_code == 200, r.text
            out: dict[str, Any] = r.json()
            return out

        async with Client(
            base + "/api/v2/notifications",
            connection_types=[ConnectionType.LONG_POLLING],
            auth=BasicAuth("supervisor1"),
        ) as client:
            await client.subscribe("/v2/statistics")
            view = View(await call("GET", "/api/v2/statistics", "supervisor1"))

            async def listen() -> None:
                async for message in client:
                    if message.get("channel") == "/v2/statistics":
                        view.apply(message["data"])

            listener = asyncio.create_task(listen())
            try:
                for agent in ("agent1", "agent2"):
                    await call("POST", "/api/v2/me/channels/sms", agent, {"operationName": "Ready"})
                for i in range(4):
                    r = await http.post(
                        "/sms/simulator/inbound",
                        json={"from": f"+1555123000{i}", "to": "+15550000000", "text": f"hello {i}"},
                    )
                    assert r.status_code == 200
                accepted = 0
                deadline = time.monotonic() + 30
                while accepted < 4 and time.monotonic() < deadline:
                    for agent in ("agent1", "agent2"):
                        mine = await call("GET", "/api/v2/me/smssessions?fields=*", agent)
                        for s in mine["smssessions"]:
                            if s["state"] == "Invited":
                                body = {"operationName": "Accept"}
                                await call("POST", f"/api/v2/me/smssessions/{s['id']}", agent, body)
                                accepted += 1
                            elif s["state"] == "Chatting" and accepted % 2:
                                body = {"operationName": "Complete"}
                                await call("POST", f"/api/v2/me/smssessions/{s['id']}", agent, body)
                    await asyncio.sleep(0.2)
                assert accepted == 4
                # quiet now: the held view must reach GET's figures (one push a second at most)
                deadline = time.monotonic() + 30
                while True:
                    want = figures(await call("GET", "/api/v2/statistics", "supervisor1"))
                    if view.figures() == want or time.monotonic() > deadline:
                        break
                    await asyncio.sleep(0.5)
                assert view.figures() == want
                q = next(q for q in want["queues"] if q["name"] == "default")
                assert q["today"]["accepted"] == 4 and q["waiting"] == 0
                assert view.messages >= 1
            finally:
                listener.cancel()


def _sample(text: str, prefix: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix))


async def test_metrics_add_up_every_worker_process(base: str) -> None:
    """Under ``--workers 2`` the counters of both workers appear in one scrape, on whichever worker (within
    the second each takes to add its counts)."""
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        n = 12
        for i in range(n):
            r = await http.post(
                "/sms/simulator/inbound",
                json={"from": f"+155512340{i:02d}", "to": "+15550000000", "text": "hi"},
            )
            assert r.status_code == 200
        prefix = 'smsdesk_sms_inbound_total{provider="simulator",status="received"}'

        # each worker adds what it counted to the shared values every second (smsdesk/metrics.py)
        async def counted() -> bool:
            return _sample((await http.get("/metrics")).text, prefix) >= n

        await eventually(counted, 30, "both workers' counts in a scrape")
        for _ in range(4):  # the scrape lands on either worker: both answer for both
            text = (await http.get("/metrics")).text
            assert _sample(text, prefix) == n
            assert _sample(text, 'smsdesk_queue_waiting{queue="default"}') == n

"""Infrastructure faults with real processes (docs/deployment.md, "Infrastructure faults").

- PostgreSQL going away and coming back: a TCP proxy in front of the CI's PostgreSQL is cut (open connections
  reset, new ones refused, as a restart does) and restored. Requests in the outage get HTTP 503 + statusCode 4
  and a clear message, the process stays up, everything recovers by itself, no acknowledged SMS is lost.
- Redis restarting: a private ``redis-server`` is killed and started again under two nodes; they keep serving,
  reconnect by themselves, and the events whose hints were lost still reach the agent (from the store).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

import asyncpg  # type: ignore[import-untyped]
import httpx
import pytest

from smsdesk.bench.bayeux import CometdClient
from tests.process.faults import Node, PrivateRedis, TcpProxy, wait_for
from tests.services import POSTGRES_URL, require

pytestmark = pytest.mark.timeout(600)

TO = "+15550000000"


async def _pg(database: str, sql: str) -> list[Any]:
    u = urlparse(POSTGRES_URL)
    conn = await asyncpg.connect(
        host=u.hostname, port=u.port or 5432, user=u.username or "postgres", database=database
    )
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


@pytest.fixture
def pg_name() -> Iterator[str]:
    """A database of this test's own on the CI's PostgreSQL."""
    require("postgres", POSTGRES_URL, 5432)
    name = f"smsdesk_fault_{uuid.uuid4().hex[:10]}"
    admin = urlparse(POSTGRES_URL).path.lstrip("/") or "test"
    asyncio.run(_pg(admin, f'CREATE DATABASE "{name}"'))
    yield name
    asyncio.run(_pg(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _text(c: httpx.Client, i: int) -> tuple[str, httpx.Response]:
    message_id = f"fault-{i}"
    body = {"from": f"+1555200{i:04d}", "to": TO, "text": f"text {i}", "messageId": message_id}
    return message_id, c.post("/sms/simulator/inbound", json=body)


@pytest.mark.postgres
def test_postgres_outage_answers_503_and_recovers_without_losing_acknowledged_sms(
    pg_name: str, tmp_path: Path
) -> None:
    u = urlparse(POSTGRES_URL)
    proxy = TcpProxy(u.hostname or "127.0.0.1", u.port or 5432)
    url = urlunparse(
        u._replace(netloc=f"{u.username or 'postgres'}@127.0.0.1:{proxy.port}", path="/" + pg_name)
    )
    node = Node("demo", url, tmp_path / "node.log")
    acknowledged: list[str] = []
    refused: list[str] = []
    try:
        node.start()
        c = httpx.Client(base_url=node.url, timeout=30)
        r = c.post("/api/v2/me/channels/sms", json={"operationName": "Ready"}, auth=("agent1", "password"))
        assert r.json() == {"statusCode": 0}
        i = 0
        for _ in range(5):
            mid, r = _text(c, i := i + 1)
            assert r.status_code == 200, r.text
            acknowledged.append(mid)

        proxy.cut()
        outage: list[httpx.Response] = []
        while len(outage) < 5:
            mid, r = _text(c, i := i + 1)
            assert r.status_code in (200, 503), (r.status_code, r.text)
            (acknowledged if r.status_code == 200 else refused).append(mid)
            if r.status_code == 503:
                outage.append(r)
        for r in outage:
            assert r.json()["statusCode"] == 4
            assert "database is unavailable" in r.json()["statusMessage"]
            assert int(r.headers["Retry-After"]) >= 1
        # a REST request that needs the database is refused the same way
        r = c.get("/api/v2/me/smssessions", auth=("agent1", "password"))
        assert (r.status_code, r.json()["statusCode"]) == (503, 4), r.text
        assert node.alive(), node.log_tail()

        proxy.restore()

        def recovered() -> bool:
            nonlocal i
            mid, r = _text(c, i := i + 1)
            assert r.status_code in (200, 503), (r.status_code, r.text)
            (acknowledged if r.status_code == 200 else refused).append(mid)
            return r.status_code == 200

        wait_for("inbound SMS accepted again after the database came back", recovered, 90, 0.5)
        # the provider retries what was refused: accepted now, once
        for mid in refused:
            n = int(mid.split("-")[1])
            body = {"from": f"+1555200{n:04d}", "to": TO, "text": f"text {n}", "messageId": mid}
            r = c.post("/sms/simulator/inbound", json=body)
            assert r.status_code == 200, r.text
        r = c.get("/api/v2/me/smssessions", auth=("agent1", "password"))
        assert r.json()["statusCode"] == 0
        assert node.alive()
    finally:
        node.stop()
        proxy.close()
    stored = {r[0] for r in asyncio.run(_pg(pg_name, "SELECT provider_message_id FROM inbound"))}
    assert set(acknowledged) <= stored, sorted(set(acknowledged) - stored)
    assert set(refused) <= stored


@pytest.mark.redis
async def test_redis_restart_nodes_keep_serving_and_events_still_reach_the_agent(tmp_path: Path) -> None:
    redis = PrivateRedis(tmp_path)
    redis.start()
    db = f"sqlite:///{tmp_path / 'shared.db'}"
    a = Node("demo", db, tmp_path / "a.log", redis_url=redis.url)  # seeds the users
    b = Node("serve", db, tmp_path / "b.log", redis_url=redis.url)
    offers: list[str] = []

    def on_event(_data: dict[str, Any], channel: str, _t: float) -> None:
        offers.append(channel)

    agent: CometdClient | None = None
    try:
        await asyncio.to_thread(a.start)
        await asyncio.to_thread(b.start)
        auth = httpx.BasicAuth("agent1", "password")
        async with httpx.AsyncClient(timeout=30) as c:
            headers = {"Authorization": auth._auth_header}
            agent = CometdClient(
                "127.0.0.1", b.port, "/api/v2/notifications", headers=headers, on_event=on_event
            )
            await agent.start("/v2/me/smssessions")
            r = await c.post(
                f"{b.url}/api/v2/me/channels/sms",
                json={"operationName": "Ready"},
                auth=("agent1", "password"),
            )
            assert r.json() == {"statusCode": 0}

            async def offered_after_text(n: int) -> None:
                before = len(offers)
                body = {"from": f"+1555300{n:04d}", "to": TO, "text": f"t{n}", "messageId": f"redis-{n}"}
                r = await c.post(f"{a.url}/sms/simulator/inbound", json=body)  # node A takes it
                assert r.status_code == 200, r.text
                for _ in range(600):  # the agent, connected to node B, hears of it (60 s at most)
                    if len(offers) > before:
                        return
                    await asyncio.sleep(0.1)
                raise AssertionError(f"no event on node B for text {n}: {agent.errors if agent else ''}")

            await offered_after_text(1)
            redis.kill()
            await offered_after_text(2)  # hints lost: node B reads it from the store on its poll
            r = await c.get(f"{b.url}/api/v2/me/smssessions", auth=("agent1", "password"))
            assert r.json()["statusCode"] == 0  # both nodes keep serving
            await asyncio.to_thread(redis.start)
            # both nodes subscribe again by themselves
            await asyncio.to_thread(
                wait_for, "both nodes subscribed again", lambda: redis.subscribers() >= 2, 60
            )
            await offered_after_text(3)
            assert a.alive() and b.alive()
            assert agent.errors == []
    finally:
        if agent is not None:
            await agent.close()
        await asyncio.to_thread(a.stop)
        await asyncio.to_thread(b.stop)
        redis.kill()
    log = a.log_tail(100_000) + b.log_tail(100_000)
    assert "reconnecting" in log  # the bus noticed, and came back by itself

"""A cluster as operators run it, and a node killed under load (issue: any client on any node, nothing lost).

Three ``smsdesk serve`` processes on one PostgreSQL database (a throwaway one per test) and one Redis, behind a
round-robin balancer without affinity (``balancer.py``: every request to the next node). The official CometD
JavaScript client (``client.mjs``, with the ack extension) for the agent and two monitoring supervisors,
over long-polling in one run and websocket in the other; a customer texts every ~150 ms and the agent replies.
One node is killed with SIGKILL mid-conversation: in the long-polling run the holder of the router lease
(the first node started), in the websocket run another one. Then:

- every customer text reaches the agent and both supervisors exactly once (by transcript index);
- every agent reply reaches the phone exactly once (the simulator's handset, read from the store);
- no client ever has to handshake again (no ``402::Unknown client`` on another node);
- routing resumes: a second customer's session is offered to the agent within 6 s of the kill (the offer's
  commit time in the store, so the figure does not depend on how fast the test reads it).

The timings measured are printed (``-s``): they are the figures of docs/deployment.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

import httpx
import pytest

from tests.interop.balancer import Balancer
from tests.interop.harness import NodeProcess, node_process, require_node
from tests.interop.test_full_server import PASSWORD, ROOT, smsdesk, tail
from tests.services import POSTGRES_URL, REDIS_URL, require
from tests.serving import free_port, serving

pytestmark = [pytest.mark.interop, pytest.mark.postgres, pytest.mark.timeout(600)]

CUSTOMER, CUSTOMER2, BUSINESS = "+15551230001", "+15551230002", "+15550000000"
TOPIC = "/v2/me/smssessions"
WATCHERS = ("agent1", "supervisor1", "supervisor2")


async def _pg(dsn: str, sql: str, *args: Any) -> list[Any]:
    import asyncpg  # type: ignore[import-untyped]

    u = urlparse(dsn)
    conn = await asyncpg.connect(
        host=u.hostname, port=u.port or 5432, user=u.username or "postgres", database=u.path.lstrip("/")
    )
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


@pytest.fixture
async def database() -> AsyncIterator[str]:
    """A fresh PostgreSQL database for this test, with the users; dropped at the end."""
    require("postgres", POSTGRES_URL, 5432)
    require("redis", REDIS_URL, 6379)
    require_node()
    name = f"smsdesk_cluster_{uuid.uuid4().hex[:10]}"
    await _pg(POSTGRES_URL, f'CREATE DATABASE "{name}"')
    url = urlunparse(urlparse(POSTGRES_URL)._replace(path="/" + name))
    try:
        users = (
            ("agent1", "agent"),
            ("supervisor1", "supervisor"),
            ("supervisor2", "supervisor"),
            ("admin", "admin"),
        )
        for user, role in users:
            done = await asyncio.create_subprocess_exec(
                *smsdesk("users", "add", user, "--password", PASSWORD, "--role", role, "--database", url),
                cwd=ROOT,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            out, _ = await done.communicate()
            assert done.returncode == 0, out.decode()
        yield url
    finally:
        await _pg(POSTGRES_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Node:
    proc: asyncio.subprocess.Process
    port: int
    log: Path


async def start_node(database: str, log: Path) -> Node:
    port = free_port()
    args = ["serve", "--database", database, "--redis", REDIS_URL, "--port", str(port)]
    env = {**os.environ, "SMSDESK_SIMULATOR_ENABLED": "1"}  # off in serve unless switched on, for admins
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            *smsdesk(*args), cwd=ROOT, stdout=out, stderr=out, env=env
        )
    await serving(f"http://127.0.0.1:{port}", proc, log)
    return Node(proc, port, log)


async def stop(node: Node) -> None:
    if node.proc.returncode is None:
        node.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(node.proc.wait(), 20)
        except TimeoutError:
            node.proc.kill()
            await node.proc.wait()


@dataclass
class Watcher:
    """A CometD client's lines, read as they come."""

    name: str
    client: NodeProcess
    lines: list[dict[str, Any]] = field(default_factory=list)
    task: asyncio.Task[None] | None = None

    async def read(self) -> None:
        with contextlib.suppress(Exception):
            while True:
                self.lines.append(await self.client.next(3600))

    def indexes(self, session_id: str) -> Counter[int]:
        """How many times each transcript index of ``session_id`` reached this client."""
        seen: Counter[int] = Counter()
        for line in self.lines:
            data = line.get("data") if line.get("event") == "message" else None
            if not isinstance(data, dict) or data.get("messageType") != "MessageLogUpdated":
                continue
            if not str(data.get("smssessionUri", "")).endswith(session_id):
                continue
            seen.update(m["index"] for m in data.get("messages", []))
        return seen

    def count(self, event: str) -> int:
        return sum(1 for line in self.lines if line.get("event") == event)


class Desk:
    """REST and the simulator through the balancer, retried where a request may meet the killed node."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = httpx.AsyncClient(base_url=base, timeout=30)

    async def call(self, method: str, path: str, user: str | None = None, **kw: Any) -> httpx.Response:
        auth = (user, PASSWORD) if user else None
        for _ in range(100):
            try:
                r = await self.http.request(method, path, auth=auth, **kw)
            except httpx.TransportError:
                await asyncio.sleep(0.1)
                continue
            if r.status_code != 503:
                return r
            await asyncio.sleep(0.1)
        raise AssertionError(f"{method} {path}: no answer through the balancer")

    async def text(self, customer: str, text: str) -> None:
        """A customer's text; retried with the same message id (idempotent) until acknowledged."""
        body = {"from": customer, "to": BUSINESS, "text": text, "messageId": f"cluster-{customer}-{text}"}
        r = await self.call("POST", "/sms/simulator/inbound", json=body, user="admin")
        assert r.status_code == 200 and r.json()["statusCode"] == 0, r.text

    async def operation(self, session_id: str, body: dict[str, Any]) -> bool | None:
        """``True`` when acknowledged; ``None`` when its answer was lost (it may or may not have happened:
        not retried, so that an agent's reply is never sent twice by the test itself)."""
        try:
            r = await self.http.post(
                f"/api/v2/me/smssessions/{session_id}", json=body, auth=("agent1", PASSWORD)
            )
        except httpx.TransportError:
            return None
        if r.status_code != 200:
            return None
        assert r.json()["statusCode"] == 0, r.text
        return True

    async def session_of(self, customer: str) -> str:
        async with asyncio.timeout(60):
            while True:
                r = await self.call("GET", "/api/v2/me/smssessions?fields=*", "agent1")
                for s in r.json().get("smssessions", []):
                    if customer in json.dumps(s):
                        return str(s["id"])
                await asyncio.sleep(0.2)


async def until(predicate: Any, seconds: float, what: str) -> None:
    """Poll ``predicate`` (another process's state: nothing to wait on here) for up to ``seconds``."""
    deadline = time.monotonic() + seconds
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.25)


@pytest.mark.parametrize(
    ("transport", "victim"), [("long-polling", "router holder"), ("websocket", "another node")]
)
async def test_a_node_killed_under_load_loses_nothing(
    database: str, tmp_path: Path, transport: str, victim: str
) -> None:
    nodes = [await start_node(database, tmp_path / "node0.log")]
    # the first node takes the router lease; the others start once it holds it
    await until(lambda: _lease_held(database), 60, "the router lease")
    nodes += [await start_node(database, tmp_path / f"node{i}.log") for i in (1, 2)]
    balancer = Balancer([("127.0.0.1", n.port) for n in nodes])
    await balancer.start()
    desk = Desk(f"http://127.0.0.1:{balancer.port}")
    watchers: list[Watcher] = []
    stack = contextlib.AsyncExitStack()
    try:
        agent_id = str((await _pg(database, "SELECT id FROM users WHERE user_name = 'agent1'"))[0][0])
        r = await desk.call("POST", "/api/v2/me/channels/sms", "agent1", json={"operationName": "Ready"})
        assert r.json() == {"statusCode": 0}, r.text
        for sup in ("supervisor1", "supervisor2"):
            body = {"operationName": "Monitor", "supervisorMonitoringMode": "AllChats"}
            r = await desk.call("POST", f"/api/v2/users/{agent_id}/channels/smssession", sup, json=body)
            assert r.json() == {"statusCode": 0}, r.text
        url = desk.base + "/api/v2/notifications"
        for name in WATCHERS:
            client = await stack.enter_async_context(
                node_process("client.mjs", url, transport, name, PASSWORD, TOPIC, "ack")
            )
            hello = await client.expect("handshake", 60)
            assert hello["successful"], hello
            subscribed = await client.expect("subscribed", 60)
            assert subscribed["successful"], subscribed
            watcher = Watcher(name, client)
            watcher.task = asyncio.create_task(watcher.read())
            watchers.append(watcher)

        await desk.text(CUSTOMER, "c-0")
        sid = await desk.session_of(CUSTOMER)
        assert await desk.operation(sid, {"operationName": "Accept"})
        texts: list[str] = []
        replies: dict[str, bool | None] = {}
        stop_at: list[float] = []

        async def customer() -> None:
            n = 1
            while not stop_at or time.monotonic() < stop_at[0]:
                await desk.text(CUSTOMER, f"c-{n}")
                texts.append(f"c-{n}")
                n += 1
                await asyncio.sleep(0.15)

        async def agent() -> None:
            n = 1
            while not stop_at or time.monotonic() < stop_at[0]:
                replies[f"a-{n}"] = await desk.operation(
                    sid, {"operationName": "SendMessage", "text": f"a-{n}"}
                )
                n += 1
                await asyncio.sleep(0.5)

        talk = [asyncio.create_task(customer()), asyncio.create_task(agent())]
        await asyncio.sleep(3)
        if victim == "router holder":
            victim_node = nodes[0]
        else:  # the other node that serves the most websockets (long-polling: any, all serve requests)
            victim_node = max(nodes[1:], key=lambda n: balancer.websockets[nodes.index(n)])
        websockets = balancer.websockets[nodes.index(victim_node)]
        killed_ms = int(time.time() * 1000)
        victim_node.proc.send_signal(signal.SIGKILL)
        await victim_node.proc.wait()
        await desk.text(CUSTOMER2, "hello after the kill")
        stop_at.append(time.monotonic() + 6)
        await asyncio.gather(*talk)
        sid2 = await desk.session_of(CUSTOMER2)
        offered_ms = await _offered_ms(database, agent_id, sid2, killed_ms)

        # every text committed before the end reaches every watcher, once
        r = await desk.call("GET", f"/api/v2/me/smssessions/{sid}/messages", "agent1")
        transcript = r.json()["messages"]
        customer_texts = {
            m["text"]: m["index"] for m in transcript if str(m.get("text", "")).startswith("c-")
        }
        assert sorted(customer_texts) == sorted(["c-0", *texts])  # each once in the transcript too
        wanted = set(customer_texts.values())

        async def all_arrived() -> bool:
            return all(wanted <= set(w.indexes(sid)) for w in watchers)

        await until(all_arrived, 90, "every customer text at every watcher")
        for w in watchers:
            seen = w.indexes(sid)
            # (an agent's own message comes again when its delivery state changes: only the customer's count)
            twice = {i: n for i, n in seen.items() if n > 1 and i in wanted}
            assert not twice, f"{w.name} received customer texts more than once (index: times): {twice}"
            others = [line for line in w.lines if line.get("event") != "message"]
            assert w.count("handshake") == 0, f"{w.name} had to handshake again: {others[:20]}"

        sure = {t for t, ok in replies.items() if ok}
        unsure = {t for t, ok in replies.items() if ok is None}

        async def phone() -> Counter[str]:
            r = await desk.call("GET", "/sms/simulator/outbound", "admin", params={"to": CUSTOMER})
            return Counter(m["text"] for m in r.json()["messages"])

        async def replies_shown() -> bool:
            return sure <= set(await phone())

        await until(replies_shown, 90, "every agent reply on the phone")
        shown = await phone()
        assert all(shown[t] == 1 for t in sure), shown
        assert all(shown[t] <= 1 for t in unsure), shown

        print(
            f"\ncluster [{transport}, killed {victim}]: {len(texts) + 1} customer texts, {len(sure)} replies"
            f" (+{len(unsure)} unanswered), routing resumed {offered_ms - killed_ms} ms after the kill,"
            f" requests per node {balancer.requests}, websockets on the killed node {websockets}"
        )
        assert offered_ms - killed_ms <= 6_000, f"routing resumed {offered_ms - killed_ms} ms after the kill"
    finally:
        for w in watchers:
            if w.task is not None:
                w.task.cancel()
        await stack.aclose()
        await desk.http.aclose()
        await balancer.close()
        for node in nodes:
            await stop(node)
        if os.environ.get("SMSDESK_TEST_KEEP_LOGS"):
            for node in nodes:
                print(tail(node.log))


async def _lease_held(database: str) -> bool:
    rows = await _pg(database, "SELECT until_ms FROM leases WHERE name = 'router'")
    return bool(rows) and int(rows[0][0]) > time.time() * 1000


async def _offered_ms(database: str, agent_id: str, session_id: str, after_ms: int) -> int:
    """When the offer of ``session_id`` to the agent was committed (its first event for the agent)."""
    sql = "SELECT created_ms FROM events WHERE user_id = $1 AND data::text LIKE $2 ORDER BY id LIMIT 1"
    async with asyncio.timeout(60):
        while True:
            rows = await _pg(database, sql, agent_id, f"%{session_id}%")
            if rows:
                return max(int(rows[0][0]), after_ms)
            await asyncio.sleep(0.2)

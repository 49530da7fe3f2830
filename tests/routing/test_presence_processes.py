"""Presence across real server processes (docs/routing.md): two ``smsdesk demo`` nodes on one database; the
router runs on node A, agent1's CometD client lives on node B. Node A sees the client through the store's
presence rows and keeps agent1 Ready, while agent2 (REST only) is set NotReady; then node B is killed
(``kill -9``: no disconnect, no last write) and node A sets agent1 NotReady once the grace has run."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from tests.routing.live import auth, eventually, listener
from tests.serving import free_port, serving

pytestmark = [
    pytest.mark.timeout(600),  # two nodes, each may take minutes to start (tests/serving.py)
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    # aiocometd-ng closing a client whose server was killed leaves one of its own coroutines unawaited
    pytest.mark.filterwarnings("ignore:coroutine 'TransportBase.wait_for_state' was never awaited"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

GRACE = "3"


@asynccontextmanager
async def node(db: Path) -> AsyncIterator[tuple[str, asyncio.subprocess.Process]]:
    port = free_port()
    env = {**os.environ, "SMSDESK_LOG_LEVEL": "warning", "SMSDESK_PRESENCE_GRACE_S": GRACE}
    log = db.with_name(f"node-{port}.log")
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "smsdesk", "demo", "--port", str(port), "--database", f"sqlite:///{db}"),
            env=env,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        await serving(url, proc, log)
        yield url, proc
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(proc.wait(), 20)
            except TimeoutError:
                proc.kill()
                await proc.wait()


def lease_holder(db: Path) -> str | None:
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT holder FROM leases WHERE name = 'router'").fetchone()
    return None if row is None else str(row[0])


async def state(http: httpx.AsyncClient, user: str) -> tuple[str, str | None]:
    body = (await http.get("/api/v2/me/channels", headers=auth(user))).json()
    us = body["channels"][0]["userState"]
    return us["state"], us.get("reason")


async def test_the_router_sees_a_client_on_another_process_and_loses_it_with_its_node(tmp_path: Path) -> None:
    db = tmp_path / "two-nodes.db"
    async with node(db) as (url_a, _a):
        await eventually(lambda: lease_holder(db), 30, "node A to hold the router lease")
        holder = lease_holder(db)
        async with node(db) as (url_b, proc_b), httpx.AsyncClient(base_url=url_a) as http_a:
            async with listener(url_b + "/api/v2/notifications", "agent1", "/v2/me/smssessions"):
                for user in ("agent1", "agent2"):
                    r = await http_a.post(
                        "/api/v2/me/channels/sms", json={"operationName": "Ready"}, headers=auth(user)
                    )
                    assert r.json() == {"statusCode": 0}
                await eventually(
                    _is(http_a, "agent2", ("NotReady", "No Client Connected")), 30, "agent2 absent"
                )
                await asyncio.sleep(4 * int(GRACE))  # well past the grace: the client on node B counts
                assert await state(http_a, "agent1") == ("Ready", None)
                assert lease_holder(db) == holder  # the router stayed on node A all along
                proc_b.kill()  # node B dies with the client: no disconnect, no more presence rows
                await proc_b.wait()
            await eventually(
                _is(http_a, "agent1", ("NotReady", "No Client Connected")),
                60,
                "agent1 absent after node B died",
            )


def _is(
    http: httpx.AsyncClient, user: str, expected: tuple[str, str | None]
) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return await state(http, user) == expected

    return check

"""Presence and RONA across the workers of one node (docs/routing.md, docs/deployment.md): ``smsdesk demo
--workers 2``, the router in one worker (the holder of the ``router`` lease, ``w<pid>.<token>``), the agent's
CometD client in the other (its clientId ``w<pid>.…`` names the worker that holds it), REST on new
connections that either worker answers.

- Presence: agent1's client (a process of its own) is killed without a ``/meta/disconnect``; once its worker
  has dropped it and ``presence_grace_s`` has run, the router's worker sets agent1 NotReady "No Client
  Connected", the supervisors see it, and agent1's offer goes to agent2.
- RONA: agent1 lets an offer lapse; the router's worker sets agent1 NotReady "Not Responding", agent1's client
  sees the offer revoked and the NotReady, and the session goes to agent2.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from smsdesk.domain.routing import ABSENT_REASON, NOT_RESPONDING_REASON
from tests.process.harness import Served, served
from tests.routing.clients import client_id
from tests.routing.live import BIZ, CUST, Listener, auth, eventually, listener, team_states

pytestmark = [
    pytest.mark.timeout(600),  # the server may take minutes to start on a loaded machine (tests/serving.py)
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:coroutine 'TransportBase.wait_for_state' was never awaited"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

ROOT = Path(__file__).resolve().parents[2]
SESSIONS = "/v2/me/smssessions"
CHANNELS = "/v2/me/channels"
GRACE_S = 3
OFFER_S = 5  # long enough for agent2 to accept its offer on a busy machine
WAIT_S = 120.0  # a killed client is dropped after the CometD maxInterval, then the grace: ~25 s when idle


@contextmanager
def two_workers(tmp_path: Path, **settings: str) -> Iterator[tuple[Served, Path]]:
    env = {f"SMSDESK_{name.upper()}": value for name, value in settings.items()}
    with served(tmp_path, "demo", args=["--workers", "2"], env=env) as server:
        yield server, tmp_path / "demo.db"


def _one(db: Path, sql: str, *args: str) -> Any:
    with sqlite3.connect(db, timeout=30) as conn:
        row = conn.execute(sql, args).fetchone()
    return None if row is None else row[0]


def router_worker(db: Path) -> str | None:
    """``w<pid>.``: the worker holding the router lease."""
    holder = _one(db, "SELECT holder FROM leases WHERE name = 'router'")
    return None if holder is None else str(holder).split(".")[0] + "."


def presence_workers(db: Path, user: str) -> set[str]:
    """The workers (``w<pid>.``) that wrote presence rows for ``user``."""
    with sqlite3.connect(db, timeout=30) as conn:
        rows = conn.execute(
            "SELECT p.node_id FROM presence p JOIN users u ON u.id = p.user_id WHERE u.user_name = ?", (user,)
        ).fetchall()
    return {str(node).split(".")[0] + "." for (node,) in rows}


@asynccontextmanager
async def rest(server: Served) -> AsyncIterator[httpx.AsyncClient]:
    """A new connection for every request: the kernel hands them to either worker."""
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=30) as http:
        yield http


async def ready(http: httpx.AsyncClient, user: str) -> None:
    r = await http.post("/api/v2/me/channels/sms", json={"operationName": "Ready"}, headers=auth(user))
    assert r.json() == {"statusCode": 0}, r.text


async def state(http: httpx.AsyncClient, user: str) -> tuple[str, str | None]:
    body = (await http.get("/api/v2/me/channels", headers=auth(user))).json()
    us = body["channels"][0]["userState"]
    return us["state"], us.get("reason")


async def sessions(http: httpx.AsyncClient, user: str) -> list[str]:
    body = (await http.get("/api/v2/me/smssessions", headers=auth(user))).json()
    return [u.rsplit("/", 1)[1] for u in body.get("uris", [])]


async def text(http: httpx.AsyncClient) -> None:
    r = await http.post("/sms/simulator/inbound", json={"from": CUST, "to": BIZ, "text": "Hello"})
    assert r.json()["statusCode"] == 0, r.text


def offers(messages: list[dict[str, Any]], sid: str) -> list[str]:
    """The states of session ``sid`` in ``/v2/me/smssessions`` messages, in order."""
    out = []
    for m in messages:
        session = (m.get("data") or {}).get("smssession") or {}
        if m.get("channel") == SESSIONS and session.get("id") == sid:
            out.append(session["state"])
    return out


def wire(lst: Listener) -> list[dict[str, Any]]:
    return [{"channel": c, "data": d} for c, d in lst.messages]


async def routed_to(http: httpx.AsyncClient, user: str) -> str:
    (sid,) = await eventually(lambda: sessions(http, user), WAIT_S, f"the session offered to {user}")
    return str(sid)


class Child:
    """agent1's CometD client in a process of its own (``tests.routing.cometd_child``), on another worker than
    ``avoid``; ``messages`` collects what it prints."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.messages: list[dict[str, Any]] = []
        self.client_id = ""
        self._reader: asyncio.Task[None] | None = None

    async def subscribed(self) -> str:
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), WAIT_S)
        assert line.split()[:1] == [b"subscribed"], line
        self.client_id = line.split()[1].decode()
        self._reader = asyncio.create_task(self._read())
        return self.client_id

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        async for line in self.proc.stdout:
            self.messages.append(json.loads(line))

    async def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)  # no /meta/disconnect, no last request
            await asyncio.wait_for(self.proc.wait(), 30)
        if self._reader is not None:
            await asyncio.wait_for(self._reader, 30)


@asynccontextmanager
async def child_client(url: str, user: str, topic: str, avoid: str) -> AsyncIterator[Child]:
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "tests.routing.cometd_child", url, user, topic, avoid),
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    child = Child(proc)
    try:
        yield child
    finally:
        await child.kill()


async def test_a_client_killed_on_one_worker_sets_its_agent_absent_on_the_routing_worker(
    tmp_path: Path,
) -> None:
    with two_workers(tmp_path, presence_grace_s=str(GRACE_S), offer_timeout_s="3600") as (server, db):
        router = await eventually(lambda: router_worker(db), WAIT_S, "a worker to take the router lease")
        notify = server.url + "/api/v2/notifications"
        async with (
            rest(server) as http,
            child_client(notify, "agent1", SESSIONS, avoid=router) as agent1,
            listener(notify, "agent2", SESSIONS) as agent2,
            listener(notify, "supervisor1", "/v2/users") as sup,
        ):
            assert not (await agent1.subscribed()).startswith(router)
            await ready(http, "agent1")
            await text(http)
            sid = await routed_to(http, "agent1")
            await eventually(lambda: offers(agent1.messages, sid) == ["Invited"], WAIT_S, "agent1's offer")
            await ready(http, "agent2")
            # agent1's presence is written by the worker holding its client, and read by the router's
            # (a client that landed on the router's worker and left at once may have left a row there too)
            await eventually(
                lambda: agent1.client_id.split(".")[0] + "." in presence_workers(db, "agent1"),
                WAIT_S,
                "agent1's presence written by its client's worker",
            )
            await asyncio.sleep(3 * GRACE_S)  # well past the grace: the client on the other worker counts
            assert await state(http, "agent1") == ("Ready", None)
            assert await sessions(http, "agent1") == [sid]

            await agent1.kill()
            assert await eventually(
                lambda: _is(http, "agent1", ("NotReady", ABSENT_REASON)), WAIT_S, "agent1 absent"
            )
            await eventually(
                lambda: ("NotReady", ABSENT_REASON) in team_states(sup, "agent1"),
                WAIT_S,
                "the supervisors' team view",
            )
            assert await routed_to(http, "agent2") == sid  # the offer went on, not after offer_timeout_s
            await eventually(lambda: offers(wire(agent2), sid) == ["Invited"], WAIT_S, "agent2's offer")
            assert await sessions(http, "agent1") == []
            assert await state(http, "agent2") == ("Ready", None)
            assert router_worker(db) == router  # the router stayed on its worker all along


async def test_an_offer_lapsing_on_another_worker_than_the_router_is_rona(tmp_path: Path) -> None:
    with two_workers(tmp_path, presence_grace_s="0", offer_timeout_s=str(OFFER_S)) as (server, db):
        router = await eventually(lambda: router_worker(db), WAIT_S, "a worker to take the router lease")
        notify = server.url + "/api/v2/notifications"
        async with (
            rest(server) as http,
            listener(notify, "agent1", SESSIONS, CHANNELS, avoid=router) as agent1,
            listener(notify, "agent2", SESSIONS) as agent2,
            listener(notify, "supervisor1", "/v2/users") as sup,
        ):
            assert not client_id(agent1.client).startswith(router)
            await ready(http, "agent1")
            await text(http)
            sid = await routed_to(http, "agent1")
            await ready(http, "agent2")
            # the offer lapses unanswered: revoked, agent1 NotReady, agent2 offered
            assert await eventually(
                lambda: _is(http, "agent1", ("NotReady", NOT_RESPONDING_REASON)), WAIT_S, "agent1 RONA"
            )
            await eventually(
                lambda: offers(wire(agent1), sid) == ["Invited", "Revoked"], WAIT_S, "agent1's offer revoked"
            )
            await eventually(
                lambda: (
                    [d["channels"][0]["userState"].get("reason") for d in agent1.data(CHANNELS)][-1:]
                    == [NOT_RESPONDING_REASON]
                ),
                WAIT_S,
                "agent1's own channel state",
            )
            await eventually(
                lambda: ("NotReady", NOT_RESPONDING_REASON) in team_states(sup, "agent1"),
                WAIT_S,
                "the supervisors' team view",
            )
            assert await routed_to(http, "agent2") == sid
            await eventually(lambda: offers(wire(agent2), sid) == ["Invited"], WAIT_S, "agent2's offer")
            r = await http.post(
                f"/api/v2/me/smssessions/{sid}", json={"operationName": "Accept"}, headers=auth("agent2")
            )
            assert r.json()["statusCode"] == 0, r.text
            await eventually(
                lambda: offers(wire(agent2), sid)[:2] == ["Invited", "Chatting"], WAIT_S, "agent2 accepted"
            )
            assert await sessions(http, "agent1") == []
            assert await state(http, "agent2") == ("Ready", None)
            assert router_worker(db) == router  # the router stayed on its worker all along


async def _is(http: httpx.AsyncClient, user: str, expected: tuple[str, str | None]) -> bool:
    return await state(http, user) == expected

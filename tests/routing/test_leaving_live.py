"""Agents leaving with work, end to end (docs/routing.md): HTTP, the router, real CometD clients.

EndContactCenterSession sends the agent's pending offers to someone else at once; an agent absent past the
presence grace (or deleted) gives their chats back to the queue with the transcript intact, the monitoring
supervisor's client getting ``Revoked`` (the seed: "placed in a queue"); a NotReady agent who is there keeps
their chats."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from smsdesk.clock import FakeClock
from tests.routing.live import Listener, Live, eventually, listener, live, tick

pytestmark = [pytest.mark.timeout(120), pytest.mark.filterwarnings("ignore::DeprecationWarning")]

SESSIONS = "/v2/me/smssessions"
GRACE = 30.0


def states(lst: Listener, sid: str) -> list[str]:
    return [
        d["smssession"]["state"]
        for d in lst.data(SESSIONS)
        if d.get("notificationType") == "StatusChange" and d.get("smssession", {}).get("id") == sid
    ]


async def op(srv: Live, user: str, sid: str, body: dict[str, Any]) -> None:
    r = await srv.post(f"/api/v2/me/smssessions/{sid}", body, user)
    assert r["statusCode"] == 0, r


async def texts(srv: Live, user: str, sid: str) -> list[str]:
    body = await srv.get(f"/api/v2/me/smssessions/{sid}/messages", user)
    return [m.get("text") for m in body["messages"] if m["type"] == "Text"]


async def monitor(srv: Live, agent: str) -> None:
    agent_id = await srv.user_id(agent)
    body = {"operationName": "Monitor", "supervisorMonitoringMode": "AllChats"}
    r = await srv.post(f"/api/v2/users/{agent_id}/channels/smssession", body, "supervisor1")
    assert r == {"statusCode": 0}, r


async def test_logout_sends_the_pending_offer_to_another_agent_at_once(tmp_path: Path) -> None:
    async with (
        live(tmp_path, presence_grace_s=0, offer_timeout_s=3600) as srv,
        listener(srv.url, "agent1", SESSIONS) as a1,
        listener(srv.url, "agent2", SESSIONS) as a2,
    ):
        await srv.ready("agent1")
        await srv.text()
        assert await srv.route() == 1
        (sid,) = await srv.sessions("agent1")
        await eventually(lambda: states(a1, sid) == ["Invited"], what="agent1 offered")
        await srv.ready("agent2")
        r = await srv.post("/api/v2/me", {"operationName": "EndContactCenterSession"}, "agent1")
        assert r["statusCode"] == 0, r
        assert await srv.sessions("agent1") == []  # revoked at once, not at the offer timeout
        assert await srv.route() == 1
        await eventually(lambda: states(a2, sid) == ["Invited"], what="agent2 offered")
        # agent1's own CometD clients end with the logout (docs/security.md), before its Revoked reaches them
        assert (await srv.channel("agent1"))["state"] == "LoggedOut"


async def test_an_absent_agents_chat_goes_back_to_the_queue_with_its_transcript(tmp_path: Path) -> None:
    clock = FakeClock()
    async with (
        live(tmp_path, clock=clock, presence_grace_s=GRACE) as srv,
        listener(srv.url, "agent2", SESSIONS) as a2,
        listener(srv.url, "supervisor1", SESSIONS) as sup,
    ):
        await monitor(srv, "agent1")
        await srv.ready("agent1")  # agent1 works by REST only: no notification client
        await srv.text("My order is late")
        assert await srv.route() == 1
        (sid,) = await srv.sessions("agent1")
        await op(srv, "agent1", sid, {"operationName": "Accept"})
        await op(srv, "agent1", sid, {"operationName": "SendMessage", "text": "Let me check"})
        await eventually(lambda: "Chatting" in states(sup, sid), what="the supervisor joined")
        await srv.ready("agent2")
        await tick(clock, GRACE + 15, srv)
        await eventually(lambda: states(sup, sid)[-1:] == ["Revoked"], what="the supervisor revoked")
        assert await srv.sessions("agent1") == []
        await srv.route()
        await eventually(lambda: states(a2, sid) == ["Invited"], what="agent2 offered the same session")
        await op(srv, "agent2", sid, {"operationName": "Accept"})
        assert await texts(srv, "agent2", sid) == ["My order is late", "Let me check"]
        state = await srv.channel("agent1")
        assert state["state"] == "NotReady" and state["reason"] == "No Client Connected"


async def test_a_not_ready_agent_who_is_there_keeps_their_chat(tmp_path: Path) -> None:
    clock = FakeClock()
    async with (
        live(tmp_path, clock=clock, presence_grace_s=GRACE) as srv,
        listener(srv.url, "agent1", SESSIONS) as a1,
    ):
        await srv.ready("agent1")
        await srv.text()
        assert await srv.route() == 1
        (sid,) = await srv.sessions("agent1")
        await op(srv, "agent1", sid, {"operationName": "Accept"})
        r = await srv.post("/api/v2/me/channels/sms", {"operationName": "NotReady", "reason": "Break"})
        assert r["statusCode"] == 0, r
        await tick(clock, 2 * GRACE, srv)
        assert await srv.sessions("agent1") == [sid]
        assert states(a1, sid) == ["Invited", "Chatting"]
        assert (await srv.channel("agent1"))["reason"] == "Break"  # their own reason stays


async def test_deleting_an_agent_revokes_the_supervisor_and_requeues_the_chat(tmp_path: Path) -> None:
    async with (
        live(tmp_path, presence_grace_s=0) as srv,
        listener(srv.url, "agent2", SESSIONS) as a2,
        listener(srv.url, "supervisor1", SESSIONS) as sup,
    ):
        await monitor(srv, "agent1")
        await srv.ready("agent1")
        await srv.text("Hello")
        assert await srv.route() == 1
        (sid,) = await srv.sessions("agent1")
        await op(srv, "agent1", sid, {"operationName": "Accept"})
        await eventually(lambda: "Chatting" in states(sup, sid), what="the supervisor joined")
        agent1 = await srv.user_id("agent1")
        r = await srv.http.delete(f"/api/v2/users/{agent1}", headers={"Authorization": _admin()})
        assert r.json() == {"statusCode": 0}
        await eventually(lambda: states(sup, sid)[-1:] == ["Revoked"], what="the supervisor revoked")
        await srv.ready("agent2")
        assert await srv.route() == 1
        await eventually(lambda: states(a2, sid) == ["Invited"], what="agent2 offered")


def _admin() -> str:
    from tests.routing.live import auth

    return auth("admin")["Authorization"]

"""RONA end to end (docs/routing.md): HTTP, the router, and real CometD clients of the agents and a supervisor.

An offer that lapses is revoked, the session routed again, and the agent set NotReady "Not Responding" through
the same notifications as their own NotReady; a Reject does not cost Ready; and no session is stranded behind
the agents who let it lapse or rejected it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from smsdesk.domain.routing import NOT_RESPONDING_REASON
from tests.routing.live import eventually, listener, live, team_states

pytestmark = [pytest.mark.timeout(90), pytest.mark.filterwarnings("ignore::DeprecationWarning")]

SESSIONS = "/v2/me/smssessions"


def states(lst: object, sid: str) -> list[str]:
    data = lst.data(SESSIONS)  # type: ignore[attr-defined]
    return [d["smssession"]["state"] for d in data if d.get("smssession", {}).get("id") == sid]


async def test_a_lapsed_offer_sets_the_agent_not_responding_and_goes_to_the_next_agent(
    tmp_path: Path,
) -> None:
    async with (
        live(tmp_path, offer_timeout_s=1.0, presence_grace_s=0) as srv,
        listener(srv.url, "agent1", SESSIONS, "/v2/me/channels") as a1,
        listener(srv.url, "agent2", SESSIONS) as a2,
        listener(srv.url, "supervisor1", "/v2/users") as sup,
    ):
        await srv.ready("agent1")
        await srv.text()
        assert await srv.route() == 1
        (sid,) = await srv.sessions("agent1")
        await eventually(lambda: states(a1, sid) == ["Invited"], what="the offer on agent1's client")
        await srv.ready("agent2")  # agent2 is Ready later: idle for less time, agent1 had the offer first
        await asyncio.sleep(1.2)  # the offer lapses (offer_timeout_s = 1)
        assert await srv.route() >= 2  # the expiry, and the offer to agent2
        assert await srv.channel("agent1") == {
            "displayName": "Not Ready",
            "id": "900D55CC-2BB0-431F-8BF9-D3525B383BE6",
            "state": "NotReady",
            "reason": NOT_RESPONDING_REASON,
        }
        await eventually(lambda: states(a1, sid) == ["Invited", "Revoked"], what="agent1 revoked")
        await eventually(lambda: states(a2, sid) == ["Invited"], what="agent2 offered")
        await eventually(
            lambda: ("NotReady", NOT_RESPONDING_REASON) in team_states(sup, "agent1"),
            what="the supervisors' team view",
        )
        own = [d for c, d in a1.messages if c == "/v2/me/channels"]
        assert own[-1]["channels"][0]["userState"]["reason"] == NOT_RESPONDING_REASON
        assert (await srv.channel("agent2"))["state"] == "Ready"


async def test_rona_off_keeps_the_agent_ready(tmp_path: Path) -> None:
    async with live(tmp_path, offer_timeout_s=1.0, presence_grace_s=0, rona_not_ready=False) as srv:
        await srv.ready("agent1")
        await srv.text()
        assert await srv.route() == 1
        await asyncio.sleep(1.2)
        await srv.route()
        assert (await srv.channel("agent1"))["state"] == "Ready"


async def test_a_lapsed_session_waits_for_its_only_agent_and_is_offered_again(tmp_path: Path) -> None:
    async with (
        live(tmp_path, offer_timeout_s=1.0, presence_grace_s=0) as srv,
        listener(srv.url, "agent1", SESSIONS) as a1,
    ):
        await srv.ready("agent1")
        await srv.text()
        assert await srv.route() == 1
        (sid,) = await srv.sessions("agent1")
        await asyncio.sleep(1.2)
        await srv.route()
        assert (await srv.channel("agent1"))["state"] == "NotReady"
        assert await srv.route() == 0  # nobody Ready: the session waits
        await srv.ready("agent1")  # back: nobody else is there, so the same session comes to them again
        assert await srv.route() == 1
        await eventually(lambda: states(a1, sid) == ["Invited", "Revoked", "Invited"], what="offered again")
        r = await srv.post(f"/api/v2/me/smssessions/{sid}", {"operationName": "Accept"})
        assert r["statusCode"] == 0, r


async def test_a_reject_keeps_the_agent_ready_and_prefers_another_agent(tmp_path: Path) -> None:
    async with (
        live(tmp_path, presence_grace_s=0) as srv,
        listener(srv.url, "agent1", SESSIONS) as a1,
        listener(srv.url, "agent2", SESSIONS) as a2,
    ):
        await srv.ready("agent1")
        await srv.text()
        assert await srv.route() == 1
        (sid,) = await srv.sessions("agent1")
        r = await srv.post(f"/api/v2/me/smssessions/{sid}", {"operationName": "Reject"})
        assert r["statusCode"] == 0, r
        assert (await srv.channel("agent1"))["state"] == "Ready"  # a Reject does not cost Ready
        await srv.ready("agent2")
        assert await srv.route() == 1
        await eventually(lambda: states(a2, sid) == ["Invited"], what="agent2 offered")
        r = await srv.post(f"/api/v2/me/smssessions/{sid}", {"operationName": "Reject"}, "agent2")
        assert r["statusCode"] == 0, r
        # both rejected it, both still Ready: nobody else is there, so it goes round again (agent1 idle longest)
        assert await srv.route() == 1
        await eventually(lambda: states(a1, sid)[-1:] == ["Invited"] and len(states(a1, sid)) >= 3)

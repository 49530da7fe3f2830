"""Supervision resources through the HTTP API: Intrude (``POST /api/v2/users/{agentId}/smssessions/{id}``),
GetAgentInteractions (``GET /api/v2/users/{agentId}?subresources=smssessions``), whom a supervisor monitors
(``GET /api/v2/me/supervision``) and the audit log (``GET /api/v2/audit``, admins only).
Handlers: ``smsdesk/api/rest/supervision.py``; use cases: ``smsdesk/actions/supervision.py``.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api
from tests.api.test_supervision_seed import (
    assert_invisible,
    monitor,
    my_sessions,
    of_session,
    op,
    participant_id,
    start_session,
    summary,
    supervise,
    texts,
)


async def intrude(api: Api, sid: str, agent: str = "agent1", sup: str = "supervisor1", **params: Any) -> Any:
    aid = await api.user_id(agent)
    r = await api.post(
        f"/api/v2/users/{aid}/smssessions/{sid}", {"operationName": "Intrude", **params}, user=sup
    )
    return r


# -- Intrude ------------------------------------------------------------------------------------------------


async def test_intrude_invites_the_supervisor_into_the_current_session_then_accept(api: Api) -> None:
    sid = await start_session(api, text="help me")
    await op(api, "agent1", sid, "SendMessage", text="sure")
    r = await intrude(api, sid, supervisorVisibilityMode="Monitor")
    assert (r.status_code, r.json()) == (200, {"statusCode": 0})
    got = of_session(await api.events("supervisor1"), sid)
    assert summary(got) == ["StatusChange:Invited"]
    assert got[0]["smssession"]["capabilities"] == ["Accept", "Reject"]
    assert await op(api, "supervisor1", sid, "Accept") == {"statusCode": 0}
    got = of_session(await api.events("supervisor1"), sid)
    assert summary(got)[1:3] == ["StatusChange:Chatting", "ParticipantsUpdated:Chatting"]
    assert texts(got) == ["help me", "sure"]  # the transcript so far
    assert (await op(api, "supervisor1", sid, "SendMessage", text="x"))["statusCode"] == 2
    await assert_invisible(api, [await participant_id(api, "supervisor1", sid), "supervisor1"])
    await op(api, "agent1", sid, "Complete")
    assert summary(of_session(await api.events("supervisor1"), sid))[-1] == "StatusChange:Revoked"


async def test_intrude_uses_the_monitoring_mode_when_none_is_given(api: Api) -> None:
    sid = await start_session(api)
    await supervise(api, "Coach")  # the agent is busy: this subscription does not join ``sid``
    assert await my_sessions(api, "supervisor1") == []
    assert (await intrude(api, sid)).json() == {"statusCode": 0}
    await op(api, "supervisor1", sid, "Accept")
    view = (await api.get(f"/api/v2/me/smssessions/{sid}", user="agent1")).json()["smssession"]
    assert [p.get("visibility") for p in view["participants"] if p["nickname"] == "supervisor1"] == ["Agents"]


async def test_intrude_on_the_other_url_spelling(api: Api) -> None:
    sid = await start_session(api)
    aid = await api.user_id("agent1")
    body = {"operationName": "Intrude", "supervisorVisibilityMode": "BargeIn"}
    r = await api.post(f"/api/v2/users/{aid}/smsessions/{sid}", body, user="supervisor1")
    assert r.json() == {"statusCode": 0}


async def test_supervisor_may_reject_an_intrusion(api: Api) -> None:
    sid = await start_session(api)
    await intrude(api, sid, supervisorVisibilityMode="Monitor")
    assert await op(api, "supervisor1", sid, "Reject") == {"statusCode": 0}
    assert summary(of_session(await api.events("supervisor1"), sid))[-1] == "StatusChange:Completed"
    assert await my_sessions(api, "supervisor1") == []


@pytest.mark.parametrize(
    ("who", "agent", "params", "http", "code"),
    [
        ("agent2", "agent1", {"supervisorVisibilityMode": "Monitor"}, 403, 5),
        ("supervisor1", "agent1", {}, 400, 1),  # not monitoring the agent and no mode given
        ("supervisor1", "agent1", {"supervisorVisibilityMode": "Loud"}, 400, 10),
        ("supervisor1", "agent2", {"supervisorVisibilityMode": "Monitor"}, 404, 6),  # agent not in it
        ("supervisor1", "agent1", {"supervisorVisibilityMode": "Monitor", "operationName": "Spy"}, 400, 10),
    ],
)
async def test_intrude_errors(
    api: Api, who: str, agent: str, params: dict[str, Any], http: int, code: int
) -> None:
    sid = await start_session(api)
    r = await intrude(api, sid, agent=agent, sup=who, **params)
    assert (r.status_code, r.json()["statusCode"]) == (http, code), r.text
    assert r.json()["statusMessage"]


async def test_intrude_unknown_session_and_twice(api: Api) -> None:
    sid = await start_session(api)
    assert (await intrude(api, "NOSUCHSESSION", supervisorVisibilityMode="Monitor")).json()["statusCode"] == 6
    assert (await intrude(api, sid, supervisorVisibilityMode="Monitor")).json()["statusCode"] == 0
    r = await intrude(api, sid, supervisorVisibilityMode="Coach")
    assert r.json()["statusCode"] in (2, 18, 19), r.text  # already in it: a clear error


# -- GetAgentInteractions ---------------------------------------------------------------------------------


async def test_get_agent_interactions_for_supervisors(api: Api) -> None:
    sid = await start_session(api)
    aid = await api.user_id("agent1")
    r = await api.get(f"/api/v2/users/{aid}?subresources=smssessions", user="supervisor1")
    user = r.json()["user"]
    assert user["id"] == aid and [s["id"] for s in user["smssessions"]] == [sid]
    s = user["smssessions"][0]
    assert s["capabilities"] == [] and s["userData"]["CustomerNumber"] and s["receivedDate"]
    r = await api.get(f"/api/v2/users/{aid}?subresources=smssessions", user="agent2")
    assert (r.status_code, r.json()["statusCode"]) == (403, 5)
    own = (await api.get(f"/api/v2/users/{aid}?subresources=smssessions", user="agent1")).json()["user"]
    assert "Complete" in own["smssessions"][0]["capabilities"]  # your own sessions, with your capabilities
    await op(api, "agent1", sid, "Complete")
    r = await api.get(f"/api/v2/users/{aid}?subresources=smssessions", user="supervisor1")
    assert r.json()["user"]["smssessions"] == []


# -- GET /api/v2/me/supervision ---------------------------------------------------------------------------


async def test_me_supervision_lists_whom_i_monitor(api: Api) -> None:
    assert (await api.get("/api/v2/me/supervision", user="supervisor1")).json() == {
        "statusCode": 0,
        "subscriptions": [],
    }
    await monitor(api, nickname="QA", supervisorMonitoringMode="NextChat")
    await supervise(api, "BargeIn", agent="agent2")
    await monitor(api, sup="supervisor2")
    subs = (await api.get("/api/v2/me/supervision", user="supervisor1")).json()["subscriptions"]
    a1, a2 = await api.user_id("agent1"), await api.user_id("agent2")
    got = sorted(
        (s["agentId"], s["operationName"], s["supervisorMonitoringMode"], s["nickname"]) for s in subs
    )
    assert got == sorted([(a1, "Monitor", "NextChat", "QA"), (a2, "BargeIn", "AllChats", "supervisor1")])
    assert all(s["agentUri"].endswith(s["agentId"]) and isinstance(s["since"], int) for s in subs)
    r = await api.get("/api/v2/me/supervision", user="agent1")
    assert (r.status_code, r.json()["statusCode"]) == (403, 5)


# -- GET /api/v2/audit ---------------------------------------------------------------------------------------


async def test_every_supervision_action_is_audited_for_admins(api: Api) -> None:
    sup, a1 = await api.user_id("supervisor1"), await api.user_id("agent1")
    api.clock.advance(1)
    await monitor(api, supervisorMonitoringMode="NextChat")
    api.clock.advance(1)
    sid = await start_session(api)
    await supervise(api, "Coach")
    await supervise(api, "CancelSupervisorMonitoring")
    other = await start_session(api, customer="+15551230002")
    api.clock.advance(1)
    await intrude(api, other, supervisorVisibilityMode="BargeIn")
    entries = (await api.get("/api/v2/audit", user="admin")).json()["entries"]
    assert [e["action"] for e in entries] == [  # newest first
        "Intrude",
        "CancelSupervisorMonitoring",
        "Coach",
        "MonitoringEnded",  # the NextChat subscription was used up ...
        "JoinSession",  # ... by this join, in the same transaction as the agent's Accept
        "Monitor",
    ]
    assert all(e["actorId"] == sup and e["targetId"] == a1 for e in entries)
    by = {e["action"]: e for e in entries}
    assert by["Monitor"]["details"] == {"mode": "Monitor", "scope": "NextChat", "nickname": "supervisor1"}
    assert by["JoinSession"]["details"]["sessionId"] == sid
    assert by["Intrude"]["details"] == {"mode": "BargeIn", "sessionId": other}
    assert (
        by["Monitor"]["timestamp"] + 1000
        == by["JoinSession"]["timestamp"]
        == by["Intrude"]["timestamp"] - 1000
    )
    ids = [e["id"] for e in entries]
    assert ids == sorted(ids, reverse=True)

    page = (await api.get("/api/v2/audit?limit=2", user="admin")).json()["entries"]
    assert [e["id"] for e in page] == ids[:2]
    rest = (await api.get(f"/api/v2/audit?limit=100&before={ids[1]}", user="admin")).json()["entries"]
    assert [e["id"] for e in rest] == ids[2:]


@pytest.mark.parametrize(
    ("user", "query", "http", "code"),
    [
        ("supervisor1", "", 403, 5),
        ("agent1", "", 403, 5),
        ("admin", "?limit=0", 400, 10),
        ("admin", "?limit=many", 400, 10),
        ("admin", "?before=x", 400, 10),
    ],
)
async def test_audit_errors(api: Api, user: str, query: str, http: int, code: int) -> None:
    r = await api.get(f"/api/v2/audit{query}", user=user)
    assert (r.status_code, r.json()["statusCode"]) == (http, code)

"""The rest of SMS supervision (spec §7) through the HTTP API: Coach and BargeIn subscriptions, the in-session
switches, capabilities per mode (spec §4.4), several supervisors and several agents, and the end of
monitoring at logout. Intrude, GetAgentInteractions, ``/me/supervision`` and the audit log are in
``test_supervision_resources.py``; the Monitor page itself in ``test_supervision_seed.py``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.conftest import Api, accepted
from tests.api.test_supervision_seed import (
    CUST,
    CUST2,
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

SUP_BASE = [
    "Leave",
    "Transfer",
    "Invite",
    "Consult",
    "SetInFocus",
    "SetDisposition",
    "AttachUserData",
    "UpdateUserData",
    "DeleteUserData",
]


async def sup_view(api: Api, sid: str, user: str = "supervisor1") -> dict[str, Any]:
    r = await api.get(f"/api/v2/me/smssessions/{sid}", user=user)
    view: dict[str, Any] = r.json()["smssession"]
    return view


def visibility_of(view: dict[str, Any], nickname: str) -> str | None:
    for p in view["participants"]:
        if p["nickname"] == nickname:
            return str(p.get("visibility"))
    return None


# -- Coach: visible to agents only; messages to agents only, never to the phone --------------------------


async def test_coach_is_seen_by_agents_and_never_reaches_the_phone(api: Api) -> None:
    r = await supervise(api, "Coach", nickname="Coach Carla")
    assert r.json() == {"statusCode": 0}
    sid = await start_session(api)
    agent = of_session(await api.events("agent1"), sid)
    joined = [m for e in agent for m in e.get("messages", []) if m["type"] == "ParticipantJoined"]
    assert joined[-1]["from"]["nickname"] == "Coach Carla" and joined[-1]["visibility"] == "Agents"
    assert visibility_of(await sup_view(api, sid, "agent1"), "Coach Carla") == "Agents"

    caps = (await sup_view(api, sid))["capabilities"]
    assert "SendMessage" in caps and caps[-2:] == ["SwitchToMonitor", "SwitchBargeIn"]
    assert await op(api, "supervisor1", sid, "SendMessage", text="offer a voucher") == {"statusCode": 0}
    assert await op(api, "supervisor1", sid, "SendToAgents", text="psst, voucher") == {"statusCode": 0}
    assert await op(api, "supervisor1", sid, "SendUrl", url="https://kb.example/voucher") == {"statusCode": 0}
    last = of_session(await api.events("agent1"), sid)[-3:]
    assert texts(last) == ["offer a voucher", "psst, voucher"]
    assert {m["visibility"] for e in last for m in e["messages"]} == {"Agents"}
    await api.send_outbox()
    assert await api.phone() == []
    await assert_invisible(api, ["voucher", "Coach Carla"], users=())  # the phone only


async def test_bargein_is_seen_by_all_and_its_messages_reach_the_phone(api: Api) -> None:
    await supervise(api, "BargeIn", nickname="Boss")
    sid = await start_session(api)
    assert visibility_of(await sup_view(api, sid, "agent1"), "Boss") == "All"
    caps = (await sup_view(api, sid))["capabilities"]
    assert caps[-2:] == ["SwitchToMonitor", "SwitchToCoach"]
    assert await op(api, "supervisor1", sid, "SendMessage", text="Sorry, here is 10% off") == {
        "statusCode": 0
    }
    assert await op(api, "supervisor1", sid, "SendToAgents", text="agents only") == {"statusCode": 0}
    assert texts(of_session(await api.events("agent1"), sid))[-2:] == [
        "Sorry, here is 10% off",
        "agents only",
    ]
    await api.send_outbox()
    assert await api.phone() == ["Sorry, here is 10% off"]


# -- SwitchToMonitor / SwitchToCoach / SwitchToBargeIn (SwitchBargeIn) ---------------------------------------


async def test_switches_update_visibility_and_capabilities(api: Api) -> None:
    await monitor(api, nickname="Sam")
    sid = await start_session(api)
    sam_pid = await participant_id(api, "supervisor1", sid)
    monitor_caps = (await sup_view(api, sid))["capabilities"]
    assert monitor_caps == [*SUP_BASE, "SwitchToCoach", "SwitchBargeIn"]
    await assert_invisible(api, ["Sam", sam_pid])

    assert await op(api, "supervisor1", sid, "SwitchToCoach") == {"statusCode": 0}
    view = await sup_view(api, sid)
    assert view["capabilities"][-2:] == ["SwitchToMonitor", "SwitchBargeIn"]
    assert "SendMessage" in view["capabilities"] and "SendToAgents" in view["capabilities"]
    assert visibility_of(view, "Sam") == "Agents"
    agent_last = of_session(await api.events("agent1"), sid)
    assert "Sam" in json.dumps(agent_last[-2:])  # ParticipantsUpdated / ParticipantJoined (Agents)
    assert visibility_of(await sup_view(api, sid, "agent1"), "Sam") == "Agents"
    sup_last = of_session(await api.events("supervisor1"), sid)[-2:]
    assert "ParticipantsUpdated:Chatting" in summary(sup_last)

    assert await op(api, "supervisor1", sid, "SwitchBargeIn") == {"statusCode": 0}  # capability spelling
    view = await sup_view(api, sid)
    assert view["capabilities"][-2:] == ["SwitchToMonitor", "SwitchToCoach"]
    assert visibility_of(await sup_view(api, sid, "agent1"), "Sam") == "All"
    await op(api, "supervisor1", sid, "SendMessage", text="barged in")

    n = len(await api.events("agent1"))
    assert await op(api, "supervisor1", sid, "SwitchToMonitor") == {"statusCode": 0}
    told = of_session((await api.events("agent1"))[n:], sid)
    assert summary(told) == ["ParticipantsUpdated:Chatting", "NewMessages:ParticipantLeft"]
    assert "Sam" not in json.dumps(told[0]["smssession"]["participants"])
    assert (await sup_view(api, sid))["capabilities"] == monitor_caps
    assert visibility_of(await sup_view(api, sid, "agent1"), "Sam") is None  # hidden from the agent again
    r = await op(api, "supervisor1", sid, "SendMessage", text="not any more")
    assert r["statusCode"] == 2
    await api.send_outbox()
    assert await api.phone() == ["barged in"]


@pytest.mark.parametrize(
    ("start", "switch"),
    [("Monitor", "SwitchToMonitor"), ("Coach", "SwitchToCoach"), ("BargeIn", "SwitchToBargeIn")],
)
async def test_switch_to_the_current_mode_is_a_state_error(api: Api, start: str, switch: str) -> None:
    await supervise(api, start)
    sid = await start_session(api)
    r = await api.post(f"/api/v2/me/smssessions/{sid}", {"operationName": switch}, user="supervisor1")
    assert (r.status_code, r.json()["statusCode"]) == (409, 2)


async def test_agents_cannot_switch_modes(api: Api) -> None:
    sid = await start_session(api)
    for switch in ("SwitchToMonitor", "SwitchToCoach", "SwitchToBargeIn"):
        r = await api.post(f"/api/v2/me/smssessions/{sid}", {"operationName": switch}, user="agent1")
        assert (r.status_code, r.json()["statusCode"]) == (403, 5), switch
        assert "supervisor" in r.json()["statusMessage"].lower()


async def test_switches_on_every_url_spelling(api: Api) -> None:
    await monitor(api)
    sid = await start_session(api)
    for seg, name in (("smsssession", "SwitchToCoach"), ("smsessions", "SwitchToBargeIn")):
        r = await api.post(f"/api/v2/me/{seg}/{sid}", {"operationName": name}, user="supervisor1")
        assert accepted(r.json()) == {"statusCode": 0}, seg


# -- several supervisors on one agent; one supervisor on several agents -----------------------------------


async def test_several_supervisors_on_one_agent_in_their_own_modes(api: Api) -> None:
    await monitor(api, sup="supervisor1", nickname="Mon")
    await supervise(api, "Coach", sup="supervisor2", nickname="Coa")
    sid = await start_session(api)
    for sup in ("supervisor1", "supervisor2"):
        assert [s["id"] for s in await my_sessions(api, sup)] == [sid]
    # each supervisor sees both; the agent sees the coach only
    view = await sup_view(api, sid, "supervisor2")
    assert (visibility_of(view, "Mon"), visibility_of(view, "Coa")) == ("Supervisors", "Agents")
    agent_view = await sup_view(api, sid, "agent1")
    assert (visibility_of(agent_view, "Mon"), visibility_of(agent_view, "Coa")) == (None, "Agents")
    await op(api, "supervisor2", sid, "SendMessage", text="coach tip")
    assert texts(of_session(await api.events("supervisor1"), sid))[-1] == "coach tip"
    await op(api, "agent1", sid, "Complete")
    for sup in ("supervisor1", "supervisor2"):
        assert summary(of_session(await api.events(sup), sid))[-1] == "StatusChange:Revoked"


async def test_one_supervisor_on_several_agents_and_sessions(api: Api) -> None:
    await monitor(api, agent="agent1")
    await supervise(api, "Coach", agent="agent2")
    s1 = await start_session(api, agent="agent1", customer=CUST)
    await api.post("/api/v2/me/channels/sms", {"operationName": "NotReady"}, user="agent1")
    s2 = await start_session(api, agent="agent2", customer=CUST2)
    assert {s["id"] for s in await my_sessions(api, "supervisor1")} == {s1, s2}
    assert visibility_of(await sup_view(api, s1, "agent1"), "supervisor1") is None
    assert visibility_of(await sup_view(api, s2, "agent2"), "supervisor1") == "Agents"
    subs = (await api.get("/api/v2/me/supervision", user="supervisor1")).json()["subscriptions"]
    assert sorted((s["agentUserName"], s["operationName"]) for s in subs) == [
        ("agent1", "Monitor"),
        ("agent2", "Coach"),
    ]


async def test_monitoring_both_agents_of_a_conference_joins_once(api: Api) -> None:
    await monitor(api, agent="agent1")
    await monitor(api, agent="agent2")
    sid = await start_session(api)
    agent2 = await api.user_id("agent2")
    await op(api, "agent1", sid, "Invite", targetUri=f"http://x/api/v2/users/{agent2}")
    assert await op(api, "agent2", sid, "Accept") == {"statusCode": 0}
    view = await sup_view(api, sid, "supervisor2")
    assert [p["nickname"] for p in view["participants"]].count("supervisor1") == 1


async def test_a_new_mode_replaces_the_subscription(api: Api) -> None:
    await monitor(api)
    assert (await supervise(api, "BargeIn", supervisorMonitoringMode="NextChat")).json()["statusCode"] == 0
    [sub] = (await api.get("/api/v2/me/supervision", user="supervisor1")).json()["subscriptions"]
    assert (sub["operationName"], sub["supervisorMonitoringMode"]) == ("BargeIn", "NextChat")


# -- monitoring ends at the supervisor's logout (EndContactCenterSession) --------------------------------


async def test_logout_ends_monitoring_but_keeps_joined_sessions(api: Api) -> None:
    await monitor(api, agent="agent1")
    await monitor(api, agent="agent2", supervisorMonitoringMode="NextChat")
    sid = await start_session(api, customer=CUST)
    r = await api.post("/api/v2/me", {"operationName": "EndContactCenterSession"}, user="supervisor1")
    assert r.json() == {"statusCode": 0}
    assert (await api.get("/api/v2/me/supervision", user="supervisor1")).json()["subscriptions"] == []
    nxt = await start_session(api, customer=CUST2)
    assert [s["id"] for s in await my_sessions(api, "supervisor1")] == [sid]
    assert of_session(await api.events("supervisor1"), nxt) == []
    entries = (await api.get("/api/v2/audit", user="admin")).json()["entries"]
    ended = [e for e in entries if e["action"] == "MonitoringEnded"]
    assert len(ended) == 2 and {e["details"]["reason"] for e in ended} == {"EndContactCenterSession"}
    assert {e["targetId"] for e in ended} == {await api.user_id("agent1"), await api.user_id("agent2")}


async def test_an_agent_logout_does_not_touch_anyone_elses_monitoring(api: Api) -> None:
    await monitor(api)
    r = await api.post("/api/v2/me", {"operationName": "EndContactCenterSession"}, user="agent1")
    assert r.json() == {"statusCode": 0}
    assert len((await api.get("/api/v2/me/supervision", user="supervisor1")).json()["subscriptions"]) == 1

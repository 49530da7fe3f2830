"""Conformance with the seed page (GWS "Monitor", SMS Session API), sentence by sentence, through the HTTP API.

Each test quotes the sentence it proves. What a user's CometD clients receive is read with ``api.events``
(the stored notifications, in delivery order); ``test_supervision_cometd.py`` shows the same through a real
CometD client. The policy lives in ``smsdesk/domain/supervision.py`` and ``smsdesk/domain/_change.py``; the
REST layer in ``smsdesk/api/rest/supervision.py``; the walk-through in ``docs/supervision.md``.

The helpers at the top are reused by the other ``test_supervision_*`` and ``test_privacy_*`` modules.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.api.conftest import Api
from tests.api.test_session_flow import ready

BIZ = "+15550000000"
CUST = "+15551230001"
CUST2 = "+15551230002"
CUST3 = "+15551230003"
TOPIC = "/v2/me/smssessions"
SPELLINGS = ("smsession", "smssession")  # the seed's URL and the HTCC pages' URL


# -- helpers ------------------------------------------------------------------------------------------------


async def supervise(
    api: Api,
    op: str = "Monitor",
    agent: str = "agent1",
    sup: str = "supervisor1",
    spelling: str = "smssession",
    **params: Any,
) -> httpx.Response:
    """``POST /api/v2/users/{agentId}/channels/{spelling}`` with ``operationName`` = ``op``."""
    agent_id = await api.user_id(agent) if not agent.startswith("id:") else agent[3:]
    return await api.post(
        f"/api/v2/users/{agent_id}/channels/{spelling}", {"operationName": op, **params}, user=sup
    )


async def monitor(api: Api, agent: str = "agent1", sup: str = "supervisor1", **params: Any) -> None:
    r = await supervise(api, "Monitor", agent, sup, **params)
    assert r.json() == {"statusCode": 0}, r.text


async def op(api: Api, user: str, sid: str, name: str, **params: Any) -> dict[str, Any]:
    """``POST /api/v2/me/smssessions/{id}``; returns the JSON body, without the ``referenceId`` every accepted
    request is answered with (checked here; tests/api/test_conformance_audit.py checks what it is)."""
    r = await api.post(f"/api/v2/me/smssessions/{sid}", {"operationName": name, **params}, user=user)
    body: dict[str, Any] = r.json()
    if body.get("statusCode") == 0:
        assert isinstance(body.pop("referenceId"), int), body
    return body


async def my_sessions(api: Api, user: str) -> list[dict[str, Any]]:
    r = await api.get("/api/v2/me/smssessions?fields=*", user=user)
    sessions: list[dict[str, Any]] = r.json()["smssessions"]
    return sessions


async def start_session(api: Api, agent: str = "agent1", customer: str = CUST, text: str = "Hello") -> str:
    """The customer texts; the session is routed to ``agent`` (made Ready) who accepts it. Returns its id."""
    await ready(api, agent)
    await api.text(text, customer=customer)
    await api.route()
    invited = [s for s in await my_sessions(api, agent) if s["state"] == "Invited"]
    assert len(invited) == 1, invited
    sid: str = invited[0]["id"]
    assert await op(api, agent, sid, "Accept") == {"statusCode": 0}
    return sid


def of_session(events: list[dict[str, Any]], sid: str) -> list[dict[str, Any]]:
    """The SMS-session notifications of one session."""
    out = []
    for e in events:
        if e["_channel"] != TOPIC:
            continue
        if e.get("smssession", {}).get("id") == sid or str(e.get("smssessionUri", "")).endswith("/" + sid):
            out.append(e)
    return out


def summary(events: list[dict[str, Any]]) -> list[str]:
    """``"StatusChange:Chatting"``, ``"ParticipantsUpdated:Chatting"``, ``"NewMessages:Text,ParticipantJoined"``."""
    out = []
    for e in events:
        if "smssession" in e:
            out.append(f"{e['notificationType']}:{e['smssession']['state']}")
        else:
            out.append(f"{e['notificationType']}:" + ",".join(m["type"] for m in e["messages"]))
    return out


def texts(events: list[dict[str, Any]]) -> list[str]:
    return [m["text"] for e in events for m in e.get("messages", []) if m["type"] == "Text"]


async def participant_id(api: Api, user: str, sid: str) -> str:
    """The participantId of ``user`` in session ``sid`` (read from that user's own view)."""
    uid = await api.user_id(user)
    s = (await api.get(f"/api/v2/me/smssessions/{sid}", user=user)).json()["smssession"]
    [pid] = [p["participantId"] for p in s["participants"] if p.get("uri", "").endswith("/" + uid)]
    return str(pid)


async def assert_invisible(
    api: Api, secrets: list[str], *, users: tuple[str, ...] = ("agent1", "agent2", "agent3")
) -> None:
    """None of ``secrets`` (a supervisor's id, participantId, nickname, texts) is in anything the agents'
    CometD clients got, in any participant list they can read, or on any customer's phone."""
    for user in users:
        blob = json.dumps(await api.events(user))
        for s in await my_sessions(api, user):
            blob += json.dumps(s)
        for secret in secrets:
            assert secret not in blob, (user, secret)
    await api.send_outbox()
    for customer in (CUST, CUST2, CUST3):
        phone = " ".join(await api.phone(customer))
        for secret in secrets:
            assert secret not in phone, (customer, secret)


# -- Request URL, parameters, sample --------------------------------------------------------------------


@pytest.mark.parametrize("spelling", SPELLINGS)
async def test_sample_request_answers_status_code_0_on_both_spellings(api: Api, spelling: str) -> None:
    """``POST api/v2/users/{userId}/channels/smsession {"operationName": "Monitor", "supervisorMonitoringMode":
    "NextChat"}`` → ``{"statusCode": 0}``; the HTCC pages' ``.../channels/smssession`` works the same."""
    r = await supervise(api, spelling=spelling, supervisorMonitoringMode="NextChat")
    assert (r.status_code, r.json()) == (200, {"statusCode": 0})
    [sub] = (await api.get("/api/v2/me/supervision", user="supervisor1")).json()["subscriptions"]
    assert sub["agentId"] == await api.user_id("agent1")
    assert (sub["operationName"], sub["supervisorMonitoringMode"]) == ("Monitor", "NextChat")


async def test_defaults_all_chats_and_the_username_as_nickname(api: Api) -> None:
    """ "If not specified AllChats is the default." / "If not specified, username will be used.\""""
    await monitor(api)
    [sub] = (await api.get("/api/v2/me/supervision", user="supervisor1")).json()["subscriptions"]
    assert (sub["supervisorMonitoringMode"], sub["nickname"]) == ("AllChats", "supervisor1")
    sid = await start_session(api)
    s = (await api.get(f"/api/v2/me/smssessions/{sid}", user="supervisor2")).json()["smssession"]
    assert {p["nickname"] for p in s["participants"]} >= {"supervisor1"}


async def test_nickname_is_the_name_other_supervisors_see(api: Api) -> None:
    """ "nickname: Supervisor's nickname as will be seen by ..." (only supervisors see a Monitor)."""
    await monitor(api, nickname="Quality Team")
    await monitor(api, sup="supervisor2")
    sid = await start_session(api)
    s = (await api.get(f"/api/v2/me/smssessions/{sid}", user="supervisor2")).json()["smssession"]
    names = {p["nickname"]: p.get("visibility") for p in s["participants"]}
    assert names["Quality Team"] == "Supervisors" and names["supervisor2"] == "Supervisors"


@pytest.mark.parametrize(
    ("user", "agent", "params", "http", "code", "words"),
    [
        ("agent2", "agent1", {}, 403, 5, "supervisor role"),
        ("supervisor1", "id:no-such-user", {}, 404, 6, "not found"),
        ("supervisor1", "agent1", {"supervisorMonitoringMode": "Sometimes"}, 400, 10, "NextChat or AllChats"),
        ("supervisor1", "agent1", {"supervisorMonitoringMode": 3}, 400, 10, "NextChat or AllChats"),
        ("supervisor1", "supervisor2", {}, 409, 2, "not an agent"),
        ("supervisor1", "agent1", {"nickname": ["x"]}, 400, 10, "nickname"),
    ],
)
async def test_who_may_monitor_whom(
    api: Api, user: str, agent: str, params: dict[str, Any], http: int, code: int, words: str
) -> None:
    """Monitoring is for supervisors (5 otherwise; admins count as supervisors, ``domain/users.py``), of an
    existing agent (6), with a valid mode (10)."""
    r = await supervise(api, agent=agent, sup=user, **params)
    assert (r.status_code, r.json()["statusCode"]) == (http, code), r.text
    assert words.lower() in r.json()["statusMessage"].lower()
    assert set(r.json()) == {"statusCode", "statusMessage"}
    assert (await api.get("/api/v2/me/supervision", user="supervisor1")).json()["subscriptions"] == []


async def test_bad_bodies_and_channels_are_clear_errors(api: Api) -> None:
    aid = await api.user_id("agent1")
    url = f"/api/v2/users/{aid}/channels/smssession"
    r = await api.client.post(url, content=b"{nope", headers={**_auth("supervisor1")})
    assert r.json()["statusCode"] == 10
    r = await api.post(url, {"supervisorMonitoringMode": "NextChat"}, user="supervisor1")
    assert (r.status_code, r.json()["statusCode"]) == (400, 1)
    r = await api.post(url, {"operationName": "Spy"}, user="supervisor1")
    assert r.json()["statusCode"] == 10
    r = await api.post(f"/api/v2/users/{aid}/channels/fax", {"operationName": "Monitor"}, user="supervisor1")
    assert (r.status_code, r.json()["statusCode"]) == (404, 6) and "smssession" in r.json()["statusMessage"]


async def test_requires_the_api_multimedia_feature(tmp_path: Any, clock: Any) -> None:
    """ "Required Features: api-multimedia": without it the resource does not exist (spec §9.8)."""
    from tests.api.conftest import make_api

    async for api in make_api(tmp_path, clock, disabled_features=("api-multimedia",)):
        r = await supervise(api)
        assert (r.status_code, r.json()["statusCode"]) == (404, 6)
        assert "api-multimedia" in r.json()["statusMessage"]


def _auth(user: str) -> dict[str, str]:
    from tests.api.conftest import basic

    return {**basic(user), "Content-Type": "application/json"}


# -- "When an agent being monitored accepts an SMS session, the supervisor will also have the SMS session
#     delivered, as well as all SMS session notifications." ---------------------------------------------------


async def test_session_delivered_when_the_agent_accepts_then_every_notification(api: Api) -> None:
    await monitor(api)
    await ready(api, "agent1")
    await api.text("My order is late")
    await api.route()
    assert of_session(await api.events("supervisor1"), "x") == []
    [offer] = await my_sessions(api, "agent1")
    sid = offer["id"]
    assert of_session(await api.events("supervisor1"), sid) == []  # offered, not yet accepted: nothing
    await op(api, "agent1", sid, "Accept")

    got = of_session(await api.events("supervisor1"), sid)
    assert summary(got) == [
        "StatusChange:Chatting",
        "ParticipantsUpdated:Chatting",
        "NewMessages:ParticipantJoined,Text,ParticipantJoined,ParticipantJoined",
    ]
    assert texts(got) == ["My order is late"]  # the transcript so far
    me = got[0]["smssession"]
    assert "SendMessage" not in me["capabilities"] and "Leave" in me["capabilities"]
    sup = next(p for p in got[1]["smssession"]["participants"] if p["nickname"] == "supervisor1")
    assert sup["visibility"] == "Supervisors" and sup["type"] == "Agent"
    assert got[2]["messages"][-1]["visibility"] == "Supervisors"

    n = len(got)
    steps: list[tuple[str, dict[str, Any]]] = [
        ("SendMessage", {"text": "Let me check"}),
        ("AttachUserData", {"userData": {"Order": "42"}}),
        ("SendStartTypingNotification", {}),
    ]
    for name, params in steps:
        assert await op(api, "agent1", sid, name, **params) == {"statusCode": 0}, name
        if name == "SendMessage":
            await api.text("Order 42", customer=CUST)
    later = of_session(await api.events("supervisor1"), sid)[n:]
    assert summary(later) == [
        "NewMessages:Text",
        "NewMessages:Text",
        "PropertiesUpdated:Chatting",
        "NewMessages:TypingStarted",
    ]
    assert texts(later) == ["Let me check", "Order 42"]
    assert later[2]["smssession"]["userData"]["Order"] == "42"


# -- "If the agent is currently in a SMS session, the supervisor will be added to the agent's next SMS
#     session." -----------------------------------------------------------------------------------------------


async def test_agent_busy_supervisor_joins_the_next_session_not_the_current_one(api: Api) -> None:
    current = await start_session(api, customer=CUST, text="first customer")
    await monitor(api)
    await op(api, "agent1", current, "SendMessage", text="still talking")
    await api.text("more from the first", customer=CUST)
    assert of_session(await api.events("supervisor1"), current) == []
    assert (await api.get(f"/api/v2/me/smssessions/{current}", user="supervisor1")).json()["smssession"][
        "capabilities"
    ] == []  # an observer, not a participant
    sup_id = await api.user_id("supervisor1")
    r = await api.get(
        f"/api/v2/users/{await api.user_id('agent1')}?subresources=smssessions", user="supervisor1"
    )
    assert sup_id not in json.dumps(r.json()["user"]["smssessions"])

    nxt = await start_session(api, customer=CUST2, text="second customer")
    assert summary(of_session(await api.events("supervisor1"), nxt))[:2] == [
        "StatusChange:Chatting",
        "ParticipantsUpdated:Chatting",
    ]
    assert [s["id"] for s in await my_sessions(api, "supervisor1")] == [nxt]
    await op(api, "agent1", current, "SendMessage", text="bye first")
    assert of_session(await api.events("supervisor1"), current) == []


# -- supervisorMonitoringMode: "NextChat - Monitor only the next SMS session the agent receives, then stop
#     monitoring. AllChats - Monitoring all agent SMS session until monitoring is cancelled." ----------------


async def test_next_chat_monitors_only_the_next_session_then_stops(api: Api) -> None:
    await monitor(api, supervisorMonitoringMode="NextChat")
    first = await start_session(api, customer=CUST)
    assert (await api.get("/api/v2/me/supervision", user="supervisor1")).json()["subscriptions"] == []
    second = await start_session(api, customer=CUST2)
    mine = [s["id"] for s in await my_sessions(api, "supervisor1")]
    assert mine == [first] and of_session(await api.events("supervisor1"), second) == []


async def test_all_chats_monitors_every_session_until_cancelled(api: Api) -> None:
    await monitor(api, supervisorMonitoringMode="AllChats")
    first = await start_session(api, customer=CUST)
    second = await start_session(api, customer=CUST2)
    assert {s["id"] for s in await my_sessions(api, "supervisor1")} == {first, second}
    r = await supervise(api, "CancelSupervisorMonitoring")
    assert r.json() == {"statusCode": 0}
    third = await start_session(api, customer=CUST3)
    mine = {s["id"] for s in await my_sessions(api, "supervisor1")}
    assert mine == {first, second}, "cancel keeps sessions already joined and joins no new one"
    assert of_session(await api.events("supervisor1"), third) == []
    await op(api, "agent1", first, "SendMessage", text="after cancel")
    assert texts(of_session(await api.events("supervisor1"), first))[-1] == "after cancel"


async def test_cancel_when_not_monitoring_is_a_state_error(api: Api) -> None:
    r = await supervise(api, "CancelSupervisorMonitoring")
    assert (r.status_code, r.json()["statusCode"]) == (409, 2)
    assert "not monitoring" in r.json()["statusMessage"]


# -- "The supervisor cannot send messages in this mode and only another supervisor will see that the
#     supervisor has joined the session." ------------------------------------------------------------------

SENDS = [
    ("SendMessage", {"text": "psst"}),
    ("SendUrl", {"url": "https://example.com/psst"}),
    ("SendToAgents", {"text": "psst agents"}),
    ("SendCustomNotice", {"noticeText": "psst notice"}),
    ("SendCustomNoticeToAgents", {"noticeText": "psst agents notice"}),
    ("SendStartTypingNotification", {}),
    ("SendStopTypingNotification", {}),
    ("SendStartTypingToAgentsNotification", {}),
    ("SendStopTypingToAgentsNotification", {}),
]


async def test_monitor_cannot_send_anything(api: Api) -> None:
    await monitor(api)
    sid = await start_session(api)
    before = len(await api.events("agent1"))
    for name, params in SENDS:
        r = await api.post(
            f"/api/v2/me/smssessions/{sid}", {"operationName": name, **params}, user="supervisor1"
        )
        assert (r.status_code, r.json()["statusCode"]) == (409, 2), (name, r.text)
        assert "Monitor" in r.json()["statusMessage"], name
    assert len(await api.events("agent1")) == before
    await api.send_outbox()
    assert await api.phone() == []
    log = (await api.get(f"/api/v2/me/smssessions/{sid}/messages", user="supervisor1")).json()["messages"]
    assert "psst" not in json.dumps(log)


async def test_only_another_supervisor_sees_the_monitor_join(api: Api) -> None:
    await monitor(api, nickname="Silent Sam")
    await monitor(api, sup="supervisor2", nickname="Other Olga")
    sid = await start_session(api)
    await op(api, "agent1", sid, "SendMessage", text="hello customer")
    await api.text("thanks", customer=CUST)
    sam_pid = await participant_id(api, "supervisor1", sid)

    olga = of_session(await api.events("supervisor2"), sid)
    seen = {
        m["from"]["nickname"] for e in olga for m in e.get("messages", []) if m["type"] == "ParticipantJoined"
    }
    assert "Silent Sam" in seen  # another supervisor sees the join
    s = (await api.get(f"/api/v2/me/smssessions/{sid}", user="supervisor2")).json()["smssession"]
    assert {p["nickname"] for p in s["participants"]} >= {"Silent Sam", "Other Olga"}

    # the agent and the customer never do: not in notifications, participant lists, transcript or SMS
    agent_view = (await api.get(f"/api/v2/me/smssessions/{sid}", user="agent1")).json()["smssession"]
    assert [p["type"] for p in agent_view["participants"]] == ["Customer", "Agent"]
    log = (await api.get(f"/api/v2/me/smssessions/{sid}/messages", user="agent1")).json()["messages"]
    assert all(m["visibility"] == "All" for m in log)
    secrets = [
        "Silent Sam",
        "Other Olga",
        sam_pid,
        await api.user_id("supervisor1"),
        await api.user_id("supervisor2"),
    ]
    await assert_invisible(api, secrets)
    assert await api.phone() == ["hello customer"]


# -- "When the SMS session is completed or placed in a queue, the supervisor will receive SMS session state
#     Revoked." --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("how", "params", "agent_state"),
    [
        ("Complete", {}, "Completed"),
        ("LeaveAndComplete", {}, "Completed"),
        ("Complete", {"queueName": "billing"}, "Completed"),
        ("Transfer", {"queueName": "billing"}, "Completed"),
        ("Transfer", {"targetUri": "http://x/api/v2/queues/billing"}, "Completed"),
    ],
)
async def test_revoked_when_completed_or_placed_in_a_queue(
    api: Api, how: str, params: dict[str, Any], agent_state: str
) -> None:
    await monitor(api)
    await monitor(api, sup="supervisor2", supervisorMonitoringMode="NextChat")
    sid = await start_session(api)
    assert await op(api, "agent1", sid, how, **params) == {"statusCode": 0}
    for sup in ("supervisor1", "supervisor2"):
        assert summary(of_session(await api.events(sup), sid))[-1] == "StatusChange:Revoked", (sup, how)
        assert await my_sessions(api, sup) == []
    assert summary(of_session(await api.events("agent1"), sid))[-1] == f"StatusChange:{agent_state}"
    # revoked supervisors are told nothing more about the session
    n = len(await api.events("supervisor1"))
    await api.text("anyone?", customer=CUST)
    await api.route()
    assert len(of_session((await api.events("supervisor1"))[n:], sid)) == 0


async def test_revoked_when_requeued_and_a_new_agent_takes_it(api: Api) -> None:
    """Placed in a queue, then routed to agent2 who is not monitored: the supervisor stays out."""
    await monitor(api)
    sid = await start_session(api)
    await op(api, "agent1", sid, "Transfer", queueName="default")
    assert summary(of_session(await api.events("supervisor1"), sid))[-1] == "StatusChange:Revoked"
    await api.post("/api/v2/me/channels/sms", {"operationName": "NotReady"}, user="agent1")
    await ready(api, "agent2")
    await api.route()
    [s] = await my_sessions(api, "agent2")
    await op(api, "agent2", s["id"], "Accept")
    assert summary(of_session(await api.events("supervisor1"), sid))[-1] == "StatusChange:Revoked"


# -- "If an agent being monitored leaves the SMS session but another agent is still present, the supervisor
#     will continue monitoring this SMS session until it is completed or placed in a queue." -----------------


async def test_monitoring_continues_after_the_agent_leaves_a_conference(api: Api) -> None:
    await monitor(api)
    sid = await start_session(api)
    agent2 = await api.user_id("agent2")
    r = await op(api, "agent1", sid, "Invite", targetUri=f"http://x/api/v2/users/{agent2}")
    assert r["statusCode"] == 0, r
    assert await op(api, "agent2", sid, "Accept") == {"statusCode": 0}
    assert await op(api, "agent1", sid, "Leave") == {"statusCode": 0}
    assert summary(of_session(await api.events("agent1"), sid))[-1] == "StatusChange:Completed"

    await op(api, "agent2", sid, "SendMessage", text="agent2 here")
    await api.text("ok agent2", customer=CUST)
    sup = of_session(await api.events("supervisor1"), sid)
    assert texts(sup)[-2:] == ["agent2 here", "ok agent2"]
    assert [s["id"] for s in await my_sessions(api, "supervisor1")] == [sid]
    await assert_invisible(api, ["supervisor1", await participant_id(api, "supervisor1", sid)])

    assert await op(api, "agent2", sid, "Complete") == {"statusCode": 0}
    assert summary(of_session(await api.events("supervisor1"), sid))[-1] == "StatusChange:Revoked"


async def test_sole_agent_leaving_does_not_end_monitoring_before_complete(api: Api) -> None:
    """[INF] the sole agent's Leave puts it in ``LeftChat``: the session is not completed yet."""
    await monitor(api)
    sid = await start_session(api)
    await op(api, "agent1", sid, "Leave")
    assert "StatusChange:LeftChat" in summary(of_session(await api.events("agent1"), sid))
    assert summary(of_session(await api.events("supervisor1"), sid))[-1] != "StatusChange:Revoked"
    await op(api, "agent1", sid, "Complete")
    assert summary(of_session(await api.events("supervisor1"), sid))[-1] == "StatusChange:Revoked"


# -- "The supervisor can leave a SMS session at any time." ----------------------------------------------


async def test_supervisor_can_leave_at_any_time(api: Api) -> None:
    await monitor(api)
    sid = await start_session(api)
    agent_before = len(await api.events("agent1"))
    assert await op(api, "supervisor1", sid, "Leave") == {"statusCode": 0}
    assert summary(of_session(await api.events("supervisor1"), sid))[-1] == "StatusChange:Completed"
    assert len(await api.events("agent1")) == agent_before  # the agent is not told
    assert await my_sessions(api, "supervisor1") == []
    n = len(await api.events("supervisor1"))
    await op(api, "agent1", sid, "SendMessage", text="after leave")
    assert of_session((await api.events("supervisor1"))[n:], sid) == []
    # leaving a session is not cancelling monitoring: the next session is joined again (AllChats)
    nxt = await start_session(api, customer=CUST2)
    assert [s["id"] for s in await my_sessions(api, "supervisor1")] == [nxt]
    r = await api.post(f"/api/v2/me/smssessions/{sid}", {"operationName": "Leave"}, user="supervisor1")
    assert r.json()["statusCode"] in (2, 6)  # already left: a clear error, not a crash

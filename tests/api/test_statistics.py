"""``GET /api/v2/statistics`` and the ``/v2/statistics`` notifications (docs/operations.md): figures from the
store, who sees what, and the pushed changes adding up to what ``GET`` answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from smsdesk.actions.statistics import StatisticsPublisher
from smsdesk.app import Worker
from smsdesk.clock import FakeClock
from smsdesk.domain.events import SUPERVISORS
from tests.api.conftest import Api, node
from tests.api.test_session_flow import offered_session, ready

CUST2 = "+15551230002"


async def stats(api: Api, user: str = "supervisor1") -> dict[str, Any]:
    r = await api.get("/api/v2/statistics", user=user)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert body["statusCode"] == 0
    return body


def queue(body: dict[str, Any], name: str = "default") -> dict[str, Any]:
    found: dict[str, Any] = next(q for q in body["queues"] if q["name"] == name)
    return found


def agent(body: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(a for a in body["agents"] if a["userName"] == name)
    return found


async def op(api: Api, sid: str, name: str, user: str = "agent1", **fields: Any) -> None:
    r = await api.post(f"/api/v2/me/smssessions/{sid}", {"operationName": name, **fields}, user=user)
    assert r.json()["statusCode"] == 0, r.text


async def test_a_conversation_moves_every_figure(api: Api) -> None:
    body = await stats(api)
    assert queue(body)["waiting"] == 0 and queue(body)["today"]["offered"] == 0
    assert queue(body)["today"]["averageWaitSeconds"] is None
    assert {a["userName"] for a in body["agents"]} == {"agent1", "agent2", "agent3"}
    assert agent(body, "agent1")["state"] == "LoggedOut"

    await api.text("Hello")
    api.clock.advance(12)
    body = await stats(api)
    q = queue(body)
    assert (q["waiting"], q["longestWaitSeconds"], q["today"]["offered"]) == (1, 12, 1)
    assert q["last15Minutes"]["offered"] == 1

    await ready(api, "agent1")
    sid = await offered_session(api)
    api.clock.advance(8)
    await op(api, sid, "Accept")
    body = await stats(api)
    q, a = queue(body), agent(body, "agent1")
    assert q["waiting"] == 0 and q["today"]["accepted"] == 1
    assert q["today"]["averageWaitSeconds"] == 20.0 and q["today"]["serviceLevel"] == 1.0
    assert (q["agentsBusy"], q["agentsReady"]) == (1, 0)
    assert (a["state"], a["sessions"], a["capacity"]) == ("Ready", 1, 3)

    api.clock.advance(5)
    await op(api, sid, "SendMessage", text="How can I help?")
    api.clock.advance(30)
    await op(api, sid, "Complete")
    body = await stats(api)
    q, a = queue(body), agent(body, "agent1")
    assert q["today"]["averageFirstResponseSeconds"] == 25.0  # customer's text -> first agent text
    assert (q["today"]["completed"], q["today"]["averageHandleSeconds"]) == (1, 35.0)
    assert (a["handledToday"], a["averageHandleSeconds"], a["sessions"]) == (1, 35.0, 0)
    assert q["agentsReady"] == 1 and q["today"]["abandoned"] == 0


async def test_service_level_and_abandoned(api: Api) -> None:
    await api.text("first", customer=CUST2)
    api.clock.advance(61)  # beyond service_level_s (60)
    await ready(api, "agent1")
    sid = await offered_session(api)
    await op(api, sid, "Accept")
    await api.text("second")
    api.clock.advance(3)
    await api.text("STOP")  # opted out while waiting: abandoned
    q = queue(await stats(api))
    assert (q["today"]["offered"], q["today"]["accepted"], q["today"]["abandoned"]) == (2, 1, 1)
    assert q["today"]["serviceLevel"] == 0.0  # accepted late, the other abandoned
    assert q["waiting"] == 0


async def test_windows_move_with_the_clock_and_the_day(api: Api) -> None:
    await api.text("Hello")
    api.clock.advance(16 * 60)
    q = queue(await stats(api))
    assert q["today"]["offered"] == 1 and q["last15Minutes"]["offered"] == 0
    api.clock.advance(2 * 24 * 3600)
    q = queue(await stats(api))
    assert q["today"]["offered"] == 0 and q["waiting"] == 1  # still waiting, offered the day before


async def test_an_agent_sees_only_their_own_figures(api: Api) -> None:
    await api.text("Hello")
    body = await stats(api, user="agent2")
    assert body["queues"] == [] and [a["userName"] for a in body["agents"]] == ["agent2"]
    api.client.cookies.clear()  # the session cookie of the calls above
    assert (await api.client.get("/api/v2/statistics")).status_code == 401


async def test_a_supervisor_may_subscribe_an_agent_may_not(api: Api) -> None:
    from smsdesk.domain.users import Principal, Role
    from smsdesk.notify.channels import may_receive, subscribe_refusal

    sup = Principal("s", "s", frozenset({Role.SUPERVISOR}))
    ag = Principal("a", "a", frozenset({Role.AGENT}))
    assert subscribe_refusal(sup, "/v2/statistics") is None
    assert subscribe_refusal(ag, "/v2/statistics") == "403:/v2/statistics:subscribe_denied"
    assert not may_receive(ag, "/v2/statistics") and may_receive(sup, "/v2/statistics")


def apply(view: dict[str, Any] | None, message: dict[str, Any]) -> dict[str, Any]:
    """What a client holds after a ``/v2/statistics`` message: entries replaced by name / id."""
    queues = {} if view is None or message["complete"] else {q["name"]: q for q in view["queues"]}
    agents = {} if view is None or message["complete"] else {a["id"]: a for a in view["agents"]}
    queues.update({q["name"]: q for q in message["queues"]})
    agents.update({a["id"]: a for a in message["agents"]})
    for name in message["removedQueues"]:
        queues.pop(name, None)
    for agent_id in message["removedAgents"]:
        agents.pop(agent_id, None)
    return {
        "queues": [queues[k] for k in sorted(queues)],
        "agents": sorted(agents.values(), key=lambda a: a["userName"]),
    }


async def pushed(api: Api) -> list[dict[str, Any]]:
    """What a supervisor's client subscribed to ``/v2/statistics`` receives: the ``@supervisors`` events."""
    events = await api.rt.store.read_events([SUPERVISORS], 0, 10_000)
    return [dict(e.data) for e in events if e.channel == "/v2/statistics"]


def held(messages: list[dict[str, Any]]) -> dict[str, Any]:
    view: dict[str, Any] | None = None
    for m in messages:
        view = apply(view, m)
    assert view is not None
    return view


def figures(body: dict[str, Any]) -> dict[str, Any]:
    return {"queues": body["queues"], "agents": body["agents"]}


async def test_pushed_changes_add_up_to_get_once_quiet(api: Api) -> None:
    pub: StatisticsPublisher = api.app.state.statistics_publisher
    assert not await pub.run_once()  # nobody watches: nothing is written
    assert await pushed(api) == []
    pub.watching = lambda: True  # a supervisor's client subscribes here
    assert await pub.run_once()  # the first one: complete
    assert not await pub.run_once()  # nothing changed (its own event is no change)
    assert (await pushed(api))[0]["complete"] is True
    await ready(api, "agent1")
    await api.text("Hello")
    sid = await offered_session(api)
    await op(api, sid, "Accept")
    assert await pub.run_once()
    delta = (await pushed(api))[-1]
    assert delta["complete"] is False and [a["userName"] for a in delta["agents"]] == ["agent1"]
    await op(api, sid, "SendMessage", text="Hi")
    api.clock.advance(1)
    await op(api, sid, "Complete")
    await pub.run_once()
    assert not await pub.run_once()
    messages = await pushed(api)
    assert held(messages) == figures(await stats(api))
    assert [m["asOf"] for m in messages] == sorted(m["asOf"] for m in messages)


async def test_one_publisher_for_all_nodes_and_get_anywhere(tmp_path: Path, clock: FakeClock) -> None:
    """Two worker processes of a node (their hint bus shared): one holds the lease and pushes; the other
    answers GET from the store with the same figures, and its supervisors' clients get the same events."""
    workers = tmp_path / "workers"
    workers.mkdir()
    async with (
        node(tmp_path, clock, Worker(workers, "w1")) as a,
        node(tmp_path, clock, Worker(workers, "w2")) as b,
    ):
        pa: StatisticsPublisher = a.app.state.statistics_publisher
        pb: StatisticsPublisher = b.app.state.statistics_publisher
        pb.watching = lambda: True  # the supervisor's client is on b; a holds the lease and publishes
        assert not await pa.run_once()  # b has not said so yet
        assert not await pb.run_once()  # b says so; the lease is a's
        assert await pa.run_once()
        await ready(b, "agent2")
        await b.text("Hello from b")
        await b.route()
        r = await b.get("/api/v2/me/smssessions", user="agent2")
        sid = r.json()["uris"][0].rsplit("/", 1)[1]
        await op(b, sid, "Accept", user="agent2")
        await pa.run_once()
        assert not await pa.run_once()
        messages = await pushed(b)
        assert held(messages) == figures(await stats(b, "supervisor2")) == figures(await stats(a))
        assert agent(held(messages), "agent2")["sessions"] == 1


def test_only_a_supervisors_subscription_counts_as_watching() -> None:
    from dataclasses import dataclass

    from smsdesk.notify.channels import any_supervisor_watches

    @dataclass
    class Client:
        supervisor: bool
        subscriptions: frozenset[str]

    agent_wildcard = Client(False, frozenset({"/**"}))
    sup_sessions = Client(True, frozenset({"/v2/me/smssessions"}))
    assert not any_supervisor_watches([agent_wildcard, sup_sessions], "/v2/statistics")
    assert any_supervisor_watches([sup_sessions, Client(True, frozenset({"/v2/*"}))], "/v2/statistics")
    assert any_supervisor_watches([Client(True, frozenset({"/v2/statistics"}))], "/v2/statistics")


def test_the_settings_of_the_statistics() -> None:
    import pytest

    from smsdesk.config import ConfigError, load_settings

    s = load_settings(environ={"SMSDESK_TIME_ZONE": "Europe/Paris", "SMSDESK_SERVICE_LEVEL_S": "30"})
    assert (s.time_zone, s.service_level_s, s.statistics_interval_s) == ("Europe/Paris", 30, 1.0)
    for bad in ({"SMSDESK_TIME_ZONE": "Mars/Olympus"}, {"SMSDESK_STATISTICS_INTERVAL_S": "0.5"}):
        with pytest.raises(ConfigError):
            load_settings(environ=bad)

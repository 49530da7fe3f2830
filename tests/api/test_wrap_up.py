"""Wrap-up through the HTTP API: after Complete the agent's channel is NotReady with workMode AfterCallWork
for ``wrap_up_s`` (no offers meanwhile), the disposition stays editable, the timer runs on the injected clock,
and a required disposition keeps the agent wrapping up (docs/ui.md)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from smsdesk.actions.wrapup import end_due_wrap_ups
from smsdesk.clock import FakeClock
from tests.api.conftest import Api, make_api
from tests.api.test_operations_kit import Desk


async def channel_state(api: Api, user: str = "agent1") -> dict[str, Any]:
    state: dict[str, Any] = (await api.get("/api/v2/me/channels", user=user)).json()["channels"][0][
        "userState"
    ]
    return state


@pytest.fixture
async def wrap_api(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Api]:
    async for a in make_api(tmp_path, clock, wrap_up_s=30):
        yield a


@pytest.fixture
async def strict_api(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Api]:
    async for a in make_api(tmp_path, clock, wrap_up_s=30, wrap_up_requires_disposition=True):
        yield a


async def test_complete_starts_wrap_up_without_offers_until_the_timer_ends_it(wrap_api: Api) -> None:
    api = wrap_api
    d = await Desk.start(api)
    await d.op("agent1", "Complete")
    state = await channel_state(api)
    assert (state["state"], state["workMode"]) == ("NotReady", "AfterCallWork")
    assert state["wrapUp"]["smssessionId"] == d.sid
    assert state["wrapUp"]["endsSeconds"] == api.clock.now_ms() + 30_000

    await api.text("Another question", customer="+15551239999")
    await api.route()
    assert (await api.get("/api/v2/me/smssessions", user="agent1")).json()["uris"] == []  # no offer

    # the disposition can still be set on the completed session during wrap-up
    await d.op("agent1", "SetDisposition", disposition="Resolved")
    rec = await api.rt.store.get_session(d.sid)
    assert rec is not None and rec.data["userData"]["DispositionCode"] == "Resolved"

    api.clock.advance(29)
    assert await end_due_wrap_ups(api.rt) == 0
    api.clock.advance(1)
    await api.route()  # the router loop ends due wrap-ups
    assert (await channel_state(api))["state"] == "Ready"
    await api.route()
    assert len((await api.get("/api/v2/me/smssessions", user="agent1")).json()["uris"]) == 1  # offered now
    audit = [e for e in await api.rt.store.list_audit() if e.action == "WrapUpEnded"]
    assert [(e.details["wrapUpMs"], e.details["endedBy"]) for e in audit] == [(30_000, "timer")]


async def test_the_agent_ends_wrap_up_early_by_choosing_a_state(wrap_api: Api) -> None:
    d = await Desk.start(wrap_api)
    await d.op("agent1", "Complete")
    wrap_api.clock.advance(5)
    await d.ready("agent1")
    assert "workMode" not in await channel_state(wrap_api)
    audit = [e for e in await wrap_api.rt.store.list_audit() if e.action == "WrapUpEnded"]
    assert [(e.details["wrapUpMs"], e.details["endedBy"]) for e in audit] == [(5000, "agent")]


async def test_disposition_after_complete_is_refused_without_wrap_up(api: Api) -> None:
    d = await Desk.start(api)
    await d.op("agent1", "Complete")
    assert (await channel_state(api))["state"] == "Ready"  # wrap_up_s = 0: no wrap-up
    await d.op("agent1", "SetDisposition", expect=2, disposition="Resolved")


async def test_a_required_disposition_holds_the_agent_in_wrap_up(strict_api: Api) -> None:
    api = strict_api
    d = await Desk.start(api)
    await d.op("agent1", "Complete")
    r = await api.post("/api/v2/me/channels/sms", {"operationName": "Ready"})
    assert r.json()["statusCode"] == 2 and "disposition" in r.json()["statusMessage"]
    api.clock.advance(60)
    await api.route()
    assert (await channel_state(api))["workMode"] == "AfterCallWork"  # the timer waits for it too
    await d.op("agent1", "SetDisposition", disposition="Resolved")
    api.clock.advance(1)  # the router loop looks once a tick
    await api.route()
    assert (await channel_state(api))["state"] == "Ready"


async def test_a_supervisor_may_end_a_wrap_up_without_the_disposition(strict_api: Api) -> None:
    api = strict_api
    d = await Desk.start(api)
    await d.op("agent1", "Complete")
    agent_id = await api.user_id("agent1")
    r = await api.post(
        f"/api/v2/users/{agent_id}/channels/sms", {"operationName": "Ready"}, user="supervisor1"
    )
    assert r.json() == {"statusCode": 0}
    assert (await channel_state(api))["state"] == "Ready"
    audit = [e for e in await api.rt.store.list_audit() if e.action == "WrapUpEnded"]
    assert [e.details["endedBy"] for e in audit] == ["supervisor"]


async def handle_figures(api: Api) -> tuple[float | None, float | None, float | None]:
    """The average handle seconds of agent1 and of the default queue in the statistics, and agent1's in
    agent report of the (fake clock's) day."""
    body = (await api.get("/api/v2/statistics", user="supervisor1")).json()
    mine = next(a for a in body["agents"] if a["userName"] == "agent1")
    default = next(q for q in body["queues"] if q["name"] == "default")
    assert (mine["handledToday"], default["today"]["completed"]) == (1, 1)
    report = (
        await api.get("/api/v2/reports/agents?from=2023-11-14&to=2023-11-14", user="supervisor1")
    ).json()
    row = next(r for r in report["rows"] if r["userName"] == "agent1")
    assert row["handled"] == 1
    return mine["averageHandleSeconds"], default["today"]["averageHandleSeconds"], row["averageHandleSeconds"]


async def test_wrap_up_time_counts_in_handle_time(wrap_api: Api) -> None:
    api = wrap_api
    d = await Desk.start(api)
    api.clock.advance(40)
    await d.op("agent1", "Complete")
    assert await handle_figures(api) == (40.0, 40.0, 40.0)  # talk time only while wrapping up
    api.clock.advance(30)
    await api.route()  # the timer ends the wrap-up
    assert (await channel_state(api))["state"] == "Ready"
    assert await handle_figures(api) == (70.0, 70.0, 70.0)


async def test_a_wrap_up_ended_early_counts_what_it_lasted(wrap_api: Api) -> None:
    api = wrap_api
    d = await Desk.start(api)
    api.clock.advance(40)
    await d.op("agent1", "Complete")
    api.clock.advance(7)
    await d.ready("agent1")
    assert await handle_figures(api) == (47.0, 47.0, 47.0)


async def test_logging_out_during_wrap_up_ends_it_and_counts_it(wrap_api: Api) -> None:
    api = wrap_api
    d = await Desk.start(api)
    api.clock.advance(10)
    await d.op("agent1", "Complete")
    api.clock.advance(12)
    r = await api.post("/api/v2/me", {"operationName": "EndContactCenterSession"})
    assert r.json()["statusCode"] == 0, r.text
    audit = [e for e in await api.rt.store.list_audit() if e.action == "WrapUpEnded"]
    assert [(e.details["wrapUpMs"], e.details["endedBy"]) for e in audit] == [(12_000, "logout")]
    api.clock.advance(60)
    await api.route()  # nothing left for the timer to end: counted once
    assert await handle_figures(api) == (22.0, 22.0, 22.0)

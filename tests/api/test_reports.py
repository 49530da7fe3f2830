"""Reports: ``GET /api/v2/reports/{queues|agents}`` and ``smsdesk report`` give the statistics' figures over
closed periods; a day's report equals the statistics at that day's end."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from smsdesk.cli.main import main
from smsdesk.clock import FakeClock
from tests.api.conftest import Api, basic, make_api
from tests.api.test_session_flow import offered_session, ready
from tests.api.test_statistics import agent, op, queue, stats

# FakeClock starts at 2023-11-14 22:13:20 UTC: 23:13:20 in Paris, 46 min 40 s before the day ends there
DAY = "2023-11-14"
DAY_END_MS = 1_700_002_800_000  # 2023-11-15 00:00 Europe/Paris


@pytest.fixture
async def paris(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Api]:
    async for a in make_api(
        tmp_path, clock, time_zone="Europe/Paris", number_queues={"+15550000001": "sales"}
    ):
        yield a


async def a_day_of_work(api: Api) -> None:
    await ready(api, "agent1")
    await api.text("Hello")
    api.clock.advance(20)
    sid = await offered_session(api)
    await op(api, sid, "Accept")
    api.clock.advance(30)
    await op(api, sid, "SendMessage", text="How can I help?")
    api.clock.advance(600)
    await op(api, sid, "Complete")
    r = await api.post("/api/v2/me/channels/sms", {"operationName": "NotReady"}, user="agent1")
    assert r.json()["statusCode"] == 0
    await api.text("anyone?", customer="+15551230002", business="+15550000001")
    api.clock.advance(90)
    await api.text("STOP", customer="+15551230002", business="+15550000001")  # abandoned, in sales
    await api.text("late", customer="+15551230003")  # waits past midnight: offered today, not accepted


async def cli(*argv: str) -> int:
    """``smsdesk ...`` (it runs its own event loop: in a thread)."""
    return await asyncio.to_thread(main, list(argv))


async def report(api: Api, kind: str, query: str, **kw: Any) -> dict[str, Any]:
    r = await api.get(f"/api/v2/reports/{kind}?{query}", user="supervisor1", **kw)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_a_days_report_equals_the_statistics_at_the_days_end(paris: Api) -> None:
    api = paris
    await a_day_of_work(api)
    api.clock.advance((DAY_END_MS - 1 - api.clock.now_ms()) / 1000)
    at_end = await stats(api)
    api.clock.advance(3600)  # the next day: the day is closed
    await ready(api, "agent2")
    sid = await offered_session(api, "agent2")  # the late one: accepted the next day
    await op(api, sid, "Accept", user="agent2")

    queues = await report(api, "queues", f"from={DAY}&to={DAY}")
    assert queues["by"] == "queue" and queues["from"].startswith(DAY)
    rows = {r["queue"]: {k: v for k, v in r.items() if k != "queue"} for r in queues["rows"]}
    assert rows == {name: queue(at_end, name)["today"] for name in rows}
    assert rows["default"]["completed"] == 1 and rows["sales"]["abandoned"] == 1
    assert rows["default"]["offered"] == 2 and rows["default"]["accepted"] == 1

    agents = await report(api, "agents", f"from={DAY}&to={DAY}")
    assert [(a["userName"], a["handled"], a["averageHandleSeconds"]) for a in agents["rows"]] == [
        ("agent1", agent(at_end, "agent1")["handledToday"], agent(at_end, "agent1")["averageHandleSeconds"])
    ]
    by_hour = await report(api, "queues", f"from={DAY}&to={DAY}&by=hour")
    assert {r["period"] for r in by_hour["rows"]} == {"2023-11-14T23:00:00+01:00"}
    assert sum(r["offered"] for r in by_hour["rows"]) == 3
    next_day = await report(api, "queues", "from=2023-11-15&to=2023-11-15&by=day")
    assert [(r["period"], r["queue"], r["accepted"]) for r in next_day["rows"]] == [
        ("2023-11-15T00:00:00+01:00", "default", 1)
    ]


async def test_csv_when_asked_and_the_command_line_agrees(
    paris: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    api = paris
    await a_day_of_work(api)
    headers = {**basic("admin"), "Accept": "text/csv"}
    r = await api.client.get(f"/api/v2/reports/queues?from={DAY}&to={DAY}", headers=headers)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["queue"] for row in table] == ["default", "sales"]
    assert table[1]["abandoned"] == "1" and table[1]["averageWaitSeconds"] == ""

    monkeypatch.setenv("SMSDESK_TIME_ZONE", "Europe/Paris")
    db = f"sqlite:///{tmp_path / 'api.db'}"
    assert await cli("report", "--database", db, "--from", DAY, "--to", DAY, "--format", "json") == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == await report(api, "queues", f"from={DAY}&to={DAY}")
    assert await cli("report", "--database", db, "--from", DAY, "--to", DAY, "--by", "agent") == 0
    assert capsys.readouterr().out.splitlines()[0] == "id,userName,handled,averageHandleSeconds"
    assert await cli("report", "--database", db, "--from", DAY, "--to", "2023-11-01") == 2


async def test_who_and_what_may_be_asked(paris: Api) -> None:
    r = await paris.get(f"/api/v2/reports/queues?from={DAY}&to={DAY}", user="agent1")
    assert r.status_code == 403 and r.json()["statusCode"] != 0
    for query, status in (
        (f"from={DAY}", 400),
        (f"from={DAY}&to={DAY}&by=agent", 400),
        ("from=2023-11-14&to=2025-01-01", 400),
        ("from=nope&to=2023-11-14", 400),
    ):
        r = await paris.get(f"/api/v2/reports/queues?{query}", user="supervisor1")
        assert r.status_code == status and r.json()["statusCode"] != 0, query
    r = await paris.get(f"/api/v2/reports/calls?from={DAY}&to={DAY}", user="supervisor1")
    assert r.status_code == 404

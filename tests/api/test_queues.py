"""``GET /api/v2/queues``: the configured queues (transfer targets of the desktop), for signed-in users only."""

from __future__ import annotations

from pathlib import Path

from smsdesk.clock import FakeClock
from tests.api.conftest import Api, make_api


async def test_the_default_queue_and_the_mapped_ones_each_once(tmp_path: Path, clock: FakeClock) -> None:
    mapping = {"+15550000001": "billing", "+15550000002": "sales", "+15550000003": "billing"}
    async for api in make_api(tmp_path, clock, default_queue="general", number_queues=mapping):
        body = (await api.get("/api/v2/queues")).json()
        assert body["statusCode"] == 0
        assert [q["name"] for q in body["queues"]] == ["general", "billing", "sales"]
        assert body["queues"][1]["path"] == "/queues/billing"
        assert body["queues"][1]["uri"].endswith("/api/v2/queues/billing")


async def test_queues_need_credentials(api: Api) -> None:
    r = await api.client.get("/api/v2/queues")
    assert r.status_code == 401 and r.json()["statusCode"] != 0

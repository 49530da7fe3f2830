"""Overload: at most ``inbound_backlog`` inbound SMS are being stored at once per process; beyond that a webhook
gets HTTP 503 + ``Retry-After`` (statusCode 4) at once, nothing accepted is lost, and the bound frees itself."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from smsdesk.clock import FakeClock
from tests.api.conftest import Api, make_api

BUSINESS = "+15550000000"


@pytest.fixture
async def api2(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Api]:
    async for a in make_api(tmp_path, clock, inbound_backlog=2):
        yield a


async def _burst(api: Api, n: int, offset: int = 0) -> list[tuple[str, httpx.Response]]:
    async def one(i: int) -> tuple[str, httpx.Response]:
        customer = f"+1555400{i:04d}"
        body = {"from": customer, "to": BUSINESS, "text": f"burst {i}", "messageId": f"b{i}"}
        return customer, await api.client.post("/sms/simulator/inbound", json=body)

    return await asyncio.gather(*(one(offset + i) for i in range(n)))


async def _stored(api: Api, customer: str) -> bool:
    return await api.rt.store.latest_session(customer, BUSINESS) is not None


async def test_a_burst_beyond_the_backlog_gets_503_retry_after_and_loses_nothing_accepted(api2: Api) -> None:
    results = await _burst(api2, 12)
    accepted = [c for c, r in results if r.status_code == 200]
    refused = [(c, r) for c, r in results if r.status_code != 200]
    assert len(accepted) >= 2
    assert refused, "12 at once with a backlog of 2: some must be refused"
    for _, r in refused:
        assert r.status_code == 503
        assert r.json()["statusCode"] == 4
        assert "retry" in r.json()["statusMessage"].lower()
        assert int(r.headers["Retry-After"]) >= 1
    for c in accepted:
        assert await _stored(api2, c)
    for c, _ in refused:
        assert not await _stored(api2, c)  # refused means nothing was written
    assert api2.rt.inbound_in_flight == 0  # the bound frees itself
    # the provider retries what was refused, a few at a time: all accepted
    for c, _ in refused:
        i = int(c[-4:])
        body = {"from": c, "to": BUSINESS, "text": f"burst {i}", "messageId": f"b{i}"}
        r = await api2.client.post("/sms/simulator/inbound", json=body)
        assert r.status_code == 200, r.text
        assert await _stored(api2, c)


async def test_within_the_backlog_nothing_is_refused(api: Api) -> None:
    results = await _burst(api, 12, offset=100)  # the default backlog (500)
    assert [r.status_code for _, r in results] == [200] * 12

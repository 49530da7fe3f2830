"""``GET /metrics``: Prometheus text with the counters and the store's figures, and who may read it."""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from asgi_lifespan import LifespanManager

from smsdesk.app import build_app
from smsdesk.clock import FakeClock
from smsdesk.config import Settings
from smsdesk.sms.config import SmsSettings
from tests.api.conftest import Api
from tests.api.test_session_flow import offered_session, ready
from tests.api.test_statistics import op


def value(text: str, name: str, **labels: str) -> float:
    """The sample ``name{labels}`` of an exposition (labels matched as a subset), 0 when absent."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = re.match(r"^([a-zA-Z_:][\w:]*)(\{(.*)\})? (\S+)$", line)
        if not m or m.group(1) != name:
            continue
        have = dict(re.findall(r'(\w+)="([^"]*)"', m.group(3) or ""))
        if all(have.get(k) == v for k, v in labels.items()):
            total += float(m.group(4))
    return total


async def scrape(client: httpx.AsyncClient, **kw: Any) -> str:
    r = await client.get("/metrics", **kw)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return r.text


async def test_the_demo_shows_counters_and_the_stores_figures(api: Api) -> None:
    before = await scrape(api.client)
    await api.text("Hello")
    api.clock.advance(7)
    now = await scrape(api.client)
    assert value(now, "smsdesk_queue_waiting", queue="default") == 1
    assert value(now, "smsdesk_queue_longest_wait_seconds", queue="default") == 7
    assert value(now, "smsdesk_sessions", phase="queued") == 1
    inbound = {"provider": "simulator", "status": "received"}
    assert (
        value(now, "smsdesk_sms_inbound_total", **inbound)
        == value(before, "smsdesk_sms_inbound_total", **inbound) + 1
    )
    await ready(api, "agent1")
    offers = value(now, "smsdesk_offers_total")
    sid = await offered_session(api)
    await op(api, sid, "Accept")
    await op(api, sid, "SendMessage", text="hi")
    after = await scrape(api.client)
    assert value(after, "smsdesk_offers_total") == offers + 1
    assert value(after, "smsdesk_accepts_total") >= value(now, "smsdesk_accepts_total") + 1
    assert value(after, "smsdesk_agents", state="Ready") == 1
    assert value(after, "smsdesk_sessions", phase="active") == 1
    assert value(after, "smsdesk_outbox_backlog") == 1  # the reply, not sent yet (no outbox pass)
    route = "/api/v2/me/smssessions/{session_id}"
    assert value(after, "smsdesk_http_request_duration_seconds_count", route=route, method="POST") >= 2
    assert value(after, "smsdesk_store_commit_seconds_count") > value(
        now, "smsdesk_store_commit_seconds_count"
    )
    await api.send_outbox()
    sent = await scrape(api.client)
    assert value(sent, "smsdesk_outbox_backlog") == 0
    assert value(sent, "smsdesk_sms_outbound_total", provider="simulator", status="sent") >= 1
    assert "smsdesk_notification_lag_seconds_bucket" in sent and "smsdesk_cometd_clients" in sent


async def test_offers_not_answered_count_as_rona(api: Api) -> None:
    await ready(api, "agent1")
    await api.text("Hello")
    await offered_session(api)
    before = value(await scrape(api.client), "smsdesk_offer_timeouts_total")
    api.clock.advance(31)  # offer_timeout_s is 30
    await api.route()
    assert value(await scrape(api.client), "smsdesk_offer_timeouts_total") == before + 1


async def served(tmp_path: Path, clock: FakeClock, **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    s = Settings(database_url=f"sqlite:///{tmp_path / 'm.db'}", **settings)
    app = build_app(s, clock=clock, fast_hash=True, sms=SmsSettings(), background=False)  # `serve`
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def test_serve_needs_the_token_or_hides_metrics(tmp_path: Path, clock: FakeClock) -> None:
    async for client in served(tmp_path, clock):
        assert (await client.get("/metrics")).status_code == 404
    async for client in served(tmp_path, clock, metrics_token="s3cret"):
        assert (await client.get("/metrics")).status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert (await client.get("/metrics", headers=wrong)).status_code == 401
        basic = {"Authorization": "Basic YWRtaW46cGFzc3dvcmQ="}
        assert (await client.get("/metrics", headers=basic)).status_code == 401
        text = await scrape(client, headers={"Authorization": "Bearer s3cret"})
        assert "smsdesk_queue_waiting" in text


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def test_metrics_port_serves_them_apart(tmp_path: Path, clock: FakeClock) -> None:
    port = free_port()
    async for client in served(tmp_path, clock, metrics_port=port):
        assert (await client.get("/metrics")).status_code == 404  # not on the main port
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as direct:
            text = await scrape(direct)
        assert 'smsdesk_queue_waiting{queue="default"} 0.0' in text

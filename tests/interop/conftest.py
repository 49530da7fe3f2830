"""Interop fixtures: a tiny app with the notification hub on fakes, served by a real uvicorn."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from smsdesk.clock import SystemClock
from smsdesk.notify.fakes import MemoryEventSource
from smsdesk.notify.hub import NotificationHub
from smsdesk.notify.settings import NotifySettings
from tests.notify.helpers import make_app, make_hub, serve

# Short timings so that expiry and re-handshake happen within seconds.
INTEROP_SETTINGS = NotifySettings(
    timeout_ms=1_000, max_interval_ms=1_500, heartbeat_ms=5_000, sweep_interval_ms=200, poll_interval_ms=1_000
)


@dataclass
class SmsdeskServer:
    url: str
    hub: NotificationHub

    async def commit(self, user_id: str, channel: str, data: dict[str, object]) -> None:
        assert isinstance(self.hub.source, MemoryEventSource)
        event = self.hub.source.append(user_id, channel, data)
        await self.hub.notify_committed(event.id, [user_id])


@pytest.fixture
async def smsdesk_server() -> AsyncIterator[SmsdeskServer]:
    hub = make_hub(SystemClock(), INTEROP_SETTINGS)
    async with serve(make_app(hub)) as base:
        yield SmsdeskServer(base + "/api/v2/notifications", hub)

"""Fixtures of the end-to-end tests through the loopback fake of Twilio (tests/sms/e2e_harness.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.sms.e2e_harness import Desk, FakeTwilio, Twilio, running_desk, serving


@pytest.fixture
async def twilio() -> AsyncIterator[Twilio]:
    fake = FakeTwilio()
    async with serving(fake.app) as url:
        yield Twilio(fake, url)


@pytest.fixture
async def desk(tmp_path: Path, twilio: Twilio) -> AsyncIterator[Desk]:
    async with running_desk(tmp_path / "desk.db", twilio.settings) as d:
        yield d

"""Fixtures of the browser tests: a chromium browser (Playwright, Debian's binary) and a real server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.harness import (
    CHROMIUM_ARGS,
    RunningServer,
    require_chromium,
    require_web_deps,
    running_server,
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = require_chromium()
    require_web_deps()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("server") / "smsdesk.db") as srv:
        yield srv

"""The supervisor console with a large team: it reads the current sessions of the agents whose rows are on
screen only (one request each), then of the rows scrolled into view, so a thousand-agent team does not cost
a thousand requests per refresh."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.browser.harness import PASSWORD, ConsoleLog, start_server

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]

TEAM = 60
DETAIL = re.compile(r"/api/v2/users/([^/?]+)\?subresources=")


async def add_agents(database: Path, count: int) -> None:
    from smsdesk.actions.users import do_create_user
    from smsdesk.app import build_runtime
    from smsdesk.config import Settings
    from smsdesk.domain.users import Role
    from smsdesk.store.migrate import migrate

    rt = build_runtime(Settings(database_url=f"sqlite:///{database}"), fast_hash=True)
    try:
        await migrate(rt.store)
        for i in range(count):
            await do_create_user(rt, f"team{i:03d}", PASSWORD, [Role.AGENT], nickname=f"Team {i:03d}")
    finally:
        await rt.store.close()


def test_sessions_are_read_for_the_rows_on_screen(browser: Any, tmp_path: Path) -> None:
    database = tmp_path / "team.db"
    with ThreadPoolExecutor(1) as pool:  # Playwright's sync API owns this thread's event loop
        pool.submit(asyncio.run, add_agents(database, TEAM)).result()
    server = start_server(database)
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 700})
        log = ConsoleLog()
        log.watch(page, "supervisor")
        read: list[str] = []
        page.on("request", lambda r: (m := DETAIL.search(r.url)) and read.append(m.group(1)))
        page.goto(server.url + "/supervisor")
        page.fill("#login-user", "supervisor1")
        page.fill("#login-password", PASSWORD)
        page.press("#login-password", "Enter")
        page.wait_for_selector("#connection[data-kind='ok']", timeout=15_000)
        rows = page.locator("#team-table tbody tr")
        page.wait_for_function(f"document.querySelectorAll('#team-table tbody tr').length >= {TEAM}")
        page.wait_for_selector("#team-table tbody tr .agent-sessions .muted >> text=none")  # one row was read
        page.wait_for_timeout(500)
        first_screen = set(read)
        order = page.evaluate(
            "[...document.querySelectorAll('#team-table tbody tr')].map((r) => r.dataset.agentId)"
        )
        # the rows read are the top ones (the first screen; rows grow once read, so a few may have left it)
        assert 0 < len(first_screen) < TEAM / 3, len(first_screen)
        assert max(order.index(agent_id) for agent_id in first_screen) < TEAM / 3
        last = rows.nth(rows.count() - 1)
        last_id = last.get_attribute("data-agent-id")
        assert last_id not in first_screen
        last.scroll_into_view_if_needed()
        page.wait_for_function(
            f"document.querySelector('tr[data-agent-id=\"{last_id}\"] .agent-sessions').textContent === 'none'"
        )
        assert last_id in read
        assert log.errors == [], "\n".join(log.errors)
        page.close()
    finally:
        server.stop()

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


def test_the_console_shows_skills_and_not_ready_reasons(browser: Any, tmp_path: Path) -> None:
    """docs/routing.md: the team view shows each agent's skills and why they are NotReady."""
    import httpx

    database = tmp_path / "skills.db"
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, add_agents(database, 1)).result()
    server = start_server(database)
    try:
        admin = httpx.Client(base_url=server.url, auth=("admin", PASSWORD))
        sup = httpx.Client(base_url=server.url, auth=("supervisor1", PASSWORD))
        users = admin.get("/api/v2/users?fields=*").json()["users"]
        team0 = next(u["id"] for u in users if u["userName"] == "team000")
        for name, level in (("billing", 5), ("spanish", 2)):
            r = admin.post(f"/api/v2/users/{team0}/skills", json={"name": name, "level": level})
            assert r.json() == {"statusCode": 0}
        for body in ({"operationName": "Ready"}, {"operationName": "NotReady", "reason": "Not Responding"}):
            assert sup.post(f"/api/v2/users/{team0}/channels/sms", json=body).json() == {"statusCode": 0}
        page = browser.new_page(viewport={"width": 1280, "height": 700})
        log = ConsoleLog()
        log.watch(page, "supervisor")
        page.goto(server.url + "/supervisor")
        page.fill("#login-user", "supervisor1")
        page.fill("#login-password", PASSWORD)
        page.press("#login-password", "Enter")
        page.wait_for_selector("#connection[data-kind='ok']", timeout=15_000)
        row = f'tr[data-agent-id="{team0}"]'
        page.wait_for_function(
            f"document.querySelector('{row} .agent-skills')?.textContent === 'billing 5 · spanish 2'",
            timeout=15_000,
        )
        state = page.locator(f"{row} .agent-state")
        assert state.text_content() == "Not Ready (Not Responding)"
        assert state.get_attribute("data-reason") == "Not Responding"
        # a change arrives over CometD (/v2/users) and the row follows it
        body = {"operationName": "NotReady", "reason": "No Client Connected"}
        assert sup.post(f"/api/v2/users/{team0}/channels/sms", json=body).json() == {"statusCode": 0}
        page.wait_for_function(
            f"document.querySelector('{row} .agent-state').dataset.reason === 'No Client Connected'",
            timeout=15_000,
        )
        assert log.errors == [], "\n".join(log.errors)
        page.close()
    finally:
        server.stop()

"""The pages in headless chromium, without SMS traffic: login, keyboard use, layout at 1280x800 and on a
narrow screen, the npm ``cometd`` modules loading as plain ES modules, and no console errors."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.browser.harness import (
    PASSWORD,
    ConsoleLog,
    RunningServer,
    missing_server_pieces,
    output_dir,
    start_server,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]

WIDE = {"width": 1280, "height": 800}
NARROW = {"width": 390, "height": 844}


def desktop_backend_ready(server: RunningServer) -> bool:
    """The signed-in desktop needs the CometD endpoint and the SMS sessions list (read on every connect)."""
    return not [m for m in missing_server_pieces(server.app) if "notifications" in m or "smssessions (" in m]


def test_login_pages_render_and_work_by_keyboard(
    browser: Any, server: RunningServer, request: pytest.FixtureRequest
) -> None:
    out = output_dir(request)
    log = ConsoleLog()
    for path, title, shot in (
        ("/", "agent desktop", "agent"),
        ("/supervisor", "supervisor console", "supervisor"),
    ):
        for size, label in ((WIDE, "1280x800"), (NARROW, "narrow")):
            page = browser.new_page(viewport=size)
            log.watch(page, f"{shot}-{label}")
            page.goto(server.url + path)
            page.wait_for_selector("#login:not([hidden])")
            assert title in page.title()
            # keyboard: the user field has focus; Tab reaches the password and the button.
            assert page.evaluate("document.activeElement.id") == "login-user"
            page.keyboard.press("Tab")
            assert page.evaluate("document.activeElement.id") == "login-password"
            page.keyboard.press("Tab")
            assert page.evaluate("document.activeElement.textContent") == "Sign in"
            # nothing wider than the viewport
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            page.screenshot(path=str(out / f"{shot}-login-{label}.png"))
            page.close()
    assert log.errors == [], "\n".join(log.errors)


def test_cometd_client_loads_as_es_modules(browser: Any, server: RunningServer) -> None:
    page = browser.new_page()
    page.goto(server.url + "/static/css/ui.css")
    kind = page.evaluate(
        """async () => {
            const m = await import('/static/vendor/cometd/cometd.js');
            const c = new m.CometD();
            return typeof c.handshake + ':' + typeof m.AckExtension;
        }"""
    )
    assert kind == "function:function"
    page.close()


def test_agent_signs_in_with_basic_then_cookie_only(
    browser: Any, server: RunningServer, request: pytest.FixtureRequest
) -> None:
    out = output_dir(request)
    context = browser.new_context(viewport=WIDE)
    page = context.new_page()
    log = ConsoleLog()
    log.watch(page, "agent")
    page.goto(server.url + "/")
    page.fill("#login-user", "agent1")
    page.fill("#login-password", "wrong")
    page.press("#login-password", "Enter")
    page.wait_for_function("document.querySelector('#login-status').textContent.includes('Wrong')")
    page.fill("#login-password", PASSWORD)
    page.press("#login-password", "Enter")
    page.wait_for_selector("#app:not([hidden])")
    assert page.text_content("#me") == "Alice (agent1)"
    cookies = {c["name"] for c in context.cookies()}
    assert "JSESSIONID" in cookies
    stored = page.evaluate("JSON.stringify(sessionStorage) + JSON.stringify(localStorage)")
    assert PASSWORD not in stored
    # a reload resumes with the cookie alone: no login form
    page.reload()
    page.wait_for_selector("#app:not([hidden])")
    assert page.is_hidden("#login")
    if desktop_backend_ready(server):
        page.wait_for_selector("#connection[data-kind='ok']", timeout=15_000)
        page.wait_for_function("document.querySelector('#state-label').textContent.length > 0")
        page.select_option("#agent-state", "NotReady:Lunch")
        page.wait_for_function("document.querySelector('#state-label').textContent.includes('Lunch')")
        page.screenshot(path=str(out / "agent-desktop-signed-in.png"))
        unexpected = [e for e in log.errors if "401" not in e]  # the wrong password above
        assert unexpected == [], "\n".join(unexpected)
    context.close()


# What a browser logs while the server is down: expected during a restart, an error at any other time.
OUTAGE = ("ERR_CONNECTION_REFUSED", "ERR_CONNECTION_RESET", "ERR_EMPTY_RESPONSE", "WebSocket connection")


async def set_state_offline(database: Path, user_name: str, reason: str) -> None:
    """Change an agent's state in the database while no server runs (as another node would)."""
    from smsdesk.actions.channels import do_set_channel_state
    from smsdesk.app import build_runtime
    from smsdesk.config import Settings

    rt = build_runtime(Settings(database_url=f"sqlite:///{database}"), fast_hash=True)
    try:
        user = await rt.store.get_user_by_name(user_name)
        assert user is not None
        await do_set_channel_state(rt, user.id, user.user_name, "NotReady", reason)
    finally:
        await rt.store.close()


def test_desktop_reconnects_after_server_restart_and_restores_state(
    browser: Any, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    out = output_dir(request)
    first = start_server(tmp_path / "restart.db")
    try:
        missing = missing_server_pieces(first.app)
        if not desktop_backend_ready(first):
            pytest.skip("needs the server's CometD endpoint and SMS sessions REST: " + "; ".join(missing))
        page = browser.new_page(viewport=WIDE)
        log = ConsoleLog()
        log.watch(page, "agent")
        page.goto(first.url + "/")
        page.fill("#login-user", "agent2")
        page.fill("#login-password", PASSWORD)
        page.press("#login-password", "Enter")
        page.wait_for_selector("#connection[data-kind='ok']", timeout=15_000)
        page.wait_for_function("document.querySelector('#state-label').textContent.length > 0")
        page.select_option("#agent-state", "NotReady:Meeting")
        page.wait_for_function("document.querySelector('#state-label').textContent.includes('Meeting')")
    finally:
        first.stop()
    page.wait_for_selector("#connection[data-kind='down']", timeout=20_000)
    page.screenshot(path=str(out / "agent-connection-lost.png"))
    # the state changes while the desktop is away; the desktop must show the server's truth afterwards
    with ThreadPoolExecutor(1) as pool:  # Playwright's sync API owns this thread's event loop
        pool.submit(asyncio.run, set_state_offline(first.database, "agent2", "Training")).result()
    second = start_server(first.database, first.port)
    try:
        page.wait_for_selector("#connection[data-kind='ok']", timeout=30_000)
        page.wait_for_function(
            "document.querySelector('#state-label').textContent.includes('Training')", timeout=15_000
        )
        page.select_option("#agent-state", "Ready")
        page.wait_for_selector("body[data-agent-state='Ready']", timeout=15_000)
        page.screenshot(path=str(out / "agent-reconnected.png"))
        unexpected = [e for e in log.errors if not any(o in e for o in OUTAGE)]
        assert unexpected == [], "\n".join(unexpected)
        page.close()
    finally:
        second.stop()

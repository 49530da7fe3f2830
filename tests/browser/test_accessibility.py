"""Accessibility of every page the product serves (issue 22; docs/ui.md, "Accessibility"), in headless
chromium on a real server: axe-core finds no serious or critical violation, at 1280 and 390 px wide, and Tab
reaches every visible control with no focus trap (``tests/browser/a11y.py``).

The pages are checked in each state a user sees: the agent desktop signed out, idle (ringing not yet
enabled), with the "New conversation" form open, ringing, chatting (actions unfolded, the standard-response
picker open, the customer's previous conversations listed), in wrap-up; the supervisor console's team,
wallboard and transcript search, a monitored and a coached conversation, search results; the customer phone;
the page that says the web UI's npm packages are missing. Every problem of every state is listed in one
failure.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from smsdesk.web.routes import DEFAULT_NODE_MODULES, missing_vendor_page
from tests.browser.a11y import (
    CLICK_WATCH,
    axe_problems,
    keyboard_problems,
    page_problems,
    require_axe,
)
from tests.browser.harness import (
    PASSWORD,
    ConsoleLog,
    RunningServer,
    missing_server_pieces,
    output_dir,
    running_server,
    story_pages,
)
from tests.browser.test_shift import SUSPENDED_AUDIO

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

WIDE = {"width": 1280, "height": 800}
WAIT = 20_000
CUSTOMER = "+15557770011"
RETURNING = "+15557770012"
BUSINESS = "+15550000000"
ADMIN = ("admin", PASSWORD)


@pytest.fixture(scope="module", autouse=True)
def axe_installed() -> None:
    require_axe()


@pytest.fixture(scope="module")
def a11y_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    database = tmp_path_factory.mktemp("a11y") / "smsdesk.db"
    settings = {"wrap_up_s": 600, "offer_timeout_s": 600, "number_queues": {BUSINESS: "default"}}
    with running_server(database, **settings) as srv:
        yield srv


def new_page(browser: Any, log: ConsoleLog, name: str, *, held_audio: bool = False) -> Any:
    """A page in a context of its own; ``held_audio``: audio waits for a click, so the desktop shows its
    "Click to enable ringing" button."""
    context = browser.new_context(viewport=WIDE)
    context.add_init_script(CLICK_WATCH)
    if held_audio:
        context.add_init_script(SUSPENDED_AUDIO)
    page = context.new_page()
    log.watch(page, name)
    return page


def sign_in(page: Any, url: str, user: str) -> None:
    page.goto(url)
    page.fill("#login-user", user)
    page.fill("#login-password", PASSWORD)
    page.press("#login-password", "Enter")
    page.wait_for_selector("#app:not([hidden])", timeout=WAIT)
    page.wait_for_selector("#connection[data-kind='ok']", timeout=WAIT)


def customer_texts(server: RunningServer, text: str, customer: str = CUSTOMER) -> None:
    r = httpx.post(
        f"{server.url}/sms/simulator/inbound",
        json={"from": customer, "to": BUSINESS, "text": text},
        auth=ADMIN,
        timeout=30,
    )
    assert r.status_code == 200, r.text


def session_of(server: RunningServer, user: str, state: str) -> str:
    deadline = time.monotonic() + WAIT / 1000
    while time.monotonic() < deadline:
        r = httpx.get(f"{server.url}/api/v2/me/smssessions?fields=*", auth=(user, PASSWORD), timeout=30)
        for s in r.json()["smssessions"]:
            if s["state"] == state:
                return str(s["id"])
        time.sleep(0.2)
    raise AssertionError(f"{user} has no session {state}")


def agent_does(server: RunningServer, sid: str, body: dict[str, str]) -> None:
    r = httpx.post(
        f"{server.url}/api/v2/me/smssessions/{sid}", json=body, auth=("agent1", PASSWORD), timeout=30
    )
    assert r.status_code == 200, r.text


def settle(page: Any) -> None:
    """Let pending renders land (two animation frames) before a check."""
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")


BROKEN_PAGE = """<!doctype html><html lang="en"><head><title>broken</title></head><body><main>
<h1>Broken on purpose</h1>
<button type="button">Reached</button>
<div id="clickable">Clickable div</div>
<p style="color:#aaa;background:#fff">Faint text</p>
<script>document.getElementById("clickable").addEventListener("click", () => {});</script>
</main></body></html>"""

TRAP_PAGE = """<!doctype html><html lang="en"><head><title>trap</title></head><body><main>
<h1>A focus trap</h1>
<label>Name <input id="trap"></label>
<button type="button">After the trap</button>
<script>document.getElementById("trap").addEventListener("keydown", (e) => {
  if (e.key === "Tab") e.preventDefault(); });</script>
</main></body></html>"""


LOOP_PAGE = """<!doctype html><html lang="en"><head><title>loop</title></head><body><main>
<h1>A focus loop</h1>
<label>First <input id="first"></label>
<button type="button" id="last">Back to the first</button>
<script>document.getElementById("last").addEventListener("keydown", (e) => {
  if (e.key === "Tab") { e.preventDefault(); document.getElementById("first").focus(); } });</script>
</main></body></html>"""


def test_the_checks_find_what_they_look_for(browser: Any) -> None:
    """The checks can fail: a clickable <div>, focus traps and faint text are each reported."""
    log = ConsoleLog()
    page = new_page(browser, log, "broken")
    page.set_content(BROKEN_PAGE)
    found = "\n".join(page_problems(page, "broken"))
    assert "axe color-contrast (serious)" in found and "dequeuniversity.com" in found, found
    assert 'div#clickable "Clickable div"' in found, found
    assert "Reached" not in found, found
    page.set_content(TRAP_PAGE)
    page.focus("#trap")
    found = "\n".join(keyboard_problems(page, "trap"))
    assert "keyboard trap: input#trap keeps the focus" in found, found
    page.set_content(LOOP_PAGE)
    found = "\n".join(keyboard_problems(page, "loop"))
    assert "keyboard trap: the focus goes round ['input#first" in found, found
    page.context.close()


def test_pages_without_data_are_accessible(browser: Any, tmp_path: Path) -> None:
    """The sign-in pages, the customer phone with a text sent and the "not installed" page. A server of its
    own: the phone's text must not ring the agents of the other tests."""
    log = ConsoleLog()
    problems: list[str] = []
    with running_server(tmp_path / "smsdesk.db") as srv:
        for path, label in (("/", "desktop signed out"), ("/supervisor", "console signed out")):
            page = new_page(browser, log, label)
            page.goto(srv.url + path)
            page.wait_for_selector("#login:not([hidden])", timeout=WAIT)
            problems += page_problems(page, label)
            page.context.close()

        phone = new_page(browser, log, "phone")
        phone.goto(srv.url + "/simulator")
        phone.fill("#text", "Hello, is anyone there?")
        phone.press("#text", "Enter")
        phone.wait_for_selector("#thread li.out", timeout=WAIT)
        problems += page_problems(phone, "customer phone")
        phone.context.close()

    missing = new_page(browser, log, "not installed")
    body = bytes(missing_vendor_page(DEFAULT_NODE_MODULES / "cometd").body).decode()
    missing.set_content(body)
    problems += page_problems(missing, "web UI not installed page")
    missing.context.close()

    assert not problems, "\n".join(problems)
    assert log.errors == [], "\n".join(log.errors)


def test_desktop_and_console_through_a_conversation_are_accessible(
    browser: Any, a11y_server: RunningServer, request: pytest.FixtureRequest
) -> None:
    missing = missing_server_pieces(a11y_server.app)
    if missing:
        pytest.skip("the server does not serve the desktop yet: " + "; ".join(missing))
    out = output_dir(request)
    log = ConsoleLog()
    problems: list[str] = []
    with story_pages(out) as pages:
        run_conversation(browser, a11y_server, log, pages, problems)
    assert not problems, "\n".join(problems)
    assert log.errors == [], "\n".join(log.errors)


def run_conversation(
    browser: Any, server: RunningServer, log: ConsoleLog, pages: dict[str, Any], problems: list[str]
) -> None:
    r = httpx.post(
        f"{server.url}/api/v2/responses",
        json={"name": "Parcel delay", "category": "Shipping", "text": "Hi, {agentNickname} here"},
        auth=("supervisor1", PASSWORD),
        timeout=30,
    )
    assert r.status_code == 200, r.text

    # the console: team table, wallboard and the empty transcript search; then it monitors agent1
    sup = pages["sup"] = new_page(browser, log, "console")
    sign_in(sup, server.url + "/supervisor", "supervisor1")
    row = sup.locator("tr[data-agent='agent1']")
    row.wait_for(timeout=WAIT)
    settle(sup)
    problems += page_problems(sup, "console team")
    row.locator("select[name='operation']").select_option("Monitor")
    row.locator("select[name='scope']").select_option("AllChats")
    row.get_by_role("button", name="Start").click()
    sup.wait_for_function(
        "document.querySelector('#monitoring-summary').textContent.includes('Monitor')", timeout=WAIT
    )

    # the desktop: idle, then the "New conversation" form open
    agent = pages["agent"] = new_page(browser, log, "desktop", held_audio=True)
    sign_in(agent, server.url + "/", "agent1")
    agent.wait_for_selector("body[data-agent-state]", timeout=WAIT)
    settle(agent)
    agent.wait_for_selector("#enable-sound:not([hidden])", timeout=WAIT)
    problems += page_problems(agent, "desktop idle")
    agent.get_by_role("button", name="New conversation").click()
    agent.get_by_role("textbox", name="Customer number").wait_for(timeout=WAIT)
    problems += page_problems(agent, "desktop new-conversation form")
    agent.get_by_role("button", name="Cancel").click()
    agent.select_option("#agent-state", "Ready")
    agent.wait_for_selector("body[data-agent-state='Ready']", timeout=WAIT)

    # an offer rings
    customer_texts(server, "Hi, my parcel 4711 never arrived")
    ringing = agent.locator(".pane[data-state='Invited']").first
    ringing.wait_for(timeout=WAIT)
    agent.wait_for_selector("#ring:has-text('Incoming SMS from')", timeout=WAIT)
    settle(agent)
    problems += page_problems(agent, "desktop offer ringing")

    # chatting, with the actions unfolded
    ringing.get_by_role("button", name="Accept").click()
    pane = agent.locator(".pane[data-state='Chatting']").first
    pane.wait_for(timeout=WAIT)
    pane.locator(".msg-customer").first.wait_for(timeout=WAIT)
    pane.get_by_role("textbox", name="Reply").fill("Sorry to hear that, checking now.")
    pane.get_by_role("textbox", name="Reply").press("Enter")
    pane.locator(".msg-mine").first.wait_for(timeout=WAIT)
    for summary in pane.locator("details > summary").all():
        if summary.is_visible():
            summary.click()
    settle(agent)
    problems += page_problems(agent, "desktop chatting")

    # the standard-response picker open (axe only: the walk would close it)
    reply = pane.get_by_role("textbox", name="Reply")
    reply.fill("")
    reply.focus()
    agent.keyboard.press("/")
    pane.get_by_role("combobox", name="Search standard responses").wait_for(timeout=WAIT)
    pane.locator(".response-option").first.wait_for(timeout=WAIT)
    problems += axe_problems(agent, "desktop response picker @1280px")
    agent.keyboard.press("Escape")

    # the console monitors the conversation
    watched = sup.locator(".pane").first
    watched.wait_for(timeout=WAIT)
    watched.locator(".msg").first.wait_for(timeout=WAIT)
    settle(sup)
    problems += page_problems(sup, "console monitoring")
    watched.get_by_role("button", name="Coach").click()
    sup.wait_for_function(
        "document.querySelector('#monitoring-summary').textContent.includes('Coaching')", timeout=WAIT
    )
    watched.get_by_role("textbox", name="Reply").wait_for(timeout=WAIT)
    sup.wait_for_function("!document.querySelector('.pane textarea').disabled", timeout=WAIT)
    problems += page_problems(sup, "console coaching")

    # wrap-up
    pane.get_by_role("button", name="Complete…").click()
    pane.get_by_role("button", name="Yes, complete").click()
    agent.wait_for_selector("#wrapup:not([hidden])", timeout=WAIT)
    agent.wait_for_selector(".pane[data-state='Completed']", timeout=WAIT)
    settle(agent)
    problems += page_problems(agent, "desktop wrap-up")


def test_customer_history_and_transcript_search_are_accessible(
    browser: Any, server: RunningServer, request: pytest.FixtureRequest
) -> None:
    """A customer served over the API comes back: the desktop lists the previous conversation beside the
    new one (opened), and the console's transcript search finds both (one opened)."""
    missing = missing_server_pieces(server.app)
    if missing:
        pytest.skip("the server does not serve the desktop yet: " + "; ".join(missing))
    log = ConsoleLog()
    problems: list[str] = []
    agent = new_page(browser, log, "desktop")
    sup = new_page(browser, log, "console")
    try:
        sign_in(agent, server.url + "/", "agent1")
        agent.select_option("#agent-state", "Ready")
        agent.wait_for_selector("body[data-agent-state='Ready']", timeout=WAIT)
        customer_texts(server, "Where is order 12?", RETURNING)
        sid = session_of(server, "agent1", "Invited")
        agent_does(server, sid, {"operationName": "Accept"})
        agent_does(server, sid, {"operationName": "SetDisposition", "disposition": "Answered"})
        agent_does(server, sid, {"operationName": "Complete"})
        customer_texts(server, "Me again about order 12", RETURNING)
        agent.locator(".pane[data-state='Invited']").first.get_by_role("button", name="Accept").click()
        agent.locator(".pane[data-state='Chatting']").first.wait_for(timeout=WAIT)
        entry = agent.locator("#history .history-entry").first
        entry.wait_for(timeout=WAIT)
        entry.locator("summary").click()
        settle(agent)
        problems += page_problems(agent, "desktop with customer history")

        sign_in(sup, server.url + "/supervisor", "supervisor1")
        sup.fill("#search-customer", RETURNING)
        sup.locator("#search-form").get_by_role("button", name="Search").click()
        sup.locator("#search-results .history-entry").first.wait_for(timeout=WAIT)
        sup.locator("#search-results .history-entry summary").first.click()
        settle(sup)
        problems += page_problems(sup, "console search results")
    except Exception:
        out = output_dir(request)
        for name, page in (("agent", agent), ("sup", sup)):
            page.screenshot(path=str(out / f"failed-{name}.png"), full_page=True)
        raise
    finally:
        agent.context.close()
        sup.context.close()
    assert not problems, "\n".join(problems)
    assert log.errors == [], "\n".join(log.errors)

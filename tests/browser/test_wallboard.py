"""The live wallboard, the customer history and the transcript search in chromium, on a real server with the
demo users (screenshots in ``test-output/browser/<test>/``):

the console's wallboard follows ``/v2/statistics`` (a text arrives: the queue shows it waiting, its wait
ticking; an agent accepts: the team row shows the session) with one statistics read at start and none after
(no polling); the queue filter and sort work; the agent desktop shows the customer's previous conversation
beside the new one, transcript expandable; the console finds any transcript by number and by words.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.browser.harness import PASSWORD, ConsoleLog, RunningServer, output_dir
from tests.browser.test_story import Screens, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

WIDE = {"width": 1400, "height": 900}
WAIT = 20_000
CUSTOMER = "+15557770001"


def rest(server: RunningServer, method: str, path: str, user: str, body: Any = None) -> dict[str, Any]:
    r = httpx.request(method, server.url + path, json=body, auth=(user, PASSWORD), timeout=10)
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def text(server: RunningServer, words: str) -> None:
    r = httpx.post(
        server.url + "/sms/simulator/inbound", json={"from": CUSTOMER, "to": "+15550000000", "text": words}
    )
    assert r.status_code == 200, r.text


def session_of(server: RunningServer, user: str, state: str) -> str:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for s in rest(server, "GET", "/api/v2/me/smssessions?fields=*", user)["smssessions"]:
            if s["state"] == state:
                return str(s["id"])
        time.sleep(0.2)
    raise AssertionError(f"{user} has no session {state}")


def cell(page: Any, selector: str) -> str:
    return str(page.locator(selector).inner_text())


def test_wallboard_history_and_search(
    browser: Any, server: RunningServer, request: pytest.FixtureRequest
) -> None:
    screens = Screens(output_dir(request))
    log = ConsoleLog()
    sup = browser.new_context(viewport=WIDE).new_page()
    log.watch(sup, "supervisor")
    reads: list[str] = []
    sup.on("request", lambda r: "/api/v2/statistics" in r.url and reads.append(r.url))
    sign_in(sup, server.url + "/supervisor", "supervisor1")
    queue = "tr[data-queue='default']"
    sup.wait_for_selector(f"{queue} .q-waiting", timeout=WAIT)
    sup.wait_for_selector("tr[data-wb-agent='agent1'] .a-state[data-state='LoggedOut']", timeout=WAIT)

    # a customer texts: pushed to the wallboard, the longest wait ticking on the page's clock
    text(server, "Where is my parcel 8812?")
    sup.wait_for_function(f"document.querySelector(\"{queue} .q-waiting\").textContent === '1'", timeout=WAIT)
    first = cell(sup, f"{queue} .q-longest")
    sup.wait_for_function(
        f'document.querySelector("{queue} .q-longest").textContent !== {first!r}', timeout=WAIT
    )
    screens.shot(sup, "wallboard-one-waiting")

    # agent1 gets Ready and accepts: the team row and the queue follow
    rest(server, "POST", "/api/v2/me/channels/sms", "agent1", {"operationName": "Ready"})
    sid = session_of(server, "agent1", "Invited")
    rest(server, "POST", f"/api/v2/me/smssessions/{sid}", "agent1", {"operationName": "Accept"})
    rest(
        server,
        "POST",
        f"/api/v2/me/smssessions/{sid}",
        "agent1",
        {"operationName": "SendMessage", "text": "Checking 8812 now"},
    )
    sup.wait_for_function(
        "document.querySelector(\"tr[data-wb-agent='agent1'] .a-sessions\").textContent.startsWith('1 /')",
        timeout=WAIT,
    )
    sup.wait_for_function(
        f"document.querySelector(\"{queue} .q-accepted\").textContent === '1'", timeout=WAIT
    )
    assert cell(sup, f"{queue} .q-waiting") == "0"
    assert cell(sup, f"{queue} .q-busy") == "1"
    screens.shot(sup, "wallboard-agent1-busy")

    # filter and sort by queue
    sup.fill("#wallboard-filter", "nothing-like-it")
    sup.wait_for_function("document.querySelectorAll('#queue-table tbody tr').length === 0")
    sup.fill("#wallboard-filter", "def")
    sup.wait_for_selector(queue)
    sup.select_option("#wallboard-sort", "waiting")
    sup.wait_for_selector(queue)

    rest(
        server,
        "POST",
        f"/api/v2/me/smssessions/{sid}",
        "agent1",
        {"operationName": "SetDisposition", "disposition": "Found it"},
    )
    rest(server, "POST", f"/api/v2/me/smssessions/{sid}", "agent1", {"operationName": "Complete"})
    sup.wait_for_function(
        "document.querySelector(\"tr[data-wb-agent='agent1'] .a-handled\").textContent === '1'", timeout=WAIT
    )
    assert len(reads) == 1, reads  # the one read at start: everything since came as notifications

    # the customer comes back: the agent desktop shows the previous conversation beside the new one
    agent = browser.new_context(viewport=WIDE).new_page()
    log.watch(agent, "agent")
    sign_in(agent, server.url + "/", "agent1")
    text(server, "Me again about 8812")
    agent.wait_for_selector("#history .history-entry", timeout=WAIT)
    entry = agent.locator("#history .history-entry").first
    assert "Found it" in entry.locator(".history-disposition").inner_text()
    assert entry.locator(".history-agent").inner_text() == "agent1"
    entry.locator("summary").click()
    assert "Where is my parcel 8812?" in entry.locator(".history-transcript").inner_text()
    screens.shot(agent, "agent-desktop-history")

    # the console searches transcripts by words, and by number
    sup.fill("#search-words", "parcel 8812")
    sup.click("#search-form button[type=submit]")
    sup.wait_for_selector("#search-results .history-entry", timeout=WAIT)
    found = sup.locator("#search-results .history-entry")
    assert found.count() == 1
    found.first.locator("summary").click()
    assert "Checking 8812 now" in found.first.locator(".history-transcript").inner_text()
    sup.fill("#search-words", "")
    sup.fill("#search-customer", CUSTOMER)
    sup.click("#search-form button[type=submit]")
    sup.wait_for_function(
        "document.querySelectorAll('#search-results .history-entry').length === 2", timeout=WAIT
    )
    screens.shot(sup, "console-transcript-search")
    assert log.errors == [], "\n".join(log.errors)

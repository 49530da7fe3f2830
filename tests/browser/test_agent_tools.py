"""The agent tools in headless chromium (docs/ui.md, "Standard responses", "Contact notes"): a supervisor's
standard response is inserted in agent1's reply box with the keyboard only ("/" at the start, a search, Enter),
filled for the session, edited and sent; the customer receives the edited text. A contact note written beside
the conversation is listed there and never reaches the customer. Screenshots go to
``test-output/browser/test_standard_response_and_note/``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.browser.harness import PASSWORD, ConsoleLog, RunningServer, output_dir, running_server
from tests.browser.test_story import WIDE, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

WAIT = 15_000
CUSTOMER = "+15557770001"
BUSINESS = "+15550000000"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """The business number is ours (mapped to a queue): agents may start conversations from it."""
    database = tmp_path_factory.mktemp("tools") / "smsdesk.db"
    with running_server(database, number_queues={BUSINESS: "default"}) as srv:
        yield srv


def _phone(server: RunningServer, to: str = CUSTOMER) -> list[str]:
    r = httpx.get(f"{server.url}/sms/simulator/outbound", params={"to": to}, auth=("admin", PASSWORD))
    return [m["text"] for m in r.json()["messages"]]


def test_standard_response_and_note(
    browser: Any, server: RunningServer, request: pytest.FixtureRequest
) -> None:
    out = output_dir(request)
    log = ConsoleLog()
    sup = ("supervisor1", PASSWORD)
    for body in (
        {
            "name": "Parcel delay",
            "category": "Shipping",
            "text": "Hi, {agentNickname} here: {customerNumber}",
        },
        {"name": "Goodbye", "category": "Closing", "text": "Thanks for writing to us"},
    ):
        r = httpx.post(f"{server.url}/api/v2/responses", json=body, auth=sup)
        assert r.status_code == 200, r.text

    agent = browser.new_context(viewport=WIDE).new_page()
    log.watch(agent, "agent")
    sign_in(agent, server.url + "/", "agent1")
    agent.select_option("#agent-state", "Ready")
    agent.wait_for_selector("body[data-agent-state='Ready']", timeout=WAIT)
    r = httpx.post(
        f"{server.url}/sms/simulator/inbound",
        json={"from": CUSTOMER, "to": BUSINESS, "text": "Where is my parcel?"},
        auth=("admin", PASSWORD),
    )
    assert r.status_code == 200, r.text
    ringing = agent.locator(".pane[data-state='Invited']").first
    ringing.wait_for(timeout=WAIT)
    ringing.get_by_role("button", name="Accept").click()
    pane = agent.locator(".pane[data-state='Chatting']").first
    pane.wait_for(timeout=WAIT)
    reply = pane.get_by_role("textbox", name="Reply")
    agent.wait_for_function("document.activeElement && document.activeElement.tagName === 'TEXTAREA'")

    # "/" at the start opens the picker; typing searches; Enter inserts the filled text
    agent.keyboard.press("/")
    search = pane.get_by_role("combobox", name="Search standard responses")
    search.wait_for(timeout=WAIT)
    agent.keyboard.type("parcel")
    pane.locator(".response-option", has_text="Parcel delay").wait_for(timeout=WAIT)
    agent.wait_for_function("document.querySelectorAll('.pane .response-option').length === 1", timeout=WAIT)
    agent.screenshot(path=str(out / "01-picker.png"))
    agent.keyboard.press("Enter")
    filled = f"Hi, Alice (agent1) here: {CUSTOMER}"
    agent.wait_for_function(
        "(t) => document.querySelector('.pane textarea').value === t", arg=filled, timeout=WAIT
    )
    assert pane.locator(".response-picker").is_hidden()
    agent.screenshot(path=str(out / "02-inserted.png"))

    # editable before sending: the reply box has the focus, the agent types on and sends
    agent.keyboard.type(". It ships today.")
    agent.keyboard.press("Enter")
    sent = filled + ". It ships today."
    pane.locator(".msg-mine", has_text="It ships today").wait_for(timeout=WAIT)
    assert reply.input_value() == ""

    # a note beside the conversation: listed, never sent
    notes = pane.locator(".contact-notes")
    notes.wait_for(timeout=WAIT)
    notes.get_by_role("textbox", name="New note").fill("Prefers SMS over calls")
    notes.get_by_role("button", name="Add note").click()
    notes.locator(".note", has_text="Prefers SMS over calls").wait_for(timeout=WAIT)
    agent.screenshot(path=str(out / "03-note.png"))

    deadline = time.monotonic() + 15
    while sent not in _phone(server) and time.monotonic() < deadline:
        time.sleep(0.2)
    texts = _phone(server)
    assert sent in texts and not any("Prefers SMS" in t for t in texts), texts
    assert not log.errors, log.errors


def test_new_conversation_started_and_answered(
    browser: Any, server: RunningServer, request: pytest.FixtureRequest
) -> None:
    out = output_dir(request)
    log = ConsoleLog()
    customer = "+15557770002"
    agent = browser.new_context(viewport=WIDE).new_page()
    log.watch(agent, "agent")
    sign_in(agent, server.url + "/", "agent2")
    agent.select_option("#agent-state", "Ready")
    agent.wait_for_selector("body[data-agent-state='Ready']", timeout=WAIT)

    agent.get_by_role("button", name="New conversation").click()
    number = agent.get_by_role("textbox", name="Customer number")
    number.type("555")  # checked as it is typed
    agent.wait_for_selector("input[name='customer'][aria-invalid='true']", timeout=WAIT)
    assert "country code" in agent.inner_text(".new-conversation")
    number.fill("+1 555 777 0002")
    agent.wait_for_selector("input[name='customer'][aria-invalid='false']", timeout=WAIT)
    agent.get_by_role("textbox", name="From our number").fill(BUSINESS)
    agent.get_by_role("textbox", name="First message").fill("Hello from the shop: your order is ready")
    agent.screenshot(path=str(out / "01-new-conversation.png"))
    agent.get_by_role("button", name="Send and open").click()

    pane = agent.locator(".pane[data-state='Chatting']").first
    pane.wait_for(timeout=WAIT)
    pane.locator(".msg-mine", has_text="your order is ready").wait_for(timeout=WAIT)
    deadline = time.monotonic() + 15
    while not _phone(server, customer) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _phone(server, customer) == ["Hello from the shop: your order is ready"]

    # the customer answers: the same pane shows it
    r = httpx.post(
        f"{server.url}/sms/simulator/inbound",
        json={"from": customer, "to": BUSINESS, "text": "Great, I will pick it up"},
        auth=("admin", PASSWORD),
    )
    assert r.status_code == 200, r.text
    pane.locator(".msg-customer", has_text="I will pick it up").wait_for(timeout=WAIT)
    assert agent.locator(".pane").count() == 1
    agent.screenshot(path=str(out / "02-answered.png"))
    assert not log.errors, log.errors

"""A shift through the desktop and the console (issue 24), in headless chromium on a real server with
``wrap_up_s`` on: offers that show the customer's texts and a countdown, "click to enable ringing", a state
changed by an explicit choice only, Alt+A, the reply box's segment counter and a draft that survives a reload,
transfer targets that say who is free, a transfer with a note that is declined, cancelled and then taken,
Complete with confirmation, wrap-up with its disposition, the console's modes and words, and the phone that
keeps each number's conversation. Screenshots at 1280 and 390 px wide go to
``test-output/browser/test_shift/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.harness import (
    PASSWORD,
    ConsoleLog,
    RunningServer,
    missing_server_pieces,
    output_dir,
    running_server,
    story_pages,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

WIDE = {"width": 1280, "height": 800}
NARROW = {"width": 390, "height": 844}
WAIT = 15_000
FIRST = "Hi, my parcel 4711 never arrived"
SECOND = "Order number 99"
NOTE = "Wants a refund, already waited a week"

# Audio held until a gesture (the autoplay policy), whatever the headless browser's own policy is.
SUSPENDED_AUDIO = """
class HeldAudio {
  constructor() { this.state = "suspended"; this.currentTime = 0; this.destination = {}; }
  resume() { this.state = "running"; return Promise.resolve(); }
  createOscillator() { return {frequency: {}, connect: (x) => x, start() {}, stop() {}}; }
  createGain() { return {gain: {setValueAtTime() {}, exponentialRampToValueAtTime() {}}, connect: (x) => x}; }
}
window.AudioContext = HeldAudio;
"""


@pytest.fixture(scope="module")
def shift_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    db = tmp_path_factory.mktemp("shift") / "smsdesk.db"
    with running_server(db, wrap_up_s=20, offer_timeout_s=120) as srv:
        yield srv


class Screens:
    def __init__(self, out: Path) -> None:
        self.out = out
        self.n = 0

    def shot(self, page: Any, name: str, *, full: bool = False) -> None:
        self.n += 1
        page.screenshot(path=str(self.out / f"{self.n:02d}-{name}.png"), full_page=full)

    def both(self, page: Any, name: str) -> None:
        """The page at 1280 and at 390 px wide, then back to its own width."""
        own = page.viewport_size
        for label, size in (("1280", WIDE), ("390", NARROW)):
            page.set_viewport_size(size)
            page.wait_for_timeout(150)
            self.shot(page, f"{name}-{label}")
        page.set_viewport_size(own)


def sign_in(page: Any, url: str, user: str) -> None:
    page.goto(url)
    page.fill("#login-user", user)
    page.fill("#login-password", PASSWORD)
    page.press("#login-password", "Enter")
    page.wait_for_selector("#app:not([hidden])")
    page.wait_for_selector("#connection[data-kind='ok']", timeout=WAIT)


def active_id(page: Any) -> str:
    value: str = page.evaluate(
        "document.activeElement && (document.activeElement.id || document.activeElement.name || document.activeElement.tagName)"
    )
    return value


def no_sideways_scroll(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), (
        "sideways scrolling"
    )


def badges_inside(page: Any) -> None:
    """Every badge of the session list and of a pane's header stays inside its card."""
    out: list[str] = page.evaluate(
        """[...document.querySelectorAll('.session-item .badge, .pane-head .badge')]
             .filter((b) => b.offsetParent !== null)
             .filter((b) => {
               const card = b.closest('button, .pane').getBoundingClientRect();
               const r = b.getBoundingClientRect();
               return r.left < card.left - 0.5 || r.right > card.right + 0.5;
             }).map((b) => b.textContent)"""
    )
    assert out == [], f"badges outside their card: {out}"


def test_shift(browser: Any, shift_server: RunningServer, request: pytest.FixtureRequest) -> None:
    out = output_dir(request)
    with story_pages(out) as pages:
        run_shift(browser, shift_server, out, pages)


def run_shift(browser: Any, server: RunningServer, out: Path, pages: dict[str, Any]) -> None:
    missing = missing_server_pieces(server.app)
    if missing:
        pytest.skip("the server does not serve the story yet: " + "; ".join(missing))
    screens = Screens(out)
    log = ConsoleLog()
    for name, viewport in (("customer", NARROW), ("alice", WIDE), ("bob", NARROW), ("sup", WIDE)):
        context = browser.new_context(viewport=viewport)
        if name == "bob":
            context.add_init_script(SUSPENDED_AUDIO)
        pages[name] = context.new_page()
        log.watch(pages[name], name)
    customer, alice, bob, sup = pages["customer"], pages["alice"], pages["bob"], pages["sup"]

    # the supervisor: display name, words for modes and scopes, monitors Alice's conversations
    sign_in(sup, server.url + "/supervisor", "supervisor1")
    assert sup.inner_text("#me").startswith("Sam")
    row = sup.locator("tr[data-agent='agent1']")
    row.wait_for(timeout=WAIT)
    assert "All conversations" in row.locator("select[name='scope']").inner_text()
    row.locator("select[name='operation']").select_option("Monitor")
    row.locator("select[name='scope']").select_option("AllChats")
    row.get_by_role("button", name="Start").click()
    sup.wait_for_function("document.querySelector('#monitoring-summary').textContent.includes('Monitoring')")

    # Alice: the focus lands on her state; arrows browse without a state change, Enter applies
    sign_in(alice, server.url + "/", "agent1")
    alice.wait_for_function(
        "document.activeElement && document.activeElement.id === 'agent-state'", timeout=WAIT
    )
    alice.wait_for_selector("body[data-agent-state='NotReady']", timeout=WAIT)
    assert "Set Ready" in alice.inner_text("#session-list")
    alice.keyboard.press("ArrowDown")
    alice.wait_for_selector("#state-hint:has-text('Press Enter')", timeout=WAIT)
    alice.wait_for_timeout(500)
    assert alice.get_attribute("body", "data-agent-state") == "NotReady"  # browsing changed nothing
    alice.keyboard.press("Escape")
    alice.keyboard.press("ArrowUp")  # from Not Ready to Ready
    alice.select_option("#agent-state", "Ready") if alice.input_value("#agent-state") != "Ready" else None
    alice.keyboard.press("Enter")
    alice.wait_for_selector("body[data-agent-state='Ready']", timeout=WAIT)
    alice.wait_for_function("!document.querySelector('#session-list').textContent.includes('Set Ready')")
    screens.both(alice, "alice-ready")

    # Bob (390 px): audio held until a click
    sign_in(bob, server.url + "/", "agent2")
    bob.wait_for_selector("#enable-sound:not([hidden])", timeout=WAIT)
    screens.shot(bob, "bob-click-to-enable-ringing-390")
    bob.click("#enable-sound")
    bob.wait_for_selector("#enable-sound[hidden]", state="attached", timeout=WAIT)
    bob.select_option("#agent-state", "Ready")
    bob.wait_for_selector("body[data-agent-state='Ready']", timeout=WAIT)

    # the customer texts twice; Alice's offer shows both texts, the number and a countdown
    customer.goto(server.url + "/simulator")
    for text in (FIRST, SECOND):
        customer.fill("#text", text)
        customer.press("#text", "Enter")
        customer.wait_for_selector(f"#thread li.out:has-text('{text}')", timeout=WAIT)
    ringing = alice.locator(".pane[data-state='Invited']").first
    ringing.wait_for(timeout=WAIT)
    offer = ringing.locator(".offer-info")
    offer.locator(f"li:has-text('{FIRST}')").wait_for(timeout=WAIT)
    assert "+15551230001" in offer.inner_text()
    alice.wait_for_function(
        "/\\d:\\d\\d left/.test(document.querySelector('.offer-countdown').textContent)", timeout=WAIT
    )
    alice.wait_for_selector("#ring:has-text('Incoming SMS from')", timeout=WAIT)
    assert alice.locator(".pane[data-state='Invited'] .badge.state").inner_text() == "Incoming"
    screens.both(alice, "alice-offer")

    # Alt+A accepts from anywhere; the focus lands in the reply box
    alice.locator("#me").click()
    alice.keyboard.press("Alt+a")
    pane = alice.locator(".pane[data-state='Chatting']").first
    pane.wait_for(timeout=WAIT)
    reply = pane.get_by_role("textbox", name="Reply")
    alice.wait_for_function(
        "document.activeElement && document.activeElement.id.startsWith('compose')", timeout=WAIT
    )
    pane.locator(f".msg-customer:has-text('{SECOND}')").wait_for(timeout=WAIT)

    # the segment counter follows the encoding; the draft survives a reload
    reply.fill("Checking parcel 4711 now")
    assert "GSM-7 · 1 SMS" in pane.locator(".segments").inner_text()
    reply.fill("Checking parcel 4711 now 🙂 " + "x" * 60)
    assert (
        "UCS-2" in pane.locator(".segments").inner_text()
        and "2 SMS" in pane.locator(".segments").inner_text()
    )
    screens.shot(alice, "alice-segment-counter-1280")
    asked: list[str] = []

    def leave_anyway(dialog: Any) -> None:
        asked.append(dialog.type)
        dialog.accept()

    alice.on("dialog", leave_anyway)  # leaving with a draft asks first
    alice.reload()
    alice.wait_for_selector("#connection[data-kind='ok']", timeout=WAIT)
    pane = alice.locator(".pane[data-state='Chatting']").first
    reply = pane.get_by_role("textbox", name="Reply")
    reply.wait_for(timeout=WAIT)
    assert reply.input_value().startswith("Checking parcel 4711 now 🙂")
    assert asked == ["beforeunload"], asked
    alice.remove_listener("dialog", leave_anyway)
    assert pane.locator(".pane-details").get_attribute("open") is None  # technical fields folded away
    reply.fill("Checking parcel 4711 now.")
    reply.press("Enter")
    pane.locator(".msg-mine:has-text('Checking parcel 4711 now.')").wait_for(timeout=WAIT)

    # the console: the session by customer number and state, Alice busy with her load; coach and barge in
    watched = sup.locator(".pane", has_text=FIRST).first
    watched.wait_for(timeout=WAIT)
    sup.wait_for_function(
        "document.querySelector(\"tr[data-agent='agent1'] .agent-sessions\").textContent.includes('+15551230001')",
        timeout=WAIT,
    )
    sessions_cell = sup.locator("tr[data-agent='agent1'] .agent-sessions").inner_text()
    assert "In conversation" in sessions_cell
    sup.wait_for_function(
        "document.querySelector(\"tr[data-agent='agent1'] .agent-state\").textContent.includes('1/3')",
        timeout=WAIT,
    )
    watched.get_by_role("button", name="Coach").click()
    sup.wait_for_function("document.querySelector('#monitoring-summary').textContent.includes('Coaching')")
    row.locator(".supervising:has-text('Coaching')").wait_for(timeout=WAIT)
    assert watched.locator(".agents-only").is_hidden()
    assert "only the agents" in watched.locator(".audience").inner_text()
    screens.both(sup, "supervisor-coaching")
    watched.get_by_role("button", name="Barge in").click()
    sup.wait_for_function("document.querySelector('#monitoring-summary').textContent.includes('Barged in')")
    assert "the customer and the agents" in watched.locator(".audience").inner_text()
    no_sideways_scroll(sup) if sup.viewport_size["width"] <= 400 else None
    watched.get_by_role("button", name="Monitor").click()
    sup.wait_for_function("document.querySelector('#monitoring-summary').textContent.includes('Monitoring')")

    # Alice sets a disposition, then transfers with a note: the list says who is free and how loaded
    pane.locator("summary:has-text('Disposition')").click()
    pane.locator("input[name='disposition']").fill("Escalated")
    pane.locator("input[name='disposition']").press("Enter")  # Enter submits the form
    alice.wait_for_function(
        "document.querySelector('.pane[data-state=Chatting] .userdata').textContent.includes('Escalated')",
        timeout=WAIT,
    )
    pane.locator("summary:has-text('Transfer')").click()
    target = pane.get_by_role("combobox", name="Transfer to agent")
    alice.wait_for_function(
        "[...document.querySelectorAll('select[name=target] option')].some(o => o.textContent.includes('Bob'))",
        timeout=WAIT,
    )
    option = target.locator("option", has_text="Bob").first.inner_text()
    assert "Ready" in option and "0/3" in option, option
    queue_options = pane.get_by_role("combobox", name="Transfer to queue").inner_text()
    assert "default" in queue_options
    bob_uri = target.locator("option", has_text="Bob").first.get_attribute("value")
    target.select_option(bob_uri)
    pane.get_by_role("textbox", name="Note for the next agent").fill(NOTE)
    screens.shot(alice, "alice-transfer-form-1280")
    pane.get_by_role("button", name="Transfer", exact=True).click()

    # Bob's offer says it is a transfer from Alice, with her note; the page keeps the banner in view
    bob_offer = bob.locator(".pane[data-state='Invited']").first
    bob_offer.wait_for(timeout=WAIT)
    bob_offer.locator(".offer-note:has-text('Wants a refund')").wait_for(timeout=WAIT)
    assert "Transfer from Alice" in bob_offer.locator(".offer-line").inner_text()
    bob.wait_for_selector("#ring:has-text('Transfer from Alice')", timeout=WAIT)
    bob.mouse.wheel(0, 2000)
    bob.wait_for_timeout(300)
    assert bob.evaluate("document.querySelector('#ring').getBoundingClientRect().top >= 0")
    # at 390 px the sticky bar (state bar and offer banner) is compact: one line each, a small part of the screen
    bar = bob.evaluate("document.querySelector('.sticky-bar').getBoundingClientRect().toJSON()")
    assert bar["top"] == 0 and bar["height"] <= 0.12 * NARROW["height"], bar
    assert bob.evaluate("document.querySelector('#ring').getBoundingClientRect().height") < 30
    screens.shot(bob, "bob-transfer-offer-scrolled-390")
    no_sideways_scroll(bob)
    assert NOTE not in customer.inner_text("#thread")  # the note is for agents only

    # Alice cancels the pending transfer: Bob's offer is withdrawn
    pane.locator(".pending:has-text('Waiting for Bob')").wait_for(timeout=WAIT)
    screens.shot(alice, "alice-transfer-pending-1280")
    pane.get_by_role("button", name="Cancel transfer").click()
    bob.locator(".pane[data-state='Revoked']").first.wait_for(timeout=WAIT)
    assert bob.locator(".pane[data-state='Revoked'] .badge.state").first.inner_text() == "Withdrawn"
    pane.locator(".pending").wait_for(state="hidden", timeout=WAIT)

    # a transfer Bob declines: said in Alice's conversation, in words, and cleared by the next success
    bob.locator(".pane[data-state='Revoked']").first.get_by_role("button", name="Close").click()
    pane.locator("summary:has-text('Transfer')").click()
    pane.locator("summary:has-text('Transfer')").click()
    alice.wait_for_function(
        "[...document.querySelectorAll('select[name=target] option')].some(o => o.textContent.includes('Bob'))",
        timeout=WAIT,
    )
    target.select_option(bob_uri)
    pane.get_by_role("button", name="Transfer", exact=True).click()
    bob.locator(".pane[data-state='Invited']").first.get_by_role("button", name="Reject").click()
    problem = pane.locator(".pane-problem")
    problem.locator("text=declined").wait_for(timeout=WAIT)
    screens.both(alice, "alice-transfer-declined")
    badges_inside(alice)

    # third time: Bob accepts; Alice's disposition is not carried over
    pane.locator("summary:has-text('Transfer')").click()
    pane.locator("summary:has-text('Transfer')").click()
    alice.wait_for_function(
        "[...document.querySelectorAll('select[name=target] option')].some(o => o.textContent.includes('Bob'))",
        timeout=WAIT,
    )
    target.select_option(bob_uri)
    pane.get_by_role("button", name="Transfer", exact=True).click()
    problem.wait_for(state="hidden", timeout=WAIT)
    bob.locator(".pane[data-state='Invited']").first.get_by_role("button", name="Accept").click()
    bob_pane = bob.locator(".pane[data-state='Chatting']").first
    bob_pane.wait_for(timeout=WAIT)
    bob_pane.locator(f".msg:has-text('{FIRST}')").wait_for(timeout=WAIT)
    assert "Escalated" not in bob_pane.locator(".userdata").inner_text()
    alice.locator(".pane[data-state='Completed']").first.wait_for(timeout=WAIT)
    no_sideways_scroll(bob)
    badges_inside(bob)
    screens.shot(bob, "bob-chatting-390")

    # Bob completes (confirmed first, not the default button), wraps up with a disposition, then ends it
    complete = bob_pane.get_by_role("button", name="Complete…")
    assert "primary" not in (complete.get_attribute("class") or "")
    complete.click()
    screens.shot(bob, "bob-confirm-complete-390")
    bob_pane.get_by_role("button", name="Keep open").click()
    assert bob.locator(".pane[data-state='Chatting']").count() == 1
    bob_pane.get_by_role("button", name="Complete…").click()
    bob_pane.get_by_role("button", name="Yes, complete").click()
    bob.wait_for_selector("#wrapup:not([hidden])", timeout=WAIT)
    bob.wait_for_function(
        "/\\d:\\d\\d left/.test(document.querySelector('.wrapup-left').textContent)", timeout=WAIT
    )
    bob.wait_for_function(
        "document.activeElement && document.activeElement.id === 'agent-state'", timeout=WAIT
    )
    # the state chooser says wrap-up with the time left (not "Not Ready") and offers to end it
    bob.wait_for_function(
        "/^Wrap-up \\u2013 \\d:\\d\\d left \\(after-call work\\)$/.test("
        "document.querySelector('#agent-state').selectedOptions[0].textContent)",
        timeout=WAIT,
    )
    assert bob.locator("#agent-state option", has_text="End wrap-up").count() == 1
    bar = bob.evaluate("document.querySelector('.sticky-bar').getBoundingClientRect().height")
    assert bar <= 0.12 * NARROW["height"], bar  # the wrap-up line is one line too
    bob.fill("input[name='wrapup-disposition']", "Resolved")
    bob.press("input[name='wrapup-disposition']", "Enter")
    bob.wait_for_selector(".wrapup-status:has-text('Saved: Resolved')", timeout=WAIT)
    screens.both(bob, "bob-wrap-up")
    bob.get_by_role("button", name="End wrap-up").click()
    bob.wait_for_selector("#wrapup[hidden]", state="attached", timeout=WAIT)
    bob.wait_for_selector("body[data-agent-state='Ready']", timeout=WAIT)
    assert bob.locator("#agent-state option", has_text="Wrap-up").count() == 0
    assert bob.input_value("#agent-state") == "Ready"

    # the phone keeps each number's conversation, however the number is typed
    customer.fill("#me", "+1 555 123 0002")
    customer.fill("#text", "Other phone here")
    customer.press("#text", "Enter")
    customer.wait_for_selector("#thread li.out:has-text('Other phone here')", timeout=WAIT)
    assert FIRST not in customer.inner_text("#thread")
    customer.wait_for_timeout(2000)  # a poll of the phone's replies comes and goes: the text stays
    assert "Other phone here" in customer.inner_text("#thread")
    customer.fill("#me", "+15551230001")
    customer.press("#me", "Tab")
    customer.wait_for_selector(f"#thread li.out:has-text('{FIRST}')", timeout=WAIT)
    assert "Other phone here" not in customer.inner_text("#thread")
    screens.shot(customer, "phone-back-on-first-number-390")
    customer.fill("#me", "+1 (555) 123-0002")
    customer.press("#me", "Tab")
    customer.wait_for_selector("#thread li.out:has-text('Other phone here')", timeout=WAIT)

    # the console's team at 390 px: cards, no sideways scrolling
    sup.set_viewport_size(NARROW)
    sup.wait_for_timeout(300)
    no_sideways_scroll(sup)
    screens.shot(sup, "supervisor-team-390", full=True)
    sup.set_viewport_size(WIDE)

    assert log.errors == [], "\n".join(log.errors)


# The browser's Notification API, captured: headless chromium shows none. The permission starts undecided.
NOTIFICATIONS = """
window.shown = [];
class CapturedNotification {
  static permission = "default";
  static requestPermission() { CapturedNotification.permission = "granted"; return Promise.resolve("granted"); }
  constructor(title, options) { this.title = title; this.options = options || {}; this.closed = false; window.shown.push(this); }
  close() { this.closed = true; }
}
window.Notification = CapturedNotification;
"""
# A hidden tab, as the page sees one: document.hidden / visibilityState and the visibilitychange event.
SET_HIDDEN = """(hidden) => {
  Object.defineProperty(document, "hidden", {configurable: true, get: () => hidden});
  Object.defineProperty(document, "visibilityState", {configurable: true, get: () => (hidden ? "hidden" : "visible")});
  document.dispatchEvent(new Event("visibilitychange"));
}"""
ANNA, OTTO = "+15551230021", "+15551230022"


@pytest.fixture
def attention_server(tmp_path: Path) -> Iterator[RunningServer]:
    with running_server(tmp_path / "smsdesk.db", wrap_up_s=30, offer_timeout_s=120) as srv:
        yield srv


def text_from(customer: Any, number: str, text: str) -> None:
    customer.fill("#me", number)
    customer.fill("#text", text)
    customer.press("#text", "Enter")
    customer.wait_for_selector(f"#thread li.out:has-text('{text}')", timeout=WAIT)


def title_count(page: Any) -> int:
    title: str = page.title()
    return int(title[1 : title.index(")")]) if title.startswith("(") else 0


def test_shift_attention(
    browser: Any, attention_server: RunningServer, request: pytest.FixtureRequest
) -> None:
    """Two conversations at once: a desktop notification and a title badge for an offer while the tab is
    hidden, unread counts, each conversation's draft kept across switching and a reload, Alt+A / Alt+C /
    Alt+N / Alt+P, the shortcuts list, and wrap-up in the state chooser."""
    out = output_dir(request)
    with story_pages(out) as pages:
        run_attention(browser, attention_server, Screens(out), pages)


def run_attention(browser: Any, server: RunningServer, screens: Screens, pages: dict[str, Any]) -> None:
    missing = missing_server_pieces(server.app)
    if missing:
        pytest.skip("the server does not serve the story yet: " + "; ".join(missing))
    log = ConsoleLog()
    for name, viewport in (("customer", NARROW), ("alice", WIDE)):
        context = browser.new_context(viewport=viewport)
        if name == "alice":
            context.add_init_script(NOTIFICATIONS)
        pages[name] = context.new_page()
        log.watch(pages[name], name)
    customer, alice = pages["customer"], pages["alice"]
    sign_in(alice, server.url + "/", "agent1")
    assert alice.title() == "smsdesk \u2013 agent desktop"

    # notifications are asked for on a click; the shortcuts are listed ("?" opens the list)
    enable = alice.get_by_role("button", name="Enable desktop notifications")
    enable.click()
    enable.wait_for(state="hidden", timeout=WAIT)
    alice.locator("#agent-state").press("Escape")
    alice.keyboard.press("?")  # the focus is on the state chooser, not in a text box
    shortcuts = alice.get_by_role("dialog", name="Keyboard shortcuts")
    shortcuts.wait_for(timeout=WAIT)
    listed = shortcuts.inner_text()
    for keys in ("Alt+A", "Alt+C", "Alt+N", "Alt+P"):
        assert keys in listed, listed
    screens.both(alice, "shortcuts")
    alice.keyboard.press("Escape")
    shortcuts.wait_for(state="hidden", timeout=WAIT)
    alice.select_option("#agent-state", "Ready")
    alice.wait_for_selector("body[data-agent-state='Ready']", timeout=WAIT)

    # Anna's offer while the tab is visible: no desktop notification; Alt+A accepts
    customer.goto(server.url + "/simulator")
    text_from(customer, ANNA, "Anna here: my invoice is wrong")
    anna = alice.locator(".pane", has_text=ANNA).first
    anna.wait_for(timeout=WAIT)
    alice.wait_for_function("document.title.startsWith('(1) ')", timeout=WAIT)  # the offer counts
    alice.keyboard.press("Alt+a")
    alice.wait_for_selector(f".pane[data-state='Chatting']:has-text('{ANNA}')", timeout=WAIT)
    alice.wait_for_function("!document.title.startsWith('(')", timeout=WAIT)
    assert alice.evaluate("window.shown.length") == 0

    # the tab is hidden: Otto's offer notifies and Anna's new text is unread; the title counts both
    alice.evaluate(SET_HIDDEN, True)
    text_from(customer, OTTO, "Otto: where is my order?")
    alice.wait_for_function("window.shown.length === 1", timeout=WAIT)
    shown = alice.evaluate("({title: shown[0].title, body: shown[0].options.body})")
    assert shown == {"title": f"Incoming SMS from {OTTO}", "body": "Otto: where is my order?"}, shown
    text_from(customer, ANNA, "Anna again: hello?")
    anna_item = alice.locator(f".session-item:has-text('{ANNA}')")
    anna_item.locator(".badge.unread").wait_for(timeout=WAIT)
    assert anna_item.locator(".badge.unread").inner_text() == "1"
    assert anna.locator(".pane-head .badge.unread").inner_text() == "1 new"
    alice.wait_for_function("document.title.startsWith('(2) ')", timeout=WAIT)
    screens.shot(alice, "alice-hidden-tab-title-badge-1280")

    # clicking the notification brings the tab and the offer forward; Alt+A accepts it
    alice.evaluate("shown[0].onclick()")  # the click handler runs, then the tab shows
    alice.evaluate(SET_HIDDEN, False)
    alice.wait_for_function(
        "document.activeElement && document.activeElement.dataset.op === 'Accept'", timeout=WAIT
    )
    assert title_count(alice) == 2  # Anna's text is still unread: Otto's pane is the current one
    alice.keyboard.press("Alt+a")
    otto = alice.locator(".pane", has_text=OTTO).first
    alice.wait_for_selector(f".pane[data-state='Chatting']:has-text('{OTTO}')", timeout=WAIT)
    assert alice.evaluate("shown[0].closed")  # answered: the notification goes
    alice.wait_for_function("document.title.startsWith('(1) ')", timeout=WAIT)

    # drafts: each conversation keeps its own, across Alt+P / Alt+N and a reload
    otto_reply = otto.get_by_role("textbox", name="Reply")
    anna_reply = anna.get_by_role("textbox", name="Reply")
    alice.wait_for_function("document.activeElement && document.activeElement.id.startsWith('compose')")
    alice.keyboard.type("Otto, your order left today")
    alice.keyboard.press("Alt+p")  # to Anna: her text is read now
    alice.wait_for_function(
        f"document.activeElement === document.querySelector(\".pane[data-session='{pane_id(anna)}'] textarea\")",
        timeout=WAIT,
    )
    anna_item.locator(".badge.unread").wait_for(state="detached", timeout=WAIT)
    alice.wait_for_function("!document.title.startsWith('(')", timeout=WAIT)
    alice.keyboard.type("Anna, I am fixing the invoice")
    alice.keyboard.press("Alt+n")  # back to Otto: his draft is as it was
    alice.wait_for_function(
        f"document.activeElement === document.querySelector(\".pane[data-session='{pane_id(otto)}'] textarea\")",
        timeout=WAIT,
    )
    assert otto_reply.input_value() == "Otto, your order left today"
    assert anna_reply.input_value() == "Anna, I am fixing the invoice"
    screens.both(alice, "alice-two-drafts")
    alice.on("dialog", lambda dialog: dialog.accept())  # leaving with drafts asks first
    alice.reload()
    alice.wait_for_selector("#connection[data-kind='ok']", timeout=WAIT)
    otto_reply.wait_for(timeout=WAIT)
    alice.wait_for_function(
        "[...document.querySelectorAll('.pane textarea')].filter((t) => t.value).length === 2", timeout=WAIT
    )
    assert otto_reply.input_value() == "Otto, your order left today"
    assert anna_reply.input_value() == "Anna, I am fixing the invoice"

    # a draft sent is gone; Alt+C asks first, Alt+C again completes, and the draft of the ended one goes too
    otto_reply.press("Enter")
    otto.locator(".msg-mine:has-text('Otto, your order left today')").wait_for(timeout=WAIT)
    drafts = "Object.keys(sessionStorage).filter((k) => k.startsWith('smsdesk.draft.')).length"
    assert alice.evaluate(drafts) == 1  # Anna's only
    anna_reply.click()
    alice.keyboard.press("Alt+c")
    confirm = anna.get_by_role("group", name="Confirm complete")
    confirm.wait_for(timeout=WAIT)
    assert alice.evaluate("document.activeElement.textContent") == "Keep open"
    alice.keyboard.press("Alt+c")
    alice.wait_for_selector(f".pane[data-state='Completed']:has-text('{ANNA}')", timeout=WAIT)
    assert alice.evaluate(drafts) == 0

    # wrap-up: the state chooser says so, with the time left, and offers to end it
    alice.wait_for_function(
        "/^Wrap-up \\u2013 \\d:\\d\\d left \\(after-call work\\)$/.test("
        "document.querySelector('#agent-state').selectedOptions[0].textContent)",
        timeout=WAIT,
    )
    screens.both(alice, "alice-wrap-up-chooser")
    alice.locator("#agent-state").select_option("Ready")  # "End wrap-up (Ready)"
    alice.wait_for_selector("#wrapup[hidden]", state="attached", timeout=WAIT)
    alice.wait_for_selector("body[data-agent-state='Ready']", timeout=WAIT)
    assert alice.locator("#agent-state option", has_text="Wrap-up").count() == 0
    badges_inside(alice)
    assert log.errors == [], "\n".join(log.errors)


def pane_id(pane: Any) -> str:
    value: str = pane.get_attribute("data-session")
    return value

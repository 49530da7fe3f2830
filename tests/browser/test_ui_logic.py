"""The desktop's session logic in chromium, fed by hand-made GWS notifications and a fake REST client (no SMS
server needed): ringing and Accept, capabilities gating the buttons, transcript de-duplication by index,
delivery status updates, unread counts, visibility styling, typing indicators, restore after reconnect.

The fake (``FakeGws`` below) records every operation the page posts, like ``httpx.MockTransport``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.harness import ConsoleLog, RunningServer, output_dir
from tests.sms.images import png

pytestmark = [pytest.mark.browser, pytest.mark.timeout(60)]

FIXTURE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>fixture</title>
<link rel="stylesheet" href="/static/css/ui.css"></head><body>
<p id="status" class="status" role="status"></p><input id="elsewhere" aria-label="elsewhere">
<main class="layout"><nav class="sessions"><ul id="session-list" class="session-list"></ul></nav>
<div id="panes" class="panes"></div></main>
<script type="module">
import {Board} from "/static/js/board.js";
import {Viewer} from "/static/js/transcript.js";
import {agentActions} from "/static/js/agent_controls.js";
class FakeGws {
  constructor() { this.ops = []; this.history = {}; this.list = []; }
  async sessionOp(id, operationName, params = {}) { this.ops.push({id, operationName, ...params}); return {statusCode: 0}; }
  async messages(id) { return this.history[id] || []; }
  async sessions() { if (this.gate) await this.gate; return this.list; }
  async session(id) { return {id}; }
  serverNow() { return Date.now(); }
  async queues() { return [{name: "billing", uri: "http://x/api/v2/queues/billing"}]; }
  async userDetail(id) {
    const busy = id === "u3";
    return {id, capacity: 3, channels: [{channel: "sms", userState: {state: busy ? "NotReady" : "Ready",
      displayName: busy ? "Not Ready" : "Ready"}}], smssessions: busy ? [] : [{id: "X", state: "Chatting"}]};
  }
}
const gws = new FakeGws();
const board = new Board({gws, viewer: new Viewer({id: "u1", userName: "agent1"}),
  panesEl: document.getElementById("panes"), listEl: document.getElementById("session-list"),
  statusEl: document.getElementById("status"), emptyText: "No sessions",
  actions: agentActions(() => [{id: "u2", uri: "http://x/api/v2/users/u2", nickname: "Bob"},
    {id: "u3", uri: "http://x/api/v2/users/u3", nickname: "Carol"}], () => gws.queues(), () => {})});
window.t = {gws, board};
</script></body></html>"""

ME = {"type": "Agent", "nickname": "Alice", "participantId": "P-ME", "path": "/users/u1", "visibility": "All"}
CUSTOMER = {"type": "Customer", "nickname": "PersonP", "participantId": "P-C", "visibility": "All"}
CHATTING_CAPS = [
    "Complete",
    "Leave",
    "SendMessage",
    "SendStartTypingNotification",
    "SendStopTypingNotification",
]


def state_change(state: str, caps: list[str] | None, participants: list[dict[str, Any]]) -> dict[str, Any]:
    session: dict[str, Any] = {"id": "S1", "state": state, "participants": participants}
    if caps is not None:
        session["capabilities"] = caps
    return {
        "messageType": "SMSsessionStateChangeMessage",
        "notificationType": "StatusChange",
        "smssession": session,
    }


def msg(
    index: int, type_: str, sender: dict[str, Any], text: str | None = None, **extra: Any
) -> dict[str, Any]:
    m: dict[str, Any] = {"index": index, "type": type_, "from": sender, "visibility": "All"}
    if text is not None:
        m["text"] = text
    m["timestampSeconds"] = 1_700_000_000_000 + index
    m.update(extra)
    return m


def log_updated(*messages: dict[str, Any]) -> dict[str, Any]:
    return {
        "messageType": "MessageLogUpdated",
        "notificationType": "NewMessages",
        "messages": list(messages),
        "smssessionUri": "http://x/api/v2/smssessions/S1",
    }


@pytest.fixture
def page(browser: Any, server: RunningServer, request: pytest.FixtureRequest) -> Iterator[Any]:
    p = browser.new_page(viewport={"width": 1280, "height": 800})
    log = ConsoleLog()
    log.watch(p, "fixture")
    p.route(server.url + "/fixture", lambda route: route.fulfill(body=FIXTURE, content_type="text/html"))
    p.goto(server.url + "/fixture")
    p.wait_for_function("window.t !== undefined")
    yield p
    p.screenshot(path=str(output_dir(request) / "final.png"))
    assert log.errors == [], "\n".join(log.errors)
    p.close()


def feed(page: Any, data: dict[str, Any]) -> None:
    page.evaluate("(d) => window.t.board.handle(d)", data)


def ops(page: Any) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = page.evaluate("window.t.gws.ops")
    return result


def items(page: Any) -> list[str]:
    result: list[str] = page.eval_on_selector_all(".transcript li", "els => els.map(e => e.className)")
    return result


def test_invited_session_rings_and_accept_posts_the_operation(page: Any) -> None:
    feed(page, state_change("Invited", ["Accept", "Reject"], [CUSTOMER]))
    assert page.text_content(".session-item") is not None
    assert "Ringing" in page.text_content(".session-item")
    assert page.is_visible(".pane .ring")
    assert page.is_disabled(".pane button[data-op='Complete']")
    assert page.is_disabled(".pane textarea")
    page.click(".pane button[data-op='Accept']")
    page.wait_for_function("window.t.gws.ops.length === 1")
    assert ops(page) == [{"id": "S1", "operationName": "Accept"}]


def test_chatting_loads_history_and_deduplicates_by_index(page: Any) -> None:
    page.evaluate(
        "(h) => { window.t.gws.history.S1 = h; }",
        [msg(1, "ParticipantJoined", CUSTOMER), msg(2, "Text", CUSTOMER, "hello")],
    )
    feed(page, state_change("Chatting", CHATTING_CAPS, [ME, CUSTOMER]))
    page.wait_for_function("document.querySelectorAll('.transcript li').length === 2")
    assert not page.is_visible(".pane .ring")
    assert page.is_enabled(".pane button[data-op='Complete']")
    assert page.is_disabled(".pane button[data-op='Transfer']")  # no Transfer capability
    feed(page, log_updated(msg(2, "Text", CUSTOMER, "hello"), msg(3, "Text", ME, "hi there", status="sent")))
    classes = items(page)
    assert len(classes) == 3
    assert "msg-system" in classes[0] and "msg-customer" in classes[1] and "msg-mine" in classes[2]
    assert page.text_content(".msg-mine .msg-status") == "sent"
    feed(page, log_updated(msg(3, "Text", ME, "hi there", status="delivered")))
    assert len(items(page)) == 3
    assert page.text_content(".msg-mine .msg-status") == "delivered"


def test_failed_delivery_notice_marks_the_message(page: Any) -> None:
    feed(page, state_change("Chatting", CHATTING_CAPS, [ME, CUSTOMER]))
    system = {"type": "System", "nickname": "system", "participantId": "SYS", "visibility": "Agents"}
    feed(page, log_updated(msg(5, "Text", ME, "are you there?", status="sent")))
    feed(
        page, log_updated(msg(6, "Notice", system, "DELIVERY_FAILED5: carrier rejected", visibility="Agents"))
    )
    assert page.text_content(".msg-mine .msg-status") == "failed"
    assert (
        page.text_content(".msg-system:last-child .msg-text")
        == "Message #5 was not delivered: carrier rejected"
    )


def test_unread_counts_while_the_pane_has_no_focus(page: Any) -> None:
    feed(page, state_change("Chatting", CHATTING_CAPS, [ME, CUSTOMER]))
    page.focus("#elsewhere")
    feed(page, log_updated(msg(7, "Text", CUSTOMER, "one"), msg(8, "Text", CUSTOMER, "two")))
    feed(page, log_updated(msg(9, "Text", ME, "mine does not count")))
    assert page.text_content(".session-item .unread") == "2"
    page.click(".session-item button")  # keyboard/click focus on the session clears it
    assert page.query_selector(".session-item .unread") is None


def test_audiences_and_typing_are_shown(page: Any) -> None:
    feed(page, state_change("Chatting", CHATTING_CAPS, [ME, CUSTOMER]))
    coach = {"type": "Agent", "nickname": "Sam", "participantId": "P-S", "visibility": "Agents"}
    feed(page, log_updated(msg(10, "Text", coach, "psst", visibility="Agents")))
    assert "vis-agents" in items(page)[-1]
    assert page.text_content(".vis-agents .msg-audience") == "agents only"
    feed(page, log_updated(msg(11, "TypingStarted", CUSTOMER)))
    assert page.text_content(".typing") == "PersonP is typing…"
    assert len(items(page)) == 1  # typing events are not transcript lines
    feed(page, log_updated(msg(12, "Text", CUSTOMER, "done typing")))
    assert page.text_content(".typing") == ""


def test_enter_sends_with_typing_notification(page: Any) -> None:
    feed(page, state_change("Chatting", CHATTING_CAPS, [ME, CUSTOMER]))
    page.focus(".pane textarea")
    page.keyboard.type("Thanks")
    page.keyboard.press("Enter")
    page.wait_for_function("window.t.gws.ops.some(o => o.operationName === 'SendMessage')")
    names = [o["operationName"] for o in ops(page)]
    assert names[0] == "SendStartTypingNotification"
    assert {"id": "S1", "operationName": "SendMessage", "text": "Thanks"} in ops(page)
    assert page.input_value(".pane textarea") == ""


def test_completed_session_disables_everything_and_can_be_closed(page: Any) -> None:
    feed(page, state_change("Chatting", CHATTING_CAPS, [ME, CUSTOMER]))
    feed(page, state_change("Completed", None, []))
    assert page.get_attribute(".pane", "data-state") == "Completed"
    assert page.is_disabled(".pane button[data-op='Complete']")
    assert page.is_disabled(".pane textarea")
    assert "PersonP" in page.text_content(".pane-title")  # the name survives the empty participant list
    page.click(".pane button.close")
    assert page.query_selector(".pane") is None


def test_error_notification_and_restore(page: Any) -> None:
    feed(page, {"notificationType": "Error", "errorMessage": "Request failed", "referenceId": 35})
    assert "Request failed" in page.text_content("#status")
    feed(page, state_change("Chatting", CHATTING_CAPS, [ME, CUSTOMER]))
    page.evaluate("window.t.board.restore()")  # the server no longer lists S1
    page.wait_for_function("document.querySelector('.pane').dataset.state === 'Completed'")


FULL_CAPS = [*CHATTING_CAPS, "Transfer", "Invite", "Consult", "SetDisposition", "AttachUserData"]


def test_agent_controls_post_their_operations(page: Any) -> None:
    feed(page, state_change("Chatting", FULL_CAPS, [ME, CUSTOMER]))
    for summary in ("Transfer / invite / consult", "Disposition", "Attach data"):
        page.click(f".pane summary:has-text('{summary}')")
    page.click(".pane button[data-op='Transfer']")
    assert "Choose an agent or a queue first" in page.text_content(".pane-problem")
    assert ops(page) == []  # nothing posted for an incomplete form
    # only the colleagues who can take it now, with state and load; the configured queues
    page.wait_for_selector(".pane select[name='target'] option:has-text('Bob')", state="attached")
    options = page.eval_on_selector_all(
        ".pane select[name='target'] option", "os => os.map(o => o.textContent)"
    )
    assert options == ["Choose an agent…", "Bob — Ready, 1/3"]
    assert page.get_attribute(".pane select[name='target']", "aria-label") == "Transfer to agent"
    page.select_option(".pane select[name='target']", "http://x/api/v2/users/u2")
    page.fill(".pane textarea[name='note']", "VIP")
    page.click(".pane button[data-op='Consult']")
    page.select_option(".pane select[name='queue']", "billing")
    page.click(".pane button[data-op='Transfer']")
    page.fill(".pane input[name='disposition']", "Resolved")
    page.press(".pane input[name='disposition']", "Enter")  # Enter submits the form
    page.fill(".pane input[name='key']", "Order")
    page.fill(".pane input[name='value']", "4711")
    page.press(".pane input[name='value']", "Enter")
    page.wait_for_function("window.t.gws.ops.length === 4")
    assert ops(page) == [
        {
            "id": "S1",
            "operationName": "Consult",
            "targetUri": "http://x/api/v2/users/u2",
            "text": "VIP",
            "visibility": "Agents",
        },
        {"id": "S1", "operationName": "Transfer", "queueName": "billing"},
        {"id": "S1", "operationName": "SetDisposition", "disposition": "Resolved"},
        {"id": "S1", "operationName": "AttachUserData", "userData": {"Order": "4711"}},
    ]
    assert page.input_value(".pane input[name='key']") == ""


def test_offer_without_capabilities_can_still_be_answered(page: Any) -> None:
    feed(page, state_change("Invited", None, [CUSTOMER]))
    assert page.is_enabled(".pane button[data-op='Accept']")
    assert page.is_enabled(".pane button[data-op='Reject']")
    assert page.is_disabled(".pane button[data-op='Complete']")


def test_a_stale_read_does_not_undo_a_newer_notification(page: Any) -> None:
    feed(page, state_change("Chatting", CHATTING_CAPS, [ME, CUSTOMER]))
    feed(page, log_updated(msg(3, "Text", ME, "hi", status="delivered")))
    # the transcript read was answered before the delivery receipt: status must not go back to "sent"
    page.evaluate(
        "(m) => window.t.board.panes.get('S1').addMessages(m, {history: true})",
        [msg(3, "Text", ME, "hi", status="sent")],
    )
    assert page.text_content(".msg-mine .msg-status") == "delivered"
    # the session list is read while a notification completes the session
    page.evaluate(
        """(s) => { const g = window.t.gws; g.list = [s];
                    g.gate = new Promise((r) => { g.release = r; });
                    window.restoring = window.t.board.restore(); }""",
        state_change("Chatting", CHATTING_CAPS, [ME, CUSTOMER])["smssession"],
    )
    feed(page, state_change("Completed", None, []))
    page.evaluate("async () => { window.t.gws.release(); await window.restoring; }")
    assert page.get_attribute(".pane", "data-state") == "Completed"


def test_ringer_chimes_while_offered_and_remembers_mute(page: Any) -> None:
    page.click("#elsewhere")  # a user gesture, as signing in is: browsers start audio only after one
    result = page.evaluate(
        """async () => {
             const {Ringer} = await import("/static/js/ringer.js");
             const store = new Map();
             const storage = {getItem: (k) => store.get(k) ?? null, setItem: (k, v) => store.set(k, v)};
             const r = new Ringer({storage});
             const out = {};
             r.update(true);
             out.first = [r.ringing, r.rings];
             r.update(true);  // still offered: no second chime at once
             out.again = r.rings;
             r.update(false);
             out.stopped = r.ringing;
             r.setMuted(true);
             r.update(true);
             out.muted = [r.ringing, r.rings, store.get("smsdesk.ringer.muted")];
             r.update(false);
             out.remembered = new Ringer({storage}).muted;
             return out;
           }"""
    )
    assert result == {
        "first": [True, 1],
        "again": 1,
        "stopped": False,
        "muted": [True, 1, "1"],
        "remembered": True,
    }


def test_a_declined_transfer_is_said_in_its_pane_until_an_operation_succeeds(page: Any) -> None:
    feed(page, state_change("Chatting", FULL_CAPS, [ME, CUSTOMER]))
    feed(
        page,
        {
            "notificationType": "Error",
            "errorMessage": "Request failed: Transfer to Bob (agent2): rejected",
            "smssessionUri": "http://x/api/v2/smssessions/S1",
            "smssessionPath": "/smssessions/S1",
        },
    )
    assert page.text_content(".pane-problem") == "Bob (agent2) declined the transfer."
    assert page.text_content("#status") == ""  # said where it belongs, not in the page's status line
    page.click(".pane summary:has-text('Disposition')")
    page.fill(".pane input[name='disposition']", "Resolved")
    page.press(".pane input[name='disposition']", "Enter")
    page.wait_for_selector(".pane-problem", state="hidden")


def test_complete_asks_first_and_is_not_the_default_button(page: Any) -> None:
    feed(page, state_change("Chatting", FULL_CAPS, [ME, CUSTOMER]))
    ask = page.locator(".pane button:has-text('Complete…')")
    assert "primary" not in (ask.get_attribute("class") or "")
    ask.click()
    page.click(".pane button:has-text('Keep open')")
    assert ops(page) == []
    ask.click()
    page.click(".pane button:has-text('Yes, complete')")
    page.wait_for_function("window.t.gws.ops.length === 1")
    assert ops(page) == [{"id": "S1", "operationName": "Complete"}]


def test_the_reply_box_counts_sms_segments_as_the_server_splits(page: Any) -> None:
    feed(page, state_change("Chatting", FULL_CAPS, [ME, CUSTOMER]))
    box = page.get_by_role("textbox", name="Reply")
    box.fill("a" * 160)
    assert page.text_content(".pane .segments") == "GSM-7 · 1 SMS · 0 left"
    box.fill("a" * 161)
    assert page.text_content(".pane .segments") == "GSM-7 · 2 SMS · 145 left"
    box.fill("ş")
    assert page.text_content(".pane .segments") == "UCS-2 (special characters: 70 per SMS) · 1 SMS · 69 left"


SET_HIDDEN = """(hidden) => {
  Object.defineProperty(document, "hidden", {configurable: true, get: () => hidden});
  document.dispatchEvent(new Event("visibilitychange"));
}"""


def test_the_current_pane_counts_unread_only_while_the_tab_is_hidden(page: Any) -> None:
    feed(page, state_change("Chatting", CHATTING_CAPS, [ME, CUSTOMER]))
    page.click(".pane textarea")  # the current conversation
    feed(page, log_updated(msg(11, "Text", CUSTOMER, "seen at once")))
    assert page.query_selector(".session-item .unread") is None
    assert page.get_attribute(".session-item", "aria-current") == "true"
    page.evaluate(SET_HIDDEN, True)
    feed(page, log_updated(msg(12, "Text", CUSTOMER, "while away")))
    assert page.text_content(".session-item .unread") == "1"
    assert page.text_content(".pane-head .unread") == "1 new"
    assert page.title() == "(1) fixture"
    page.evaluate(SET_HIDDEN, False)  # back: the current conversation is read
    assert page.query_selector(".session-item .unread") is None
    assert page.is_hidden(".pane-head .unread")
    assert page.title() == "fixture"


def test_drafts_are_pruned_to_the_sessions_listed(page: Any) -> None:
    kept = page.evaluate(
        """async () => {
          const {Drafts} = await import("/static/js/drafts.js");
          sessionStorage.clear();
          const mine = new Drafts("u1");
          const other = new Drafts("u2");
          mine.set("S1", "keep me");
          mine.set("S2", "ended while away");
          other.set("S2", "another user's");
          mine.prune(new Set(["S1"]));
          return Object.keys(sessionStorage).sort();
        }"""
    )
    assert kept == ["smsdesk.draft.u1.S1", "smsdesk.draft.u2.S2"]


def test_shortcuts_match_the_letter_typed_or_the_physical_key(page: Any) -> None:
    got = page.evaluate(
        """async () => {
          const {shortcutOf} = await import("/static/js/shortcuts.js");
          const of = (init) => { const s = shortcutOf(new KeyboardEvent("keydown", init)); return s && s.action; };
          return [
            of({key: "a", code: "KeyA", altKey: true}),
            of({key: "a", code: "KeyQ", altKey: true}),      // AZERTY: the letter typed counts
            of({key: "å", code: "KeyA", altKey: true}),      // a Mac's Option+A
            of({key: "n", code: "KeyN", altKey: true}),
            of({key: "p", code: "KeyP", altKey: true}),
            of({key: "c", code: "KeyC", altKey: true}),
            of({key: "a", code: "KeyA"}),                    // no Alt: typing
            of({key: "a", code: "KeyA", altKey: true, ctrlKey: true}),
            of({key: "x", code: "KeyX", altKey: true}),
          ];
        }"""
    )
    assert got == ["accept", "accept", "accept", "next", "previous", "complete", None, None, None]


def test_media_show_inline_pictures_links_and_unavailable_notes(page: Any) -> None:
    picture = png(40, 30)
    page.route(
        "**/api/v2/media/**",
        lambda route: route.fulfill(body=picture, content_type="image/png", headers={"X-Seen": "1"}),
    )
    feed(page, state_change("Chatting", CHATTING_CAPS, [ME, CUSTOMER]))
    media = [
        {"id": "a1", "contentType": "image/png", "size": 2048, "available": True, "path": "/media/a1"},
        {"id": "b2", "contentType": "application/pdf", "size": 900, "available": True, "path": "/media/b2"},
        {"contentType": "image/jpeg", "available": False, "reason": "the provider answered HTTP 404"},
        {
            "id": "c3",
            "contentType": "image/png",
            "available": True,
            "path": "/../../logout",
        },  # not a media path
    ]
    feed(page, log_updated(msg(4, "Text", CUSTOMER, "", media=media), msg(5, "Text", CUSTOMER, "plain")))
    page.wait_for_function("document.querySelector('.msg-media-img')?.naturalWidth === 40")
    img = page.query_selector(".msg-customer .msg-media-img")
    assert img.get_attribute("src") == "/api/v2/media/a1"
    assert img.get_attribute("alt") == "Picture from PersonP (image/png, 2 KB)"
    link = page.query_selector(".msg-media-link")
    assert (link.get_attribute("href"), link.get_attribute("target")) == ("/api/v2/media/a1", "_blank")
    width = page.evaluate("document.querySelector('.msg-media-img').getBoundingClientRect().width")
    pane = page.evaluate("document.querySelector('.transcript').getBoundingClientRect().width")
    assert 0 < width <= pane
    assert page.text_content(".msg-media-file") == "File (application/pdf, 900 B)"
    gone = page.eval_on_selector_all(".msg-media-gone", "els => els.map(e => e.textContent)")
    assert gone == ["Picture not available: the provider answered HTTP 404", "Picture not available"]
    first = page.query_selector(".transcript li:nth-child(1)")
    assert first.query_selector(".msg-text") is None  # pictures alone: no empty text line
    assert page.text_content(".transcript li:nth-child(2) .msg-text") == "plain"
    assert page.query_selector(".transcript li:nth-child(2) .msg-media-list") is None


def test_previous_conversations_name_pictures_without_fetching_them(page: Any) -> None:
    session = {
        "id": "OLD",
        "messages": [
            msg(1, "Text", CUSTOMER, "the label", media=[{"contentType": "image/png", "available": True}]),
            msg(2, "Text", CUSTOMER, "", media=[{"contentType": "image/png"}, {"contentType": "audio/amr"}]),
        ],
    }
    lines = page.evaluate(
        "async (s) => { const {sessionEntry} = await import('/static/js/history.js');"
        " const el = sessionEntry(s); document.body.append(el);"
        " return [...el.querySelectorAll('.history-line')].map(li => li.lastChild.textContent); }",
        session,
    )
    assert lines == ["the label (1 picture)", "(2 attachments)"]
    assert page.query_selector(".history-entry img") is None

"""Spec §6.5 to §6.13 through the HTTP API: every send operation, what each agent is notified of, and what reaches
the customer's phone. The rule under test (docs/sessions.md, "Visibility and the SMS rule"): agents see
``All`` + ``Agents``; the phone gets only ``Text``/``PushUrl`` with visibility ``All`` — never ``Agents``
traffic, typing notifications or custom notices."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api
from tests.api.test_operations_kit import Desk

# (operation, params, expected brief for every agent, the field holding the payload, payload, on the phone?)
SENDS: list[tuple[str, dict[str, Any], str, str | None, str | None, bool]] = [
    ("SendMessage", {"text": "How may I help you?"}, "Text/All", "text", "How may I help you?", True),
    ("SendUrl", {"url": "https://example.com/track/42"}, "PushUrl/All", "url", "https://example.com/track/42", True),
    ("SendStartTypingNotification", {}, "TypingStarted/All", None, None, False),
    ("SendStopTypingNotification", {}, "TypingStopped/All", None, None, False),
    ("SendCustomNotice", {"noticeText": "This is a custom notice"}, "CustomNotice/All", "noticeText", "This is a custom notice", False),
    ("SendToAgents", {"text": "psst, VIP customer"}, "Text/Agents", "text", "psst, VIP customer", False),
    ("SendStartTypingToAgentsNotification", {}, "TypingStarted/Agents", None, None, False),
    ("SendStopTypingToAgentsNotification", {}, "TypingStopped/Agents", None, None, False),
    ("SendStopTypingToAgentNotification", {}, "TypingStopped/Agents", None, None, False),  # spec §6.11 spelling
    ("SendCustomNoticeToAgents", {"noticeText": "agents only"}, "CustomNotice/Agents", "noticeText", "agents only", False),
]  # fmt: skip


@pytest.mark.parametrize(("operation", "params", "line", "key", "payload", "to_phone"), SENDS)
async def test_each_send_reaches_exactly_whom_it_should(
    api: Api,
    operation: str,
    params: dict[str, Any],
    line: str,
    key: str | None,
    payload: str | None,
    to_phone: bool,
) -> None:
    d = await Desk.start(api)
    await d.conference("agent2")
    before = await d.version()
    assert await d.op("agent2", operation, **params) == {"statusCode": 0}
    for agent in ("agent2", "agent1"):  # the caller first, then the others: both see All + Agents
        (ev,) = await d.seen(agent)
        assert (
            ev["notificationType"] == "NewMessages"
            and ev["messages"][0]["type"] + "/" + ev["messages"][0]["visibility"] == line
        )
        (m,) = ev["messages"]
        assert m["index"] == 5  # 1-2 customer join + text, 3 Alice joined, 4 Bob joined
        assert m["from"]["nickname"] == "Bob (agent2)" and m["from"]["uri"] == await d.user_uri("agent2")
        assert {k: m[k] for k in ("text", "url", "noticeText") if k in m} == ({key: payload} if key else {})
    await d.quiet("agent3", "supervisor1", "admin")
    assert await d.version() == before + 1
    assert await d.phone() == ([payload] if to_phone else [])


async def test_send_message_notification_has_the_documented_shape(api: Api) -> None:
    d = await Desk.start(api)
    await d.op("agent1", "SendMessage", text="How may I help you?")
    (ev,) = await d.seen("agent1")
    me = (await d.view("agent1"))["participants"][1]
    ts = api.clock.now_ms()
    assert ev == {
        "messageType": "MessageLogUpdated",
        "notificationType": "NewMessages",
        "messages": [
            {
                "index": 4,
                "type": "Text",
                "from": me,
                "text": "How may I help you?",
                "visibility": "All",
                "timestamp": ev["messages"][0]["timestamp"],
                "timestampSeconds": ts,
            }
        ],
        "smssessionUri": f"http://127.0.0.1:8080/api/v2/smssessions/{d.sid}",
        "smssessionPath": f"/smssessions/{d.sid}",
        "referenceId": d.last_reference("agent1"),  # the caller's request caused it (spec §5)
        "_channel": "/v2/me/smssessions",
        "_id": ev["_id"],
    }
    assert me["nickname"] == "Alice (agent1)" and me["type"] == "Agent"


async def test_a_consultant_speaks_to_agents_only_even_with_send_message(api: Api) -> None:
    d = await Desk.start(api)
    await d.conference("agent2", consult=True)
    await d.op("agent2", "SendMessage", text="try a refund")
    await d.op("agent2", "SendUrl", url="https://kb.example.com/refunds")
    assert await d.briefs("agent1") == ["NewMessages Text/Agents", "NewMessages PushUrl/Agents"]
    await d.op("agent1", "SendMessage", text="We can refund you")
    assert await d.phone() == ["We can refund you"]


async def test_customer_texts_reach_every_agent_with_visibility_all(api: Api) -> None:
    d = await Desk.start(api)
    await d.conference("agent2")
    await api.text("Is anyone there?")
    for agent in ("agent1", "agent2"):
        (ev,) = await d.seen(agent)
        (m,) = ev["messages"]
        assert (m["type"], m["visibility"], m["text"], m["from"]["type"]) == (
            "Text",
            "All",
            "Is anyone there?",
            "Customer",
        )


async def test_sends_validate_their_parameters_and_change_nothing(api: Api) -> None:
    d = await Desk.start(api)
    before = await d.version()
    await d.op("agent1", "SendMessage", 1)
    await d.op("agent1", "SendMessage", 10, text="   ")
    await d.op("agent1", "SendUrl", 1)
    await d.op("agent1", "SendUrl", 10, url="javascript:alert(1)")
    await d.op("agent1", "SendCustomNotice", 1)
    await d.op("agent1", "SendMessage", 10, text="x" * 5000)
    await d.op("agent1", "SendToAgents", 2, text="nobody to hear")  # no conference: not a capability
    assert await d.version() == before
    await d.quiet()
    assert await d.phone() == []

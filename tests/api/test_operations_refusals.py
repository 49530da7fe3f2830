"""Operations not allowed in the caller's state or role answer statusCode 2 (not valid now) or 5 (no
permission), 6 for a session the caller has no part in, and change nothing: the stored session version does not
move, nobody is notified and nothing reaches the phone. The capability table is in
``smsdesk/domain/capabilities.py``; HTTP statuses per statusCode in ``smsdesk/api/errors.py`` (docs/api.md)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.api.conftest import Api
from tests.api.test_operations_kit import Desk

Case = tuple[str, str, dict[str, Any], int]  # user, operation, params, expected statusCode
USER = "{user:%s}"  # placeholder for a user URI, filled in at run time


async def _offered(d: Desk) -> None:
    pass


async def _solo(d: Desk) -> None:
    await d.op("agent1", "Accept")


async def _consulting(d: Desk) -> None:
    await _solo(d)
    await d.conference("agent2", consult=True)


async def _invite_pending(d: Desk) -> None:
    await _solo(d)
    await d.op("agent1", "Invite", targetUri=await d.user_uri("agent2"))


async def _conference_with_consult_pending(d: Desk) -> None:
    await _solo(d)
    await d.conference("agent2")
    await d.op("agent1", "Consult", targetUri=await d.user_uri("agent3"))


async def _left_chat(d: Desk) -> None:
    await _solo(d)
    await d.op("agent1", "Leave")


async def _completed(d: Desk) -> None:
    await _solo(d)
    await d.op("agent1", "Complete")


SCENARIOS: dict[str, tuple[Callable[[Desk], Awaitable[None]], list[Case]]] = {
    "offered": (
        _offered,
        [
            ("agent1", "SendMessage", {"text": "hi"}, 2),
            ("agent1", "Complete", {}, 2),
            ("agent1", "Leave", {}, 2),
            ("agent1", "Transfer", {"queueName": "x"}, 2),
            ("agent1", "AttachUserData", {"userData": {"a": "b"}}, 2),
            ("agent1", "SetInFocus", {}, 2),
            ("agent2", "Accept", {}, 6),  # not offered to agent2: looks like it does not exist
        ],
    ),
    "solo": (
        _solo,
        [
            ("agent1", "Accept", {}, 2),
            ("agent1", "Reject", {}, 2),
            ("agent1", "SendToAgents", {"text": "anyone?"}, 2),
            ("agent1", "SendStartTypingToAgentsNotification", {}, 2),
            ("agent1", "SendCustomNoticeToAgents", {"noticeText": "n"}, 2),
            ("agent1", "CancelConsult", {}, 2),
            ("agent1", "RemoveParticipantFromConference", {"targetUri": USER % "agent2"}, 2),
            ("agent1", "SwitchToCoach", {}, 5),
            ("agent1", "SwitchToBargeIn", {}, 5),
            ("agent1", "Invite", {"targetUri": USER % "agent1"}, 10),
            ("agent1", "Invite", {"targetUri": USER % "supervisor1"}, 2),  # not an agent: a conflict
            ("agent1", "Invite", {"targetUri": "http://127.0.0.1:8080/api/v2/users/ghost"}, 6),
            ("agent1", "Transfer", {}, 1),
            ("supervisor1", "SendMessage", {"text": "not in it"}, 5),
        ],
    ),
    "consulting": (
        _consulting,
        [
            ("agent2", "Complete", {}, 2),
            ("agent2", "Transfer", {"queueName": "x"}, 2),
            ("agent2", "Invite", {"targetUri": USER % "agent3"}, 2),
            ("agent2", "RemoveParticipantFromConference", {"targetUri": USER % "agent1"}, 5),
            ("agent1", "CancelConsult", {}, 2),  # the consultant accepted: too late (spec §6.20a)
        ],
    ),
    "invite pending": (
        _invite_pending,
        [
            ("agent2", "SendMessage", {"text": "not yet"}, 2),
            ("agent2", "Leave", {}, 2),
        ],
    ),
    "conference, consult pending": (
        _conference_with_consult_pending,
        [
            ("agent2", "CancelConsult", {}, 5),  # only the agent who started it
            # one invitation at a time: only its asker may replace it (docs/sessions.md)
            ("agent2", "Invite", {"targetUri": USER % "agent3"}, 2),
            ("agent2", "Transfer", {"targetUri": USER % "agent3"}, 2),
            ("agent3", "SendToAgents", {"text": "not yet"}, 2),
        ],
    ),
    "left chat": (
        _left_chat,
        [
            ("agent1", "SendMessage", {"text": "too late"}, 2),
            ("agent1", "Invite", {"targetUri": USER % "agent2"}, 2),
            ("agent1", "LeaveAndComplete", {}, 2),
        ],
    ),
    "completed": (
        _completed,
        [
            ("agent1", "Complete", {}, 2),
            ("agent1", "SendMessage", {"text": "hello?"}, 2),
            ("agent1", "Leave", {}, 2),
            ("agent1", "AttachUserData", {"userData": {"a": "b"}}, 2),
        ],
    ),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
async def test_refused_operations_change_nothing(api: Api, scenario: str) -> None:
    setup, cases = SCENARIOS[scenario]
    d = await Desk.start(api, accept=False)
    await d.ready("agent2", "agent3")
    await setup(d)
    texts = await d.phone()
    await d.settle()
    version = await d.version()
    for user, operation, params, code in cases:
        filled = {k: v for k, v in params.items()}
        for key, value in filled.items():
            if isinstance(value, str) and value.startswith("{user:"):
                filled[key] = await d.user_uri(value[6:-1])
        await d.op(user, operation, code, **filled)
        assert await d.version() == version, (user, operation)
        await d.quiet()
    assert await d.phone() == texts

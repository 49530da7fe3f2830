"""An agent's SMS, once the provider accepted it: the outbox row is marked sent in the same write that shows the
provider's status on the transcript message, and is marked sent on its own when that write cannot be made, so
the message is never sent twice."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Connection

from smsdesk.domain.errors import NotFound
from tests.api.conftest import Api, accepted, count_calls
from tests.api.test_session_flow import offered_session, ready


async def _replied(api: Api) -> str:
    await ready(api, "agent1")
    await api.text("Hello")
    sid = await offered_session(api)
    for body in ({"operationName": "Accept"}, {"operationName": "SendMessage", "text": "How can I help?"}):
        r = await api.post(f"/api/v2/me/smssessions/{sid}", body)
        assert accepted(r.json()) == {"statusCode": 0}
    return sid


async def _status(api: Api, sid: str) -> str | None:
    r = await api.get(f"/api/v2/me/smssessions/{sid}/messages")
    mine = next(m for m in r.json()["messages"] if m.get("text") == "How can I help?")
    return mine.get("status")


async def test_sent_and_its_status_are_one_write(api: Api) -> None:
    sid = await _replied(api)
    commits = count_calls(api.rt.store, "commit")
    alone = count_calls(api.rt.store, "mark_outbound_sent")
    await api.send_outbox()
    assert await api.phone() == ["How can I help?"]
    assert len(commits) == 1 and alone == []
    (change,) = commits[0]
    assert [pmid for _, pmid in change.outbound_sent] and change.message_updates
    assert await _status(api, sid) == "delivered"
    assert await api.rt.store.claim_outbound(10**13, 1000, 10) == []  # sent: never claimed again
    await api.send_outbox()
    assert await api.phone() == ["How can I help?"]


async def test_the_row_is_marked_sent_even_when_the_status_cannot_be_written(api: Api) -> None:
    sid = await _replied(api)

    def vanish(conn: Connection) -> None:  # the session is gone by the time the provider answers
        conn.execute(text("DELETE FROM sms_sessions WHERE id = :id"), {"id": sid})

    await api.rt.store.run_write(vanish)
    alone = count_calls(api.rt.store, "mark_outbound_sent")
    with pytest.raises(NotFound):
        await api.send_outbox()
    assert len(alone) == 1
    assert await api.rt.store.claim_outbound(10**13, 1000, 10) == []  # not sent a second time
    assert await api.phone() == ["How can I help?"]

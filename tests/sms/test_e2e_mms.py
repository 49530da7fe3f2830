"""MMS end to end through Twilio (docs/api.md, "Media"; docs/providers.md): the full app under uvicorn, the
loopback fake of Twilio (``e2e_harness.FakeTwilio``) posting signed webhooks with ``MediaUrlN`` and serving the
media behind the account's credentials and a redirect, agents on the REST API.

A picture is fetched once, kept in the store and served to the session's agent and to supervisors, not to
another agent; a fetch that fails keeps the text with the media marked unavailable; an agent's PushUrl goes out
as MMS (``MediaUrl``)."""

from __future__ import annotations

import httpx
import pytest

from tests.sms.e2e_harness import (
    ACCOUNT_SID,
    Agent,
    Desk,
    Twilio,
    basic_auth,
)
from tests.sms.e2e_harness import (
    TWILIO_BIZ as BIZ,
)
from tests.sms.e2e_harness import (
    TWILIO_CUST as CUST,
)
from tests.sms.images import png

pytestmark = pytest.mark.timeout(60)


async def _get(desk: Desk, path: str, user: str | None) -> httpx.Response:
    headers = {"Authorization": basic_auth(user)} if user else {}
    async with httpx.AsyncClient(base_url=desk.url, timeout=10) as client:
        return await client.get(path, headers=headers)


async def _accepted(agent: Agent) -> str:
    session = await agent.offered()
    assert (await agent.operation(session["id"], "Accept"))["statusCode"] == 0
    sid: str = session["id"]
    return sid


async def test_a_picture_is_fetched_kept_and_served_to_who_may_read_it(desk: Desk, twilio: Twilio) -> None:
    agent = desk.agent("agent1")
    await agent.ready()
    picture = png(12, 9)
    url = twilio.fake.add_media(twilio.api_base, "image/png", picture)
    r = await twilio.fake.text(
        desk.url, customer=CUST, business=BIZ, body="The broken part", media=((url, "image/png"),)
    )
    assert r.status_code == 200, r.text
    sid = await _accepted(agent)

    (message,) = [m for m in await agent.messages(sid) if m["type"] == "Text"]
    assert message["text"] == "The broken part"
    (item,) = message["media"]
    assert (item["available"], item["contentType"], item["size"]) == (True, "image/png", len(picture))
    assert item["uri"] == f"{desk.url}/api/v2{item['path']}" and item["path"] == f"/media/{item['id']}"
    assert twilio.fake.media_fetches == 1  # fetched once, when it came in

    path = f"/api/v2{item['path']}"
    got = await _get(desk, path, "agent1")
    assert got.status_code == 200 and got.content == picture
    assert got.headers["content-type"] == "image/png"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-disposition"].startswith("inline; filename=")
    assert (await _get(desk, path, "supervisor1")).content == picture
    other = await _get(desk, path, "agent2")  # not in the session: as if it did not exist
    assert other.status_code == 404 and other.json()["statusCode"] == 6
    assert (await _get(desk, path, None)).status_code == 401
    unknown = await _get(desk, "/api/v2/media/" + "0" * 32, "agent1")
    assert unknown.status_code == 404 and unknown.json()["statusCode"] == 6
    assert twilio.fake.media_fetches == 1  # served from the store, never fetched again


async def test_a_failed_fetch_keeps_the_text_and_marks_the_media_unavailable(
    desk: Desk, twilio: Twilio
) -> None:
    agent = desk.agent("agent1")
    await agent.ready()
    gone = f"{twilio.api_base}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/MMx/Media/MEdeleted"
    page = twilio.fake.add_media(twilio.api_base, "text/html", b"<script>alert(1)</script>")
    r = await twilio.fake.text(
        desk.url,
        customer=CUST,
        business=BIZ,
        body="two attachments",
        media=((gone, "image/jpeg"), (page, "text/html")),
    )
    assert r.status_code == 200, r.text
    sid = await _accepted(agent)
    (message,) = [m for m in await agent.messages(sid) if m["type"] == "Text"]
    assert message["text"] == "two attachments"
    missing, refused = message["media"]
    assert missing == {
        "contentType": "image/jpeg",
        "available": False,
        "reason": "the provider answered HTTP 404",
    }
    assert refused["available"] is False and "'text/html' is not accepted" in refused["reason"]
    assert "id" not in refused and "uri" not in refused


async def test_a_picture_alone_opens_a_session_with_an_empty_text(desk: Desk, twilio: Twilio) -> None:
    agent = desk.agent("agent1")
    await agent.ready()
    url = twilio.fake.add_media(twilio.api_base, "image/png", png())
    r = await twilio.fake.text(desk.url, customer=CUST, business=BIZ, body="", media=((url, "image/png"),))
    assert r.status_code == 200, r.text
    sid = await _accepted(agent)
    (message,) = [m for m in await agent.messages(sid) if m["type"] == "Text"]
    assert message["text"] == "" and message["media"][0]["available"] is True


async def test_an_agents_push_url_goes_out_as_mms(desk: Desk, twilio: Twilio) -> None:
    agent = desk.agent("agent1")
    await agent.ready()
    assert (
        await twilio.fake.text(desk.url, customer=CUST, business=BIZ, body="a manual?")
    ).status_code == 200
    sid = await _accepted(agent)
    link = "https://example.com/manuals/part-42.png"
    assert (await agent.operation(sid, "SendUrl", url=link))["statusCode"] == 0
    (sent,) = await twilio.fake.wait_sent(1)
    assert sent["MediaUrl"] == link and "Body" not in sent
    assert (await agent.operation(sid, "SendMessage", text="see the picture"))["statusCode"] == 0
    _, text = await twilio.fake.wait_sent(2)
    assert text["Body"] == "see the picture" and "MediaUrl" not in text

"""Media of inbound MMS through the simulator (docs/api.md, "Media"): kept with the message, served by
``GET /api/v2/media/{id}`` to exactly who may read the message, refused types and sizes kept as unavailable
with the text, bad input refused with a GWS error; an agent's PushUrl reaches the simulated phone as a link."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from smsdesk.clock import FakeClock
from tests.api.conftest import Api, accepted, make_api
from tests.api.test_session_flow import offered_session, ready
from tests.sms.images import png

CUSTOMER = "+15551230001"
BUSINESS = "+15550000000"


async def _mms(api: Api, text: str, *media: tuple[str, bytes]) -> dict[str, Any]:
    items = [{"contentType": kind, "data": base64.b64encode(data).decode()} for kind, data in media]
    r = await api.client.post(
        "/sms/simulator/inbound", json={"from": CUSTOMER, "to": BUSINESS, "text": text, "media": items}
    )
    body: dict[str, Any] = r.json()
    return body | {"_http": r.status_code}


async def _chatting(api: Api, first_text: str, *media: tuple[str, bytes]) -> str:
    await ready(api, "agent1")
    assert (await _mms(api, first_text, *media))["statusCode"] == 0
    sid = await offered_session(api, "agent1")
    r = await api.post(f"/api/v2/me/smssessions/{sid}", {"operationName": "Accept"})
    assert accepted(r.json()) == {"statusCode": 0}
    return sid


async def _texts(api: Api, sid: str, user: str = "agent1") -> list[dict[str, Any]]:
    r = await api.get(f"/api/v2/me/smssessions/{sid}/messages", user=user)
    return [m for m in r.json()["messages"] if m["type"] == "Text"]


async def test_a_picture_from_the_phone_is_kept_and_served_to_the_sessions_agent(api: Api) -> None:
    picture = png(20, 10)
    sid = await _chatting(api, "Look at this", ("image/png", picture))
    (message,) = await _texts(api, sid)
    (item,) = message["media"]
    assert item == {
        "id": item["id"],
        "contentType": "image/png",
        "size": len(picture),
        "available": True,
        "uri": f"http://127.0.0.1:8080/api/v2/media/{item['id']}",
        "path": f"/media/{item['id']}",
    }
    assert len(item["id"]) == 32  # 128 random bits
    r = await api.get(f"/api/v2/media/{item['id']}")
    assert r.status_code == 200 and r.content == picture
    assert r.headers["content-type"] == "image/png"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-disposition"] == f'inline; filename="media-{item["id"]}.png"'
    assert "sandbox" in r.headers["content-security-policy"]
    # the notification that brought the message carries the same entry
    texts = [m for e in await api.events("agent1") for m in e.get("messages", ()) if m.get("type") == "Text"]
    assert texts[0]["media"] == [item]


async def test_who_may_fetch_is_who_may_read_the_message(api: Api) -> None:
    first, second = png(rgb=(1, 2, 3)), png(rgb=(4, 5, 6))
    sid = await _chatting(api, "first", ("image/png", first))
    await ready(api, "agent2")
    target = await api.user_id("agent2")
    r = await api.post(
        f"/api/v2/me/smssessions/{sid}",
        {"operationName": "Transfer", "targetUri": f"http://127.0.0.1:8080/api/v2/users/{target}"},
    )
    assert accepted(r.json()) == {"statusCode": 0}
    r = await api.post(f"/api/v2/me/smssessions/{sid}", {"operationName": "Accept"}, user="agent2")
    assert accepted(r.json()) == {"statusCode": 0}
    assert (await _mms(api, "second", ("image/png", second)))["statusCode"] == 0

    one, two = (m["media"][0]["path"] for m in await _texts(api, sid, "agent2"))
    for user, path, allowed in [
        ("agent2", one, True),
        ("agent2", two, True),
        ("agent1", one, True),  # shown to agent1 before it left
        ("agent1", two, False),  # came after agent1 left
        ("agent3", one, False),  # never in the session
        ("supervisor1", two, True),
        ("admin", one, True),  # admins read transcripts as supervisors do
    ]:
        r = await api.get(f"/api/v2{path}", user=user)
        if allowed:
            assert r.status_code == 200, (user, path)
        else:
            assert r.status_code == 404, (user, path)
            assert (r.status_code, r.json()["statusCode"]) == (404, 6), (user, path)
    api.client.cookies.clear()  # the JSESSIONID the calls above were given
    assert (await api.client.get(f"/api/v2{one}")).status_code == 401
    r = await api.get("/api/v2/media/" + "f" * 32)
    assert (r.status_code, r.json()["statusCode"]) == (404, 6)
    r = await api.get("/api/v2/media/" + "f" * 200)
    assert (r.status_code, r.json()["statusCode"]) == (404, 6)


@pytest.fixture
async def small(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Api]:
    async for a in make_api(tmp_path, clock, media_max_bytes=2048):
        yield a


async def test_refused_media_stay_on_the_message_as_unavailable_and_the_text_is_kept(small: Api) -> None:
    big = png(64, 64, (9, 9, 9)) + bytes(4096)
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    sid = await _chatting(
        small, "three files", ("image/png", big), ("image/svg+xml", svg), ("Image/GIF; x=y", b"GIF89a..")
    )
    (message,) = await _texts(small, sid)
    assert message["text"] == "three files"
    too_big, script, gif = message["media"]
    assert too_big == {
        "contentType": "image/png",
        "available": False,
        "reason": "larger than 2048 bytes (media_max_bytes)",
    }
    assert script["available"] is False and "'image/svg+xml' is not accepted" in script["reason"]
    assert gif["available"] is True and gif["contentType"] == "image/gif"


async def test_a_picture_without_text_is_a_message(api: Api) -> None:
    sid = await _chatting(api, "", ("image/jpeg", b"\xff\xd8\xff\xe0 a jpeg"))
    (message,) = await _texts(api, sid)
    assert message["text"] == "" and message["media"][0]["contentType"] == "image/jpeg"
    r = await api.get(f"/api/v2{message['media'][0]['path']}")
    assert r.headers["content-disposition"].endswith('.jpg"')


@pytest.mark.parametrize(
    ("media", "code"),
    [
        ("not a list", 10),
        ([{"contentType": "image/png", "data": "***"}], 10),
        ([{"contentType": "image/png", "data": "AAAA=="}], 10),  # padding where none belongs
        ([{"contentType": "image/png", "data": 12}], 10),
        ([{"contentType": "image/png", "data": ""}], 1),
        ([{"contentType": "", "data": "AAAA"}], 1),
        ([{"contentType": "image/png"}], 1),
        ([{"data": "AAAA"}], 1),
        (["AAAA"], 10),
        ([{"contentType": "image/png", "data": "AAAA"}] * 4, 10),
    ],
)
async def test_bad_media_from_the_phone_is_refused(api: Api, media: Any, code: int) -> None:
    r = await api.client.post(
        "/sms/simulator/inbound", json={"from": CUSTOMER, "to": BUSINESS, "text": "x", "media": media}
    )
    assert (r.status_code, r.json()["statusCode"]) == (400, code), r.text
    assert await api.rt.store.find_open_session(CUSTOMER, BUSINESS) is None


async def test_no_text_and_no_media_is_refused(api: Api) -> None:
    r = await api.client.post("/sms/simulator/inbound", json={"from": CUSTOMER, "to": BUSINESS, "text": ""})
    assert (r.status_code, r.json()["statusCode"]) == (400, 1)


async def test_a_push_url_reaches_the_simulated_phone_as_a_link(api: Api) -> None:
    sid = await _chatting(api, "a manual?")
    link = "https://example.com/manual.pdf"
    r = await api.post(f"/api/v2/me/smssessions/{sid}", {"operationName": "SendUrl", "url": link})
    assert accepted(r.json()) == {"statusCode": 0}
    await api.send_outbox()
    assert await api.phone() == [link]


async def test_the_phones_body_is_read_up_to_its_limit(small: Api) -> None:
    # 64 KB for the rest plus media_max_bytes (2048) of pictures in base64
    r = await _mms(small, "huge", ("image/png", bytes(60_000)))
    assert (r["_http"], r["statusCode"]) == (413, 10)
    assert await small.rt.store.find_open_session(CUSTOMER, BUSINESS) is None

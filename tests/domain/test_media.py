"""MMS in the domain (docs/api.md, "Media"): a customer's message carries its ``media`` list, and may then have
an empty text; an agent's PushUrl is an outbound SMS carrying its URL as ``media_url``."""

from __future__ import annotations

import pytest

from smsdesk.domain.errors import Validation
from smsdesk.domain.operations import Operation
from smsdesk.domain.system import InboundText, open_session
from tests.domain.helpers import T0, Driver, make_ctx, notes_for

PICTURE = {"id": "m1", "contentType": "image/png", "size": 10, "available": True, "path": "/media/m1"}
GONE = {"contentType": "image/jpeg", "available": False, "reason": "the provider answered HTTP 404"}


def test_a_picture_alone_opens_a_session() -> None:
    out = open_session(
        customer_number="+15551230001",
        business_number="+15559990000",
        queue="sales",
        text="",
        now_ms=T0,
        ctx=make_ctx(),
        media=(PICTURE,),
    )
    joined, text = out.messages
    assert "media" not in joined
    assert (text["type"], text["text"], text["media"]) == ("Text", "", [PICTURE])


def test_later_pictures_join_the_transcript_and_reach_the_agent() -> None:
    d = Driver()
    d.open()
    d.offer_accept("alice")
    out = d.do(InboundText(" ", (GONE,)))  # a blank text with a picture not kept: still a message
    assert out.messages[0]["text"] == " " and out.messages[0]["media"] == [GONE]
    out = d.do(InboundText("", (PICTURE, GONE)))
    (message,) = out.messages
    assert message["media"] == [PICTURE, GONE] and message["text"] == ""
    (note,) = notes_for(out, "alice")
    assert note["messages"][0]["media"] == [PICTURE, GONE]
    assert out.outbound_sms == ()  # the customer's own message is never sent back
    plain = d.do(InboundText("and a text"))
    assert "media" not in plain.messages[0]


@pytest.mark.parametrize("text", ["", "   "])
def test_without_media_a_text_must_not_be_empty(text: str) -> None:
    d = Driver()
    d.open()
    with pytest.raises(Validation):
        d.do(InboundText(text))
    with pytest.raises(Validation):
        d.open(text=text)


def test_a_push_url_is_sent_with_its_url_as_media() -> None:
    d = Driver()
    d.open()
    d.offer_accept("alice")
    (url,) = d.op("alice", Operation.SEND_URL, {"url": "https://example.com/a.png"}).outbound_sms
    assert (url.text, url.media_url) == ("https://example.com/a.png", "https://example.com/a.png")
    (text,) = d.op("alice", Operation.SEND_MESSAGE, {"text": "hi"}).outbound_sms
    assert (text.text, text.media_url) == ("hi", None)

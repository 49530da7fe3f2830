from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from smsdesk.sms.base import OutboundSms, PermanentFailure, TemporaryFailure
from smsdesk.sms.config import TwilioSettings
from smsdesk.sms.twilio import TwilioProvider, messages_url

RESPONSES = json.loads((Path(__file__).parent / "fixtures" / "twilio_rest_responses.json").read_text())
SID = "AC0123456789abcdef0123456789abcdef"
SETTINGS = TwilioSettings(
    SID, "tok", api_base="http://fake-twilio.test", public_url="https://desk.example.com"
)
SMS = OutboundSms("ob-1", "+15550000001", "+15551230001", "Your order has shipped", "s1", 3)


class FakeTwilio:
    """A loopback stand-in for the Messages API: checks auth, records forms, answers as scripted."""

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []
        self.script: list[tuple[int, Any]] = []
        app = Starlette(
            routes=[Route("/2010-04-01/Accounts/{sid}/Messages.json", self.create, methods=["POST"])]
        )
        self.transport = httpx.ASGITransport(app=app)

    async def create(self, request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        expected = "Basic " + base64.b64encode(f"{SID}:tok".encode()).decode()
        if auth != expected or request.path_params["sid"] != SID:
            return JSONResponse(RESPONSES["unauthorized"], status_code=401)
        self.requests.append(dict(parse_qsl((await request.body()).decode())))
        status, body = self.script.pop(0) if self.script else (201, RESPONSES["created"])
        if isinstance(body, str):
            return Response(body, status_code=status, media_type="text/html")
        return JSONResponse(body, status_code=status)


@pytest.fixture
def twilio() -> FakeTwilio:
    return FakeTwilio()


async def test_send_posts_the_documented_form_and_returns_the_sid(twilio: FakeTwilio) -> None:
    provider = TwilioProvider(SETTINGS, transport=twilio.transport)
    await provider.start()
    try:
        result = await provider.send(SMS)
    finally:
        await provider.close()
    assert (result.provider_message_id, result.status) == ("SM33333333333333333333333333333333", "queued")
    assert twilio.requests == [
        {
            "To": "+15551230001",
            "From": "+15550000001",
            "Body": "Your order has shipped",
            "StatusCallback": "https://desk.example.com/sms/twilio/status?outbox=ob-1",
        }
    ]
    assert messages_url(SETTINGS) == f"http://fake-twilio.test/2010-04-01/Accounts/{SID}/Messages.json"


async def test_no_status_callback_without_public_url(twilio: FakeTwilio) -> None:
    settings = TwilioSettings(SID, "tok", api_base="http://fake-twilio.test")
    provider = TwilioProvider(settings, transport=twilio.transport)
    await provider.send(SMS)
    await provider.close()
    assert "StatusCallback" not in twilio.requests[0]


@pytest.mark.parametrize(
    ("status", "body", "error", "message"),
    [
        (400, RESPONSES["invalid_to"], PermanentFailure, "Twilio error 21211: Invalid 'To' Phone Number"),
        (404, "<html>nope</html>", PermanentFailure, "HTTP 404"),
        (429, RESPONSES["too_many_requests"], TemporaryFailure, "20429"),
        (500, RESPONSES["server_error"], TemporaryFailure, "20500"),
        (503, "<html>maintenance</html>", TemporaryFailure, "HTTP 503"),
        (201, {"status": "queued"}, TemporaryFailure, "without a message sid"),
        (201, "not json", TemporaryFailure, "without a message sid"),
    ],
)
async def test_error_mapping(
    twilio: FakeTwilio, status: int, body: Any, error: type[Exception], message: str
) -> None:
    twilio.script.append((status, body))
    provider = TwilioProvider(SETTINGS, transport=twilio.transport)
    with pytest.raises(error, match=message):
        await provider.send(SMS)
    await provider.close()


async def test_bad_credentials_are_permanent(twilio: FakeTwilio) -> None:
    provider = TwilioProvider(
        TwilioSettings(SID, "wrong", api_base="http://fake-twilio.test"), transport=twilio.transport
    )
    with pytest.raises(PermanentFailure, match="20003"):
        await provider.send(SMS)
    await provider.close()


@pytest.mark.parametrize(
    ("exc", "message"),
    [(httpx.ConnectError("refused"), "cannot reach Twilio"), (httpx.ReadTimeout("slow"), "did not answer")],
)
async def test_network_errors_are_temporary(exc: Exception, message: str) -> None:
    def boom(request: httpx.Request) -> httpx.Response:
        raise exc

    provider = TwilioProvider(SETTINGS, transport=httpx.MockTransport(boom))
    with pytest.raises(TemporaryFailure, match=message):
        await provider.send(SMS)
    await provider.close()


async def test_real_loopback_server_is_refused_cleanly() -> None:
    settings = TwilioSettings(SID, "tok", api_base="http://127.0.0.1:9", timeout_s=2)
    provider = TwilioProvider(settings)
    with pytest.raises(TemporaryFailure, match="cannot reach Twilio"):
        await provider.send(SMS)
    await provider.close()

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from starlette.applications import Starlette

from smsdesk.clock import FakeClock
from smsdesk.sms.config import TwilioSettings
from smsdesk.sms.routes import EMPTY_TWIML, build_sms_routes
from smsdesk.sms.twilio_webhooks import parse_status, public_request_url, signature_is_valid
from tests.sms.sinks import MemoryInboundSink, MemoryStatusSink
from tests.sms.twilio_sign import sign

FIXTURES = Path(__file__).parent / "fixtures"
TOKEN = "12345678901234567890123456789012"
SHARED = "whsec_shared_key_secret"
SETTINGS = TwilioSettings(
    "AC0123456789abcdef0123456789abcdef", TOKEN, public_url="https://desk.example.com", webhook_secret=SHARED
)


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def pairs(raw: list[list[str]]) -> list[tuple[str, str]]:
    return [(k, v) for k, v in raw]


class Env:
    def __init__(
        self, client: httpx.AsyncClient, inbound: MemoryInboundSink, status: MemoryStatusSink
    ) -> None:
        self.client, self.inbound, self.status = client, inbound, status

    async def post(self, path: str, params: list[tuple[str, str]], headers: dict[str, str]) -> httpx.Response:
        body = urlencode(params)
        headers = {**headers, "Content-Type": "application/x-www-form-urlencoded"}
        return await self.client.post(path, content=body, headers=headers)


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    inbound, status = MemoryInboundSink(), MemoryStatusSink()
    routes = build_sms_routes(clock=FakeClock(), inbound_sink=inbound, status_sink=status, twilio=SETTINGS)
    transport = httpx.ASGITransport(app=Starlette(routes=routes), raise_app_exceptions=False)
    # the app sits behind a proxy: it sees http://internal:8000, Twilio signed the public URL
    async with httpx.AsyncClient(transport=transport, base_url="http://internal:8000") as client:
        yield Env(client, inbound, status)


async def test_inbound_sms_with_valid_signature_is_committed_then_acked(env: Env) -> None:
    f = fixture("twilio_inbound_sms.json")
    params = pairs(f["params"])
    r = await env.post("/sms/twilio/inbound", params, {"X-Twilio-Signature": sign(TOKEN, f["url"], params)})
    assert r.status_code == 200
    assert r.text == EMPTY_TWIML and r.headers["content-type"].startswith("text/xml")
    (msg,) = env.inbound.stored
    assert (msg.provider, msg.provider_message_id) == ("twilio", "SM11111111111111111111111111111111")
    assert (msg.from_number, msg.to_number, msg.text) == (
        "+15551230001",
        "+15550000001",
        "Hi, is my order shipped?",
    )
    assert msg.received_ms == FakeClock().now_ms()


async def test_provider_retry_is_idempotent(env: Env) -> None:
    f = fixture("twilio_inbound_sms.json")
    params = pairs(f["params"])
    headers = {"X-Twilio-Signature": sign(TOKEN, f["url"], params)}
    for _ in range(2):
        assert (await env.post("/sms/twilio/inbound", params, headers)).status_code == 200
    assert env.inbound.calls == 2 and len(env.inbound.stored) == 1


async def test_inbound_mms_carries_media_urls(env: Env) -> None:
    f = fixture("twilio_inbound_mms.json")
    params = pairs(f["params"])
    r = await env.post("/sms/twilio/inbound", params, {"X-Twilio-Signature": sign(TOKEN, f["url"], params)})
    assert r.status_code == 200
    (msg,) = env.inbound.stored
    (media,) = msg.media
    assert (media.url, media.content_type) == (dict(params)["MediaUrl0"], "image/jpeg")
    assert media.data is None  # no fetcher here: the inbound sink stores it unavailable ("no content")
    assert msg.text == "Here is the photo of the broken part"


async def test_the_signature_covers_the_media_parameters(env: Env) -> None:
    f = fixture("twilio_inbound_mms.json")
    params = pairs(f["params"])
    headers = {"X-Twilio-Signature": sign(TOKEN, f["url"], params)}
    swapped = [(k, "https://evil.example/x.jpg" if k == "MediaUrl0" else v) for k, v in params]
    assert (await env.post("/sms/twilio/inbound", swapped, headers)).status_code == 403
    retyped = [(k, "text/html" if k == "MediaContentType0" else v) for k, v in params]
    assert (await env.post("/sms/twilio/inbound", retyped, headers)).status_code == 403
    assert env.inbound.stored == []


@pytest.mark.parametrize(
    "mutate",
    ["wrong_token", "no_header", "tampered_body", "added_param", "internal_url", "sha256_with_token_only"],
)
async def test_bad_signature_is_403_and_changes_nothing(env: Env, mutate: str) -> None:
    f = fixture("twilio_inbound_sms.json")
    params = pairs(f["params"])
    headers = {"X-Twilio-Signature": sign(TOKEN, f["url"], params)}
    if mutate == "wrong_token":
        headers["X-Twilio-Signature"] = sign("not-the-token", f["url"], params)
    elif mutate == "no_header":
        headers = {}
    elif mutate == "tampered_body":
        params = [(k, "Send me money" if k == "Body" else v) for k, v in params]
    elif mutate == "added_param":
        params = [*params, ("Extra", "1")]
    elif mutate == "internal_url":
        headers["X-Twilio-Signature"] = sign(TOKEN, "http://internal:8000/sms/twilio/inbound", params)
    elif mutate == "sha256_with_token_only":
        headers = {
            "X-Twilio-Signature": sign(TOKEN, f["url"], params, sha256=True),
            "X-Twilio-Webhooks-Signature-Settings": "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256",
        }
    r = await env.post("/sms/twilio/inbound", params, headers)
    assert r.status_code == 403
    assert r.json()["statusCode"] == 3 and "X-Twilio-Signature" in r.json()["statusMessage"]
    assert env.inbound.calls == 0


async def test_sha256_shared_key_variant(env: Env) -> None:
    f = fixture("twilio_inbound_sms.json")
    params = pairs(f["params"])
    headers = {
        "X-Twilio-Signature": sign(SHARED, f["url"], params, sha256=True),
        "X-Twilio-Webhooks-Signature-Settings": "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256",
    }
    assert (await env.post("/sms/twilio/inbound", params, headers)).status_code == 200
    assert len(env.inbound.stored) == 1


async def test_unknown_signature_algorithm_is_refused(env: Env) -> None:
    f = fixture("twilio_inbound_sms.json")
    params = pairs(f["params"])
    headers = {
        "X-Twilio-Signature": sign(TOKEN, f["url"], params),
        "X-Twilio-Webhooks-Signature-Settings": "algorithm=HMAC_MD5",
    }
    assert (await env.post("/sms/twilio/inbound", params, headers)).status_code == 403


@pytest.mark.parametrize(
    ("drop", "replace", "code", "needle"),
    [
        ("From", None, 1, "From"),
        (None, ("From", "not-a-number"), 10, "not-a-number"),
        (None, ("NumMedia", "eleven"), 10, "NumMedia"),
        (None, ("NumMedia", "2"), 1, "MediaUrl0"),
        ("Body", None, 1, "Body"),
    ],
)
async def test_signed_but_malformed_is_400(
    env: Env, drop: str | None, replace: tuple[str, str] | None, code: int, needle: str
) -> None:
    f = fixture("twilio_inbound_sms.json")
    params = [(k, v) for k, v in pairs(f["params"]) if k != drop]
    if replace:
        params = [(k, replace[1] if k == replace[0] else v) for k, v in params]
    r = await env.post("/sms/twilio/inbound", params, {"X-Twilio-Signature": sign(TOKEN, f["url"], params)})
    assert r.status_code == 400
    assert r.json()["statusCode"] == code and needle in r.json()["statusMessage"]
    assert env.inbound.stored == []


async def test_sink_failure_is_not_acknowledged(env: Env) -> None:
    env.inbound.fail_next = 1
    f = fixture("twilio_inbound_sms.json")
    params = pairs(f["params"])
    r = await env.post("/sms/twilio/inbound", params, {"X-Twilio-Signature": sign(TOKEN, f["url"], params)})
    assert r.status_code == 500 and EMPTY_TWIML not in r.text


@pytest.mark.parametrize(
    ("name", "status", "error"),
    [
        ("queued", "queued", None),
        ("sent", "sent", None),
        ("delivered", "delivered", None),
        ("undelivered", "undelivered", "Twilio error 30003"),
        ("failed", "failed", "Twilio error 30008 Unknown error"),
    ],
)
async def test_status_callbacks(env: Env, name: str, status: str, error: str | None) -> None:
    f = fixture("twilio_status_callbacks.json")
    params = pairs(f["callbacks"][name])
    r = await env.post("/sms/twilio/status", params, {"X-Twilio-Signature": sign(TOKEN, f["url"], params)})
    assert r.status_code == 200
    (update,) = env.status.updates
    assert (update.provider, update.provider_message_id) == ("twilio", "SM22222222222222222222222222222222")
    assert (update.status, update.error) == (status, error)


async def test_status_callback_needs_signature_and_ignores_inbound_statuses(env: Env) -> None:
    f = fixture("twilio_status_callbacks.json")
    params = pairs(f["callbacks"]["delivered"])
    assert (await env.post("/sms/twilio/status", params, {"X-Twilio-Signature": "AAAA"})).status_code == 403
    received = [(k, "received" if k in {"MessageStatus", "SmsStatus"} else v) for k, v in params]
    r = await env.post(
        "/sms/twilio/status", received, {"X-Twilio-Signature": sign(TOKEN, f["url"], received)}
    )
    assert r.status_code == 200
    missing = [(k, v) for k, v in params if k not in {"MessageSid", "SmsSid"}]
    r = await env.post("/sms/twilio/status", missing, {"X-Twilio-Signature": sign(TOKEN, f["url"], missing)})
    assert r.status_code == 400
    assert env.status.updates == []


def test_public_url_rebuilding_and_pure_helpers() -> None:
    assert public_request_url("http://10.0.0.5:8000/sms/twilio/inbound?a=1", "https://x.io/") == (
        "https://x.io/sms/twilio/inbound?a=1"
    )
    assert public_request_url("http://h/p", "") == "http://h/p"
    assert not signature_is_valid(
        url="https://x", form=[], signature=None, settings_header=None, auth_token="t"
    )
    assert parse_status([("MessageSid", "SM1"), ("MessageStatus", "brand_new_status")]) is None

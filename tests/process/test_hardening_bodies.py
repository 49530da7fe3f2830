"""Issue 20, findings 1, 8 and 10, against real server processes: bodies are refused at their limit, chunked or
not, without the server reading (or holding) what lies beyond; deep nesting is a 400, never a 500; a multipart
Twilio webhook is refused before its body is read."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.process.harness import Served, basic, chunked_flood, served, unsent_body

# real processes on a shared machine: bounded by their own waits, not by the suite's 120 s
pytestmark = pytest.mark.timeout(600)

FLOOD = 96 * 1024 * 1024  # far above every limit (1 MB for the API, 256 KB for CometD, 64 KB for webhooks)
JSON = {"Content-Type": "application/json"}
TWILIO = {
    "SMSDESK_TWILIO_ACCOUNT_SID": "AC0000",
    "SMSDESK_TWILIO_AUTH_TOKEN": "secret-token",
    "SMSDESK_TWILIO_NUMBERS": "+15550000099",
}


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("serve")
    with served(tmp, users=[("admin", "admin"), ("agent1", "agent")], env=TWILIO) as s:
        yield s


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with served(tmp_path_factory.mktemp("demo"), "demo") as s:
        yield s


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/api/v2/notifications", JSON),  # the unauthenticated handshake's endpoint
        ("/api/v2/me/channels/sms", {**JSON, "Authorization": basic("agent1")}),  # a hot path
        ("/api/v2/users", {**JSON, "Authorization": basic("admin")}),  # behind FastAPI's stack
        ("/sms/twilio/inbound", {"Content-Type": "application/x-www-form-urlencoded"}),
    ],
)
def test_a_chunked_flood_is_refused_at_the_limit_and_not_held(
    serve: Served, path: str, headers: dict[str, str]
) -> None:
    before = serve.rss_kb()
    status, body, _sent = chunked_flood(serve.port, path, headers, FLOOD)
    assert status == 413, body
    if path.startswith("/api/v2/notifications"):
        assert body.startswith(b'[{"successful":false,"error":"413::')
    else:
        assert b'"statusCode":10' in body and b"too large" in body
    grown_mb = (serve.rss_kb() - before) / 1024
    assert grown_mb < 48, f"the server grew by {grown_mb:.0f} MB reading a body it refuses"


def test_the_simulator_refuses_a_flood_at_its_limit(demo: Served) -> None:
    before = demo.rss_kb()
    status, body, _sent = chunked_flood(demo.port, "/sms/simulator/inbound", JSON, FLOOD)
    assert status == 413 and b'"statusCode":10' in body
    assert (demo.rss_kb() - before) / 1024 < 48


def test_a_declared_length_above_the_limit_is_refused_before_the_body(serve: Served) -> None:
    status, _, body = unsent_body(serve.port, "/api/v2/notifications", JSON, 10**9)
    assert status == 413 and b"413::" in body
    headers = {**JSON, "Authorization": basic("agent1")}
    status, _, body = unsent_body(serve.port, "/api/v2/me/channels/sms", headers, 10**9)
    assert status == 413 and b'"statusCode":10' in body


def test_a_multipart_twilio_webhook_is_refused_before_its_body_is_read(serve: Served) -> None:
    headers = {"Content-Type": "multipart/form-data; boundary=xyz"}
    for path in ("/sms/twilio/inbound", "/sms/twilio/status"):
        status, _, body = unsent_body(serve.port, path, headers, 500 * 1024 * 1024)
        assert status == 415 and b'"statusCode":10' in body


NESTED = "[" * 5000 + "]" * 5000


def test_deep_nesting_is_a_400_everywhere(demo: Served, serve: Served) -> None:
    with demo.client() as c:
        body = '{"from": "+15551230001", "to": "+15550000000", "text": ' + NESTED + "}"
        r = c.post("/sms/simulator/inbound", content=body, headers=JSON)
        assert r.status_code == 400 and r.json()["statusCode"] == 10
        shallow = (
            '{"from": "+15551230001", "to": "+15550000000", "text": "hi", "x": ' + "[" * 40 + "]" * 40 + "}"
        )
        r = c.post("/sms/simulator/inbound", content=shallow, headers=JSON)
        assert r.status_code == 400 and "deeper" in r.json()["statusMessage"]
    with serve.client() as c:
        for path in ("/api/v2/me/channels/sms", "/api/v2/me"):
            body = '{"operationName": "Ready", "x": ' + NESTED + "}"
            r = c.post(path, content=body, headers={**JSON, "Authorization": basic("agent1")})
            assert r.status_code == 400 and r.json()["statusCode"] == 10, r.text
        r = c.post(
            "/api/v2/notifications",
            content='[{"channel": "/meta/handshake", "ext": ' + NESTED + "}]",
            headers=JSON,
        )
        assert r.status_code == 400 and r.json()[0]["error"].startswith("400::")


def test_the_server_still_serves_after_the_attacks(serve: Served, tmp_path: Path) -> None:
    with serve.client() as c:
        r = c.get("/api/v2/me", headers={"Authorization": basic("agent1")})
        assert r.status_code == 200 and r.json()["statusCode"] == 0

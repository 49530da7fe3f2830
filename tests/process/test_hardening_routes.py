"""Issue 20, findings 3 and 9, against real server processes: a reply leaves through the provider the
conversation came in on (never the simulator by default), startup refuses a number no provider serves, and
userData is bounded on every operation that writes it."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from tests.process.harness import Served, basic, served
from tests.serving import free_port
from tests.sms.twilio_sign import sign

# real processes on a shared machine: bounded by their own waits, not by the suite's 120 s
pytestmark = pytest.mark.timeout(600)

USERS = [("admin", "admin"), ("agent1", "agent")]
TOKEN = "twilio-token"
TWILIO_NUMBER = "+15550000099"
OTHER_NUMBER = "+15550000111"  # also the account's, but not listed in SMSDESK_TWILIO_NUMBERS
CUSTOMER = "+15551239876"


class _FakeTwilio(BaseHTTPRequestHandler):
    sent: list[dict[str, str]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", "0"))
        form = dict(parse_qsl(self.rfile.read(length).decode()))
        type(self).sent.append(form)
        body = json.dumps({"sid": f"SM{len(type(self).sent):032d}", "status": "queued"}).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def fake_twilio() -> Iterator[tuple[str, list[dict[str, str]]]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeTwilio)
    _FakeTwilio.sent = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", _FakeTwilio.sent
    finally:
        server.shutdown()


def _wait(check: Callable[[], Any], what: str, within_s: float = 60) -> Any:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _accept_offer(c: httpx.Client, agent: str = "agent1") -> str:
    auth = {"Authorization": basic(agent)}
    assert (
        c.post("/api/v2/me/channels/sms", json={"operationName": "Ready"}, headers=auth).json()["statusCode"]
        == 0
    )

    def invited() -> list[dict[str, Any]]:
        sessions = c.get("/api/v2/me/smssessions?fields=*", headers=auth).json()["smssessions"]
        return [s for s in sessions if s["state"] == "Invited"]

    session_id: str = _wait(invited, "an offer")[0]["id"]
    r = c.post(f"/api/v2/me/smssessions/{session_id}", json={"operationName": "Accept"}, headers=auth)
    assert r.json()["statusCode"] == 0
    return session_id


def test_a_reply_leaves_through_the_provider_the_conversation_came_in_on(
    tmp_path: Path, fake_twilio: tuple[str, list[dict[str, str]]]
) -> None:
    api_base, sent = fake_twilio
    port = free_port()
    env = {
        "SMSDESK_SIMULATOR_ENABLED": "1",
        "SMSDESK_TWILIO_ACCOUNT_SID": "AC0000",
        "SMSDESK_TWILIO_AUTH_TOKEN": TOKEN,
        "SMSDESK_TWILIO_API_BASE": api_base,
        "SMSDESK_TWILIO_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "SMSDESK_TWILIO_NUMBERS": TWILIO_NUMBER,
        "SMSDESK_SMS_DEFAULT_PROVIDER": "simulator",  # numbers not listed fall back to the simulator
    }
    with served(tmp_path, users=USERS, env=env, port=port) as s, s.client() as c:
        form = [("MessageSid", "SM" + "1" * 32), ("From", CUSTOMER), ("To", OTHER_NUMBER), ("Body", "hi")]
        url = f"{s.url}/sms/twilio/inbound"
        r = c.post(url, data=dict(form), headers={"X-Twilio-Signature": sign(TOKEN, url, form)})
        assert r.status_code == 200, r.text
        session_id = _accept_offer(c)
        r = c.post(
            f"/api/v2/me/smssessions/{session_id}",
            json={"operationName": "SendMessage", "text": "hello back"},
            headers={"Authorization": basic("agent1")},
        )
        assert r.json()["statusCode"] == 0
        _wait(lambda: [m for m in sent if m.get("Body") == "hello back"], "the reply at Twilio")
        assert sent[-1]["To"] == CUSTOMER and sent[-1]["From"] == OTHER_NUMBER
        phone = c.get(
            "/sms/simulator/outbound", params={"to": CUSTOMER}, headers={"Authorization": basic("admin")}
        )
        assert phone.json()["messages"] == []  # nothing leaked to the simulator


def _start(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in __import__("os").environ.items() if not k.startswith("SMSDESK_")}
    cmd = [sys.executable, "-m", "smsdesk", "serve", "--port", str(free_port())]
    cmd += ["--database", f"sqlite:///{tmp_path / 'refused.db'}"]
    return subprocess.run(cmd, env=base | env, cwd=tmp_path, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (  # two providers, no default: a mapped number nobody serves
            {
                "SMSDESK_SIMULATOR_ENABLED": "1",
                "SMSDESK_SMPP_HOST": "127.0.0.1",
                "SMSDESK_SMPP_SYSTEM_ID": "desk",
                "SMSDESK_NUMBER_QUEUES": '{"+15550000123": "vip"}',
            },
            "no SMS provider serves +15550000123",
        ),
        ({"SMSDESK_SIMULATOR_NUMBERS": "+15550000000"}, "the simulator is off"),  # serve: off by default
    ],
)
def test_startup_refuses_a_number_no_provider_serves(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    done = _start(tmp_path, env)
    assert done.returncode == 2, done.stderr[-2000:]
    assert message in done.stderr


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("userdata")
    with served(
        tmp, users=[*USERS, ("supervisor1", "supervisor")], env={"SMSDESK_SIMULATOR_ENABLED": "1"}
    ) as s:
        yield s


@pytest.mark.parametrize(
    ("operation", "fields"),
    [
        ("AttachUserData", {"userData": {f"k{i}": "v" for i in range(150)}}),  # keys
        ("UpdateUserData", {"userData": {"k" * 300: "v"}}),  # key length
        ("AttachUserData", {"userData": {"note": "x" * 10_000}}),  # value length
        ("UpdateUserData", {"userData": {f"k{i}": "x" * 4000 for i in range(20)}}),  # total size
        ("SetDisposition", {"disposition": "x" * 10_000}),
    ],
)
def test_user_data_is_bounded(desk: Served, operation: str, fields: dict[str, Any]) -> None:
    with desk.client() as c:
        customer = f"+1555{abs(hash((operation, str(fields)[:50]))) % 10_000_000:07d}"
        inbound = {"from": customer, "to": "+15550000000", "text": "hi"}
        assert (
            c.post(
                "/sms/simulator/inbound", json=inbound, headers={"Authorization": basic("admin")}
            ).status_code
            == 200
        )
        session_id = _accept_offer(c)
        auth = {"Authorization": basic("agent1")}
        r = c.post(
            f"/api/v2/me/smssessions/{session_id}", json={"operationName": operation, **fields}, headers=auth
        )
        assert r.status_code == 400 and r.json()["statusCode"] == 10, r.text
        small = {"operationName": "AttachUserData", "userData": {"note": "fine"}}
        assert (
            c.post(f"/api/v2/me/smssessions/{session_id}", json=small, headers=auth).json()["statusCode"] == 0
        )
        r = c.post(f"/api/v2/me/smssessions/{session_id}", json={"operationName": "Complete"}, headers=auth)
        assert r.json()["statusCode"] == 0

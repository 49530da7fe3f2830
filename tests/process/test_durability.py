"""Nothing acknowledged to a client is lost on ``kill -9`` and restart (a real ``smsdesk serve`` process)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.serving import free_port, wait_serving

pytestmark = pytest.mark.timeout(
    900
)  # two starts, each may take minutes on a loaded machine (tests/serving.py)
AUTH = ("admin", "password")


class Server:
    def __init__(self, db: Path, port: int) -> None:
        self.db, self.port = db, port
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        # presence off (agent1 has no CometD client) and offers that never lapse: a slow restart must not
        # make agent1 NotReady or take its sessions back
        env = {
            **os.environ,
            "SMSDESK_LOG_LEVEL": "warning",
            "SMSDESK_PRESENCE_GRACE_S": "0",
            "SMSDESK_OFFER_TIMEOUT_S": "3600",
        }
        log = self.db.with_suffix(".log")
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "smsdesk",
                    "demo",
                    "--port",
                    str(self.port),
                    "--database",
                    f"sqlite:///{self.db}",
                ],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_serving(self.url, self.proc, log)

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    s = Server(tmp_path / "durable.db", free_port())
    s.start()
    yield s
    s.stop()


def test_acknowledged_writes_survive_kill_9(server: Server) -> None:
    c = httpx.Client(base_url=server.url, timeout=10)
    r = c.post(
        "/api/v2/users",
        json={"userName": "durable", "password": "pw1234", "roles": ["ROLE_AGENT"]},
        auth=AUTH,
    )
    assert r.json()["statusCode"] == 0
    r = c.post(
        "/api/v2/me/channels/sms",
        json={"operationName": "NotReady", "reason": "Lunch"},
        auth=("agent2", "password"),
    )
    assert r.json()["statusCode"] == 2  # logged out: refused, and nothing written
    r = c.post("/api/v2/me/channels/sms", json={"operationName": "Ready"}, auth=("agent1", "password"))
    assert r.json() == {"statusCode": 0}
    acks = []
    for i in range(20):
        r = c.post(
            "/sms/simulator/inbound", json={"from": f"+1555123{i:04d}", "to": "+15550000000", "text": f"m{i}"}
        )
        assert r.status_code == 200
        acks.append(r.json()["messageId"])
    server.kill9()
    server.start()
    c = httpx.Client(base_url=server.url, timeout=10)
    assert c.get("/api/v2/me", auth=("durable", "pw1234")).json()["user"]["userName"] == "durable"
    state = c.get("/api/v2/me/channels", auth=("agent1", "password")).json()["channels"][0]["userState"][
        "state"
    ]
    assert state == "Ready"
    # every acknowledged inbound SMS is in a session: agent1 (capacity 3) holds 3, the rest wait in the queue
    uris = c.get("/api/v2/me/smssessions", auth=("agent1", "password")).json()["uris"]
    assert len(uris) == 3
    r = c.post("/sms/simulator/inbound", json={"from": "+15551230000", "to": "+15550000000", "text": "again"})
    assert r.status_code == 200
    sessions = c.get("/api/v2/me/smssessions?fields=*", auth=("agent1", "password")).json()["smssessions"]
    assert len(sessions) == 3

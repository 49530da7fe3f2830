"""Nothing acknowledged to a client is lost on ``kill -9`` and restart (a real ``smsdesk serve`` process)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

AUTH = ("admin", "password")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Server:
    def __init__(self, db: Path, port: int) -> None:
        self.db, self.port = db, port
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {**os.environ, "SMSDESK_LOG_LEVEL": "warning"}
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
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("server did not start")

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
    s = Server(tmp_path / "durable.db", _free_port())
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

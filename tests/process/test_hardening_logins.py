"""Issue 20, finding 4, against a real ``smsdesk serve --workers 2``: failed logins are throttled per user name
and per client address whichever worker answers (the counts are in the store), with HTTP 429 and
``Retry-After``; other users keep logging in. Client addresses are told apart by ``X-Forwarded-For``, which
uvicorn honours from a loopback proxy."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.process.harness import basic, served

# real processes on a shared machine: bounded by their own waits, not by the suite's 120 s
pytestmark = pytest.mark.timeout(600)

USERS = [("agent1", "agent"), ("agent2", "agent"), ("agent3", "agent")]
LIMITS = {"SMSDESK_LOGIN_MAX_FAILURES_PER_USER": "4", "SMSDESK_LOGIN_MAX_FAILURES_PER_ADDRESS": "6"}


def _me(url: str, user: str, password: str, address: str) -> httpx.Response:
    # a new connection per request: the kernel hands each to either worker
    headers = {"Authorization": basic(user, password), "X-Forwarded-For": address}
    return httpx.get(f"{url}/api/v2/me", headers=headers, timeout=60)


def test_failed_logins_are_throttled_per_user_and_per_address_on_every_worker(tmp_path: Path) -> None:
    with served(tmp_path, users=USERS, env=LIMITS, args=["--workers", "2"]) as s:
        for i in range(4):  # one user name, from four addresses
            assert _me(s.url, "agent1", "wrong", f"10.0.0.{i}").status_code == 401
        refused = _me(s.url, "agent1", "password", "10.0.1.1")  # the right password, a fresh address
        assert refused.status_code == 429 and refused.json()["statusCode"] == 3
        assert 1 <= int(refused.headers["retry-after"]) <= 300
        handshake = [{"channel": "/meta/handshake", "supportedConnectionTypes": ["long-polling"]}]
        r = httpx.post(
            f"{s.url}/api/v2/notifications",
            json=handshake,
            headers={"Authorization": basic("agent1"), "X-Forwarded-For": "10.0.1.2"},
            timeout=60,
        )
        assert r.json()[0]["successful"] is False  # CometD's Basic logins count alike
        assert _me(s.url, "agent2", "password", "10.0.1.1").status_code == 200  # others log in

        for i in range(6):  # one address, six user names (unknown ones too)
            assert _me(s.url, f"guess{i}", "wrong", "10.9.9.9").status_code == 401
        assert _me(s.url, "agent3", "password", "10.9.9.9").status_code == 429
        assert _me(s.url, "agent3", "password", "10.9.9.8").status_code == 200

"""Login throttling and the password verifier (``api/login_guard.py``), in process: the answers and what is
verified. The same limits against a real server with two workers: tests/process/test_hardening_logins.py."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import httpx

from smsdesk.clock import FakeClock
from tests.api.conftest import Api, basic, make_api


def _record_verifications(api: Api) -> list[str]:
    hashes: list[str] = []
    passwords = api.rt.passwords
    verify = passwords.verify

    def recording(password_hash: str, password: str) -> bool:
        hashes.append(password_hash)
        return verify(password_hash, password)

    passwords.verify = recording  # type: ignore[method-assign]
    return hashes


async def test_an_unknown_or_disabled_user_costs_a_verification_like_a_wrong_password(api: Api) -> None:
    hashes = _record_verifications(api)
    r = await api.client.get("/api/v2/me", headers=basic("nobody-here", "x"))
    assert r.status_code == 401 and len(hashes) == 1  # a dummy hash, verified all the same
    r = await api.client.get("/api/v2/me", headers=basic("agent1", "wrong"))
    assert r.status_code == 401 and len(hashes) == 2


async def test_too_many_failures_for_a_user_are_answered_429_with_retry_after(tmp_path: Path) -> None:
    clock = FakeClock()
    async for api in make_api(tmp_path, clock, login_max_failures_per_user=3, login_failure_window_s=60):
        for i in range(3):
            r = await api.client.get("/api/v2/me", headers={**basic("agent1", "wrong"), "x-n": str(i)})
            assert r.status_code == 401
        r = await api.client.get("/api/v2/me", headers=basic("agent1"))
        assert r.status_code == 429 and r.json()["statusCode"] == 3
        assert 1 <= int(r.headers["retry-after"]) <= 60
        assert (await api.client.get("/api/v2/me", headers=basic("agent2"))).status_code == 200
        clock.advance(61)
        assert (await api.client.get("/api/v2/me", headers=basic("agent1"))).status_code == 200


async def test_a_success_clears_the_users_count(tmp_path: Path) -> None:
    async for api in make_api(tmp_path, FakeClock(), login_max_failures_per_user=3):
        for _ in range(2):
            assert (await api.client.get("/api/v2/me", headers=basic("agent1", "wrong"))).status_code == 401
        api.client.cookies.clear()
        assert (await api.client.get("/api/v2/me", headers=basic("agent1"))).status_code == 200
        api.app.state.authenticator.forget_user(await api.user_id("agent1"))
        for _ in range(2):
            assert (await api.client.get("/api/v2/me", headers=basic("agent1", "wrong"))).status_code == 401
        api.client.cookies.clear()
        assert (await api.client.get("/api/v2/me", headers=basic("agent1"))).status_code == 200


async def test_one_address_has_at_most_two_logins_in_progress_and_the_others_wait(api: Api) -> None:
    release = threading.Event()
    running: list[int] = []
    at_once = [0]
    passwords = api.rt.passwords
    verify = passwords.verify

    def slow(password_hash: str, password: str) -> bool:
        running.append(1)
        at_once[0] = max(at_once[0], len(running))
        release.wait(30)
        running.pop()
        return verify(password_hash, password)

    passwords.verify = slow  # type: ignore[method-assign]
    transport = httpx.ASGITransport(app=api.app)  # every request from the same address
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        names = ("a", "b", "c", "d")
        pending = [asyncio.ensure_future(c.get("/api/v2/me", headers=basic(u, "wrong"))) for u in names]
        for _ in range(100):
            await asyncio.sleep(0.05)
            if len(running) == 2:
                break
        await asyncio.sleep(0.3)
        assert len(running) == 2 and not any(p.done() for p in pending)  # two verify, two wait in line
        release.set()
        assert [r.status_code for r in await asyncio.gather(*pending)] == [401] * 4
    assert at_once[0] == 2

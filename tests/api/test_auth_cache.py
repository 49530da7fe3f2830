"""The authenticator's caches: a cached Basic credential or JSESSIONID is answered without the store, and
``forget_user`` revokes at once what the TTLs would otherwise keep (``smsdesk/api/auth.py``)."""

from __future__ import annotations

from dataclasses import replace

from tests.api.conftest import Api, basic


async def _disable(api: Api, name: str) -> None:
    u = await api.rt.store.get_user_by_name(name)
    assert u is not None
    await api.rt.store.update_user(replace(u, enabled=False))


async def test_cached_basic_and_session_do_not_read_the_store_until_forget_user(api: Api) -> None:
    r = await api.client.get("/api/v2/me", headers=basic("agent2"))
    assert r.status_code == 200
    cookie = r.cookies["JSESSIONID"]
    api.client.cookies.clear()
    await _disable(api, "agent2")  # the store says no; the caches have not looked again
    again = await api.client.get("/api/v2/me", headers=basic("agent2"))
    assert again.status_code == 200 and again.json()["user"]["userName"] == "agent2"
    api.client.cookies.clear()
    by_cookie = await api.client.get("/api/v2/me", headers={"Cookie": f"JSESSIONID={cookie}"})
    assert by_cookie.status_code == 200
    api.client.cookies.clear()
    api.app.state.authenticator.forget_user(again.json()["user"]["id"])
    denied = await api.client.get("/api/v2/me", headers=basic("agent2"))
    assert denied.status_code == 401
    api.client.cookies.clear()
    denied2 = await api.client.get("/api/v2/me", headers={"Cookie": f"JSESSIONID={cookie}"})
    assert denied2.status_code == 401


async def test_cached_basic_keeps_the_session_it_created(api: Api) -> None:
    first = await api.client.get("/api/v2/me", headers=basic("agent3"))
    api.client.cookies.clear()
    second = await api.client.get("/api/v2/me", headers=basic("agent3"))
    assert first.cookies["JSESSIONID"] == second.cookies["JSESSIONID"]
    assert second.json()["user"]["userName"] == "agent3"


async def test_a_basic_login_is_cached_once_per_session_and_credentials_sharing_one_principal(
    api: Api,
) -> None:
    auth = api.app.state.authenticator
    for name in ("agent1", "agent2"):
        r = await api.client.get("/api/v2/me", headers=basic(name))
        assert r.status_code == 200
        api.client.cookies.clear()
    sessions = list(auth._sessions.values())
    credentials = list(auth._basic.values())
    assert len(sessions) == 2 and len(credentials) == 2
    for c in credentials:
        s = auth._sessions[c.session_id]
        assert c.principal is s.principal and s.principal.http_session_id == c.session_id
    assert sessions[0].principal.roles is sessions[1].principal.roles  # same roles: one shared set


async def test_passwords_are_verified_off_the_event_loop_thread(api: Api) -> None:
    import threading

    threads: list[str] = []
    passwords = api.rt.passwords
    verify = passwords.verify

    def recording_verify(password_hash: str, password: str) -> bool:
        threads.append(threading.current_thread().name)
        return verify(password_hash, password)

    passwords.verify = recording_verify  # type: ignore[method-assign]
    r = await api.client.get("/api/v2/me", headers=basic("supervisor1"))
    assert r.status_code == 200
    assert threads and threads[0] != threading.current_thread().name


def test_the_malloc_mmap_threshold_is_fixed_on_linux() -> None:
    import sys

    from smsdesk.app import _fixed_mmap_threshold

    assert _fixed_mmap_threshold() is sys.platform.startswith("linux")

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

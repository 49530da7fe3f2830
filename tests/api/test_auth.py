"""GWS login: Basic auth, JSESSIONID, CSRF (spec §9.1) and the error envelope for unauthenticated calls."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from smsdesk.clock import FakeClock
from tests.api.conftest import Api, basic, make_api


async def test_no_credentials_is_statuscode_20_with_401(api: Api) -> None:
    r = await api.client.get("/api/v2/me")
    assert r.status_code == 401
    assert r.json() == {"statusCode": 20, "statusMessage": r.json()["statusMessage"]}
    assert "Basic" in r.headers["www-authenticate"]


@pytest.mark.parametrize("header", ["Basic !!!notbase64", "Basic " + "YWdlbnQx", "Bearer xyz"])
async def test_malformed_or_foreign_authorization_is_401(api: Api, header: str) -> None:
    r = await api.client.get("/api/v2/me", headers={"Authorization": header})
    assert r.status_code == 401 and r.json()["statusCode"] == 20


async def test_wrong_password_and_unknown_user(api: Api) -> None:
    for user, pw in [("agent1", "nope"), ("ghost", "password")]:
        r = await api.client.get("/api/v2/me", headers=basic(user, pw))
        assert r.status_code == 401
        assert r.json() == {"statusCode": 20, "statusMessage": "Invalid user name or password"}


async def test_basic_login_sets_jsessionid_which_then_authenticates_alone(api: Api) -> None:
    r = await api.get("/api/v2/me")
    assert r.status_code == 200 and r.json()["user"]["userName"] == "agent1"
    cookie = r.cookies.get("JSESSIONID")
    assert cookie and "httponly" in r.headers["set-cookie"].lower()
    api.client.cookies.clear()
    r2 = await api.client.get("/api/v2/me", headers={"Cookie": f"JSESSIONID={cookie}"})
    assert r2.status_code == 200 and r2.json()["user"]["userName"] == "agent1"
    assert "set-cookie" not in r2.headers
    api.client.cookies.clear()
    bad = await api.client.get("/api/v2/me", headers={"Cookie": "JSESSIONID=forged"})
    assert bad.status_code == 401


async def test_repeated_basic_without_cookies_reuses_one_session(api: Api) -> None:
    ids = set()
    for _ in range(3):
        api.client.cookies.clear()
        r = await api.get("/api/v2/me")
        ids.add(r.cookies.get("JSESSIONID"))
    assert len(ids) == 1


async def test_get_returns_csrf_headers(api: Api) -> None:
    r = await api.get("/api/v2/me")
    assert r.headers["x-csrf-header"] == "X-CSRF-TOKEN"
    assert len(r.headers["x-csrf-token"]) == 36


async def test_end_contact_center_session_invalidates_the_http_session(api: Api) -> None:
    r = await api.get("/api/v2/me")
    cookie = r.cookies["JSESSIONID"]
    api.client.cookies.clear()
    r = await api.client.post(
        "/api/v2/me",
        json={"operationName": "EndContactCenterSession"},
        headers={"Cookie": f"JSESSIONID={cookie}"},
    )
    assert r.json() == {"statusCode": 0}
    api.client.cookies.clear()
    r = await api.client.get("/api/v2/me", headers={"Cookie": f"JSESSIONID={cookie}"})
    assert r.status_code == 401


async def test_session_expires(api: Api) -> None:
    r = await api.get("/api/v2/me")
    cookie = r.cookies["JSESSIONID"]
    api.clock.advance(api.rt.settings.http_session_ttl_s + 1)
    api.app.state.authenticator.forget_session(cookie)
    api.client.cookies.clear()
    r = await api.client.get("/api/v2/me", headers={"Cookie": f"JSESSIONID={cookie}"})
    assert r.status_code == 401


@pytest.fixture
async def csrf_api(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Api]:
    async for a in make_api(tmp_path, clock, csrf_enabled=True):
        yield a


async def test_csrf_required_on_post_when_enabled(csrf_api: Api) -> None:
    c = csrf_api.client
    r = await c.get("/api/v2/me", headers=basic("agent1"))
    token = r.headers["x-csrf-token"]
    body = {"operationName": "Ready"}
    denied = await c.post("/api/v2/me/channels/sms", json=body)
    assert denied.status_code == 403
    assert denied.json() == {"statusCode": 3, "statusMessage": "Missing or invalid Csrf token"}
    wrong = await c.post("/api/v2/me/channels/sms", json=body, headers={"X-CSRF-TOKEN": "x"})
    assert wrong.status_code == 403
    ok = await c.post("/api/v2/me/channels/sms", json=body, headers={"X-CSRF-TOKEN": token})
    assert ok.status_code == 200 and ok.json() == {"statusCode": 0}


async def test_csrf_is_not_required_when_disabled(api: Api) -> None:
    r = await api.post("/api/v2/me/channels/sms", {"operationName": "Ready"})
    assert r.json() == {"statusCode": 0}


async def test_unknown_url_and_method_use_the_envelope(api: Api) -> None:
    r = await api.get("/api/v2/nothing-here")
    assert r.status_code == 404 and r.json()["statusCode"] == 6
    r2 = await api.client.put("/api/v2/me", headers=basic("agent1"), json={})
    assert r2.status_code == 405 and r2.json()["statusCode"] == 3


async def test_disabled_user_cannot_log_in(api: Api) -> None:
    from dataclasses import replace

    u = await api.rt.store.get_user_by_name("agent2")
    assert u is not None
    await api.rt.store.update_user(replace(u, enabled=False))
    r = await api.get("/api/v2/me", user="agent2")
    assert r.status_code == 401


async def test_health_is_public(api: Api) -> None:
    r = await api.client.get("/health")
    assert r.status_code == 200 and r.json()["statusCode"] == 0


async def test_scripts_get_no_basic_challenge(api: Api) -> None:
    r = await api.client.get(
        "/api/v2/me", headers={**basic("agent1", "wrong"), "X-Requested-With": "XMLHttpRequest"}
    )
    assert r.status_code == 401 and r.json()["statusCode"] == 20
    assert "www-authenticate" not in r.headers

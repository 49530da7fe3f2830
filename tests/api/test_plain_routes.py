"""The hottest REST calls are served by plain Starlette routes ahead of FastAPI's, with the same answers;
the authentication middleware reads only the JSESSIONID cookie out of the Cookie header."""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute
from starlette.routing import Match

from smsdesk.api.auth import cookie_value
from tests.api.conftest import Api, basic

HOT = [
    ("POST", "/api/v2/me/smssessions/abc"),
    ("POST", "/api/v2/smsessions/abc"),
    ("POST", "/api/v2/me/channels/sms"),
]


@pytest.mark.parametrize(("method", "path"), HOT)
def test_hot_calls_are_answered_by_plain_routes(api: Api, method: str, path: str) -> None:
    scope = {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}
    first = next(r for r in api.app.router.routes if r.matches(scope)[0] is Match.FULL)
    assert not isinstance(first, APIRoute)
    schema_paths = api.app.openapi()["paths"]
    assert "post" in schema_paths["/api/v2/me/smssessions/{session_id}"]
    assert "post" in schema_paths["/api/v2/me/channels/{channel}"]


async def test_plain_routes_answer_errors_in_the_gws_envelope(api: Api) -> None:
    r = await api.client.post("/api/v2/me/smssessions/nope", content=b"{", headers=_basic())
    assert r.status_code == 415 and r.json()["statusCode"] == 10  # not sent as application/json
    json_type = {"content-type": "application/json"}
    r = await api.client.post("/api/v2/me/smssessions/nope", content=b"{", headers={**_basic(), **json_type})
    assert r.status_code == 400 and r.json()["statusCode"] == 10
    r = await api.client.post("/api/v2/me/smssessions/nope", json={}, headers=_basic())
    assert r.status_code == 400 and r.json()["statusCode"] in (1, 10)
    r = await api.post("/api/v2/me/smssessions/nope", {"operationName": "Accept"})
    assert r.status_code == 404 and set(r.json()) == {"statusCode", "statusMessage"}
    r = await api.client.put("/api/v2/me/smssessions/nope", json={}, headers=_basic())
    assert r.status_code == 405 and r.json()["statusCode"] == 3
    r = await api.post("/api/v2/me/channels/fax", {"operationName": "Ready"})
    assert r.status_code == 400 and set(r.json()) == {"statusCode", "statusMessage"}
    api.client.cookies.clear()
    r = await api.client.post("/api/v2/me/channels/sms", json={"operationName": "Ready"})
    assert r.status_code == 401 and r.json()["statusCode"] == 20


def _basic() -> dict[str, str]:
    return basic("agent1")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("", None),
        ("JSESSIONID=abc", "abc"),
        ("theme=dark; JSESSIONID=abc; other=1", "abc"),
        ('JSESSIONID="abc"', "abc"),
        ("JSESSIONID=old; JSESSIONID=new", "new"),
        ("XJSESSIONID=abc", None),
        ("JSESSIONID", None),
    ],
)
def test_cookie_value(header: str, expected: str | None) -> None:
    assert cookie_value(header, "JSESSIONID") == expected

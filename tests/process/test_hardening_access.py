"""Issue 20, findings 2, 5, 6 and 7, against real server processes: the simulator in ``serve`` and ``demo``,
cross-site requests (content type, Origin, Secure cookies), cross-site websockets, and CometD clients that
need their user's credentials on every request and end at logout or deletion, on every worker."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from tests.process.harness import Served, basic, served

# real processes on a shared machine: bounded by their own waits, not by the suite's 120 s
pytestmark = pytest.mark.timeout(600)

USERS = [
    ("admin", "admin"),
    ("agent1", "agent"),
    ("agent2", "agent"),
    ("agent3", "agent"),
    ("doomed", "agent"),
]
JSON = {"Content-Type": "application/json"}
INBOUND = {"from": "+15551230001", "to": "+15550000000", "text": "hello"}
EVIL = "https://evil.example"


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with served(tmp_path_factory.mktemp("serve"), users=USERS) as s:
        yield s


def _cookie(server: Served, user: str) -> str:
    r = httpx.get(f"{server.url}/api/v2/me", headers={"Authorization": basic(user)}, timeout=30)
    assert r.status_code == 200, r.text
    return f"JSESSIONID={r.cookies['JSESSIONID']}"


# -- finding 2: the simulator ---------------------------------------------------------------------------


def test_the_simulator_is_off_in_serve(serve: Served) -> None:
    with serve.client() as c:
        assert c.post("/sms/simulator/inbound", json=INBOUND).status_code == 404
        assert c.get("/sms/simulator/outbound", params={"to": "+15551230001"}).status_code == 404
        assert c.get("/simulator").status_code == 404


def test_the_simulator_switched_on_in_serve_is_for_admins(tmp_path_factory: pytest.TempPathFactory) -> None:
    tmp = tmp_path_factory.mktemp("sim")
    with served(tmp, users=USERS, env={"SMSDESK_SIMULATOR_ENABLED": "1"}) as s, s.client() as c:
        r = c.post("/sms/simulator/inbound", json=INBOUND)
        assert r.status_code == 401 and r.json()["statusCode"] == 20
        r = c.get("/sms/simulator/outbound", params={"to": "+15551230001"})
        assert r.status_code == 401 and r.json()["statusCode"] == 20
        agent = {"Authorization": basic("agent1")}
        r = c.post("/sms/simulator/inbound", json=INBOUND, headers=agent)
        assert r.status_code == 403 and r.json()["statusCode"] == 5
        admin = {"Authorization": basic("admin")}
        assert c.post("/sms/simulator/inbound", json=INBOUND, headers=admin).json()["statusCode"] == 0
        r = c.get("/sms/simulator/outbound", params={"to": "+15551230001"}, headers=admin)
        assert r.json()["statusCode"] == 0


def test_the_demo_keeps_the_simulator_open(tmp_path_factory: pytest.TempPathFactory) -> None:
    with served(tmp_path_factory.mktemp("demo"), "demo") as s, s.client() as c:
        assert c.post("/sms/simulator/inbound", json=INBOUND).json()["statusCode"] == 0
        assert c.get("/sms/simulator/outbound", params={"to": "+15551230001"}).json()["statusCode"] == 0


# -- finding 5: cross-site requests ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None],
)
def test_a_json_endpoint_refuses_other_bodies_with_415(serve: Served, content_type: str | None) -> None:
    cookie = _cookie(serve, "agent1")
    headers = {"Cookie": cookie} | ({"Content-Type": content_type} if content_type else {})
    with serve.client() as c:
        for path in ("/api/v2/me/channels/sms", "/api/v2/me", "/api/v2/notifications"):
            r = c.post(path, content=b'{"operationName": "Ready"}', headers=headers)
            assert r.status_code == 415, (path, r.text)
        state = c.get("/api/v2/me/channels", headers={"Cookie": cookie}).json()["channels"][0]["userState"]
        assert state["state"] != "Ready"


def test_a_request_from_another_origin_is_refused(serve: Served) -> None:
    cookie = _cookie(serve, "agent2")
    ready = {"operationName": "Ready"}
    with serve.client() as c:
        for origin in (EVIL, "null", f"http://127.0.0.1:{serve.port + 1}"):
            r = c.post("/api/v2/me/channels/sms", json=ready, headers={"Cookie": cookie, "Origin": origin})
            assert r.status_code == 403 and r.json()["statusCode"] == 3, r.text
            r = c.post("/api/v2/users", json={}, headers={"Cookie": cookie, "Origin": origin})
            assert r.status_code == 403 and r.json()["statusCode"] == 3
        handshake = [{"channel": "/meta/handshake", "supportedConnectionTypes": ["long-polling"]}]
        r = c.post("/api/v2/notifications", json=handshake, headers={"Cookie": cookie, "Origin": EVIL})
        assert r.json()[0]["successful"] is False
        r = c.post("/api/v2/me/channels/sms", json=ready, headers={"Cookie": cookie, "Origin": serve.url})
        assert r.json() == {"statusCode": 0}  # the server's own pages
        r = c.post("/api/v2/me/channels/sms", json=ready, headers={"Cookie": cookie})
        assert r.json() == {"statusCode": 0}  # no Origin: not a browser's cross-site request


def test_the_readme_curl_walkthrough_still_works(serve: Served) -> None:
    # curl -u agent1:password -H 'Content-Type: application/json' -d '{"operationName":"Ready"}' ...
    r = httpx.post(
        f"{serve.url}/api/v2/me/channels/sms",
        content=b'{"operationName":"Ready"}',
        headers={"Authorization": basic("agent3"), "Content-Type": "application/json"},
        timeout=30,
    )
    assert r.json() == {"statusCode": 0}


def test_cookies_are_secure_when_the_public_url_is_https(tmp_path_factory: pytest.TempPathFactory) -> None:
    tmp = tmp_path_factory.mktemp("https")
    args = ["--public-url", "https://desk.example.com"]
    with served(tmp, users=USERS, args=args) as s, s.client() as c:
        r = c.get("/api/v2/me", headers={"Authorization": basic("agent1")})
        assert "secure" in r.headers["set-cookie"].lower()
        handshake = [{"channel": "/meta/handshake", "supportedConnectionTypes": ["long-polling"]}]
        r = c.post("/api/v2/notifications", json=handshake, headers={"Authorization": basic("agent1")})
        assert "secure" in r.headers["set-cookie"].lower()
        ready = {"operationName": "Ready"}
        origin = {"Origin": "https://desk.example.com", "Authorization": basic("agent1")}
        assert c.post("/api/v2/me/channels/sms", json=ready, headers=origin).json() == {"statusCode": 0}


def test_cookies_are_not_secure_when_the_public_url_is_http(serve: Served) -> None:
    r = httpx.get(f"{serve.url}/api/v2/me", headers={"Authorization": basic("agent1")}, timeout=30)
    assert "secure" not in r.headers["set-cookie"].lower()


# -- finding 6: cross-site websockets -----------------------------------------------------------------


def test_a_websocket_from_another_origin_is_refused(serve: Served) -> None:
    cookie = _cookie(serve, "agent1")
    with pytest.raises(InvalidStatus) as refused:
        connect(serve.ws_url, origin=EVIL, additional_headers={"Cookie": cookie}, open_timeout=30)  # type: ignore[arg-type]
    assert refused.value.response.status_code == 403
    with connect(
        serve.ws_url, origin=serve.url, additional_headers={"Cookie": cookie}, open_timeout=30
    ) as ws:  # type: ignore[arg-type]
        assert _ws_handshake(ws)["successful"] is True


# -- finding 7: a clientId is nothing without its user's credentials ---------------------------------------


def _handshake(c: httpx.Client, auth: dict[str, str]) -> str:
    r = c.post(
        "/api/v2/notifications",
        json=[{"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"]}],
        headers=auth,
    )
    reply = r.json()[0]
    assert reply["successful"], reply
    client_id: str = reply["clientId"]
    return client_id


def _connect(c: httpx.Client, client_id: str, auth: dict[str, str]) -> dict[str, Any]:
    message = {"channel": "/meta/connect", "clientId": client_id, "connectionType": "long-polling"}
    r = c.post("/api/v2/notifications", json=[{**message, "advice": {"timeout": 0}}], headers=auth)
    reply: dict[str, Any] = r.json()[-1]
    return reply


def test_a_client_id_alone_or_with_another_users_credentials_is_unknown(serve: Served) -> None:
    mine = {"Authorization": basic("agent1")}
    with serve.client() as c:
        client_id = _handshake(c, mine)
        with httpx.Client(base_url=serve.url, timeout=30) as stranger:  # no cookie jar shared
            assert _connect(stranger, client_id, {})["error"] == "402::Unknown client"
            other = {"Authorization": basic("agent2")}
            assert _connect(stranger, client_id, other)["error"] == "402::Unknown client"
            subscribe = {"channel": "/meta/subscribe", "clientId": client_id, "subscription": "/v2/me/**"}
            r = stranger.post("/api/v2/notifications", json=[subscribe])
            assert r.json()[0]["error"] == "402::Unknown client"
        assert _connect(c, client_id, mine)["successful"] is True  # the owner's client is untouched


def _ws_handshake(ws: ClientConnection) -> dict[str, Any]:
    import json

    ws.send(
        json.dumps(
            [{"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["websocket"]}]
        )
    )
    reply: dict[str, Any] = json.loads(ws.recv(timeout=30))[0]
    if reply.get("successful"):
        ws.send(
            json.dumps(
                [{"channel": "/meta/connect", "clientId": reply["clientId"], "connectionType": "websocket"}]
            )
        )
        json.loads(ws.recv(timeout=30))
    return reply


def _closed_within(ws: ClientConnection, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            ws.recv(timeout=max(0.1, deadline - time.monotonic()))
        except TimeoutError:
            continue
        except ConnectionClosed:
            return True
    return False


def _sockets(stack: ExitStack, server: Served, user: str, n: int) -> list[ClientConnection]:
    out = []
    for _ in range(n):
        headers = {"Authorization": basic(user)}
        ws = stack.enter_context(connect(server.ws_url, additional_headers=headers, open_timeout=30))
        assert _ws_handshake(ws)["successful"] is True
        out.append(ws)
    return out


def test_logout_ends_the_users_clients_on_every_worker(tmp_path_factory: pytest.TempPathFactory) -> None:
    tmp = tmp_path_factory.mktemp("workers")
    with served(tmp, users=USERS, args=["--workers", "2"]) as s, s.client() as c, ExitStack() as stack:
        sockets = _sockets(stack, s, "agent1", 6)  # spread over both workers by the kernel
        others = _sockets(stack, s, "agent2", 1)
        long_poll = _handshake(c, {"Authorization": basic("agent1")})
        r = c.post(
            "/api/v2/me",
            json={"operationName": "EndContactCenterSession"},
            headers={"Authorization": basic("agent1")},
        )
        assert r.json() == {"statusCode": 0}
        assert all(_closed_within(ws, 30) for ws in sockets)
        assert _connect(c, long_poll, {"Authorization": basic("agent1")})["error"].startswith("402::")
        assert not _closed_within(others[0], 1.0)  # another user's client lives on


def test_deleting_a_user_ends_its_clients(serve: Served) -> None:
    with ExitStack() as stack, serve.client() as c:
        (ws,) = _sockets(stack, serve, "doomed", 1)
        uid = c.get("/api/v2/me", headers={"Authorization": basic("doomed")}).json()["user"]["id"]
        r = c.delete(f"/api/v2/users/{uid}", headers={"Authorization": basic("admin")})
        assert r.json()["statusCode"] == 0
        assert _closed_within(ws, 30)

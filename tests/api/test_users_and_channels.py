"""Users, /me, channels and features through the HTTP API: success, bad input, wrong role."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from smsdesk.clock import FakeClock
from tests.api.conftest import Api, accepted, make_api


async def test_get_me_and_subresources(api: Api) -> None:
    r = await api.get("/api/v2/me")
    user = r.json()["user"]
    assert user["userName"] == "agent1" and user["roles"] == ["ROLE_AGENT"]
    assert user["uri"] == f"http://127.0.0.1:8080/api/v2/users/{user['id']}"
    assert "password" not in str(r.json()).lower() or "passwordhash" not in str(r.json()).lower()
    assert "channels" not in user
    r = await api.get("/api/v2/me?subresources=*")
    assert r.json()["user"]["channels"][0]["userState"]["state"] == "LoggedOut"
    r = await api.get("/api/v2/me?subresources=bogus")
    assert r.status_code == 400 and r.json()["statusCode"] == 10


async def test_list_users_uris_and_fields(api: Api) -> None:
    r = await api.get("/api/v2/users")
    assert r.json()["statusCode"] == 0 and len(r.json()["uris"]) == 6
    r = await api.get("/api/v2/users?fields=*")
    names = [u["userName"] for u in r.json()["users"]]
    assert names == sorted(names) and "supervisor1" in names
    r = await api.get("/api/v2/users?fields=userName")
    assert set(r.json()["users"][0]) == {"id", "uri", "path", "userName"}


async def test_get_user_by_id_and_unknown(api: Api) -> None:
    uid = await api.user_id("agent2")
    r = await api.get(f"/api/v2/users/{uid}?fields=userName,roles&subresources=channels")
    assert r.json()["user"]["userName"] == "agent2" and "channels" in r.json()["user"]
    assert "firstName" not in r.json()["user"]
    r = await api.get("/api/v2/users/nope")
    assert r.status_code == 404 and r.json() == {"statusCode": 6, "statusMessage": "User 'nope' not found"}


async def test_admin_creates_and_deletes_users(api: Api) -> None:
    body = {
        "userName": "agent9",
        "password": "secret99",
        "roles": ["ROLE_AGENT"],
        "firstName": "N",
        "nickname": "Nine",
        "capacity": 5,
    }
    r = await api.post("/api/v2/users", body, user="admin")
    assert r.json()["statusCode"] == 0 and r.json()["path"] == f"/users/{r.json()['id']}"
    me = await api.client.get("/api/v2/me", auth=("agent9", "secret99"))
    assert me.json()["user"]["nickname"] == "Nine" and me.json()["user"]["capacity"] == 5
    dup = await api.post("/api/v2/users", body, user="admin")
    assert dup.status_code == 409 and dup.json()["statusCode"] == 18
    gone = await api.delete(f"/api/v2/users/{r.json()['id']}")
    assert gone.json() == {"statusCode": 0}
    again = await api.delete(f"/api/v2/users/{r.json()['id']}")
    assert again.json()["statusCode"] == 6


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"password": "pw12"}, 1),
        ({"userName": "x", "password": "pw12", "roles": ["ROLE_KING"]}, 10),
        ({"userName": "x", "password": "pw12", "roles": "ROLE_AGENT"}, 10),
        ({"userName": "x y", "password": "pw12"}, 10),
        ({"userName": "x", "password": "p"}, 10),
        ({"userName": "x", "password": "pw12", "capacity": "3"}, 10),
        ({"userName": 5, "password": "pw12"}, 10),
        ({"userName": "x", "password": "pw12", "roles": []}, 1),
    ],
)
async def test_create_user_bad_input(api: Api, body: dict[str, object], code: int) -> None:
    r = await api.post("/api/v2/users", body, user="admin")
    assert r.json()["statusCode"] == code, r.json()
    assert r.status_code == 400


async def test_only_admins_manage_users(api: Api) -> None:
    r = await api.post("/api/v2/users", {"userName": "z", "password": "pw12"}, user="supervisor1")
    assert r.status_code == 403 and r.json()["statusCode"] == 5
    r = await api.delete(f"/api/v2/users/{await api.user_id('agent2')}", user="agent1")
    assert r.json()["statusCode"] == 5
    r = await api.delete(f"/api/v2/users/{await api.user_id('admin')}", user="admin")
    assert (r.status_code, r.json()["statusCode"]) == (403, 3)  # a well-formed request, refused


async def test_capacity_is_any_json_integer(api: Api) -> None:
    """`3.0` is an integer in JSON Schema (and so in the API description): accepted as 3."""
    r = await api.post(
        "/api/v2/users", {"userName": "cap", "password": "pw12", "capacity": 3.0}, user="admin"
    )
    assert r.json()["statusCode"] == 0
    assert (await api.get(f"/api/v2/users/{r.json()['id']}")).json()["user"]["capacity"] == 3
    r = await api.post(
        "/api/v2/users", {"userName": "cap2", "password": "pw12", "capacity": 2.5}, user="admin"
    )
    assert (r.status_code, r.json()["statusCode"]) == (400, 10)


@pytest.mark.parametrize("raw", [b"{not json", b"[1,2]", b"", b'"x"', b"{}", b'{"operationName": 3}'])
async def test_bad_bodies_get_clear_errors(api: Api, raw: bytes) -> None:
    from tests.api.conftest import basic

    r = await api.client.post(
        "/api/v2/me/channels/sms",
        content=raw,
        headers={**basic("agent1"), "Content-Type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["statusCode"] in (1, 10)
    assert set(r.json()) == {"statusCode", "statusMessage"}


async def test_oversize_body_is_rejected(api: Api) -> None:
    big = {"operationName": "Ready", "pad": "x" * 2_000_000}
    r = await api.post("/api/v2/me/channels/sms", big)
    assert r.status_code == 413 and "too large" in r.json()["statusMessage"]
    assert r.json()["statusCode"] == 10


async def test_ready_not_ready_and_channel_reads(api: Api) -> None:
    for alias in ("sms", "smssession", "smsession"):
        r = await api.post(f"/api/v2/me/channels/{alias}", {"operationName": "Ready"})
        assert accepted(r.json()) == {"statusCode": 0}
    r = await api.get("/api/v2/me/channels")
    state = r.json()["channels"][0]
    assert state == {
        "channel": "sms",
        "dndState": "Off",
        "userState": {"displayName": "Ready", "id": "9430250E-0A1B-421F-B372-F29E69366DED", "state": "Ready"},
    }
    r = await api.post("/api/v2/me/channels/sms", {"operationName": "NotReady", "reason": "Lunch"})
    r = await api.get("/api/v2/me/channels/sms")
    assert r.json()["channel"]["userState"]["state"] == "NotReady"
    assert r.json()["channel"]["userState"]["reason"] == "Lunch"


async def test_channel_changes_are_stored_as_notifications(api: Api) -> None:
    await api.post("/api/v2/me/channels/sms", {"operationName": "Ready"})
    uid = await api.user_id("agent1")
    events = await api.rt.store.read_events([uid, "@supervisors"], 0, 10)
    assert [(e.user_id == uid, e.channel) for e in events] == [
        (True, "/v2/me/channels"),
        (False, "/v2/users"),
    ]
    assert events[0].data["messageType"] == "ChannelStateChangeMessageV2"
    assert events[0].data["channels"][0]["userState"]["state"] == "Ready"
    await api.post("/api/v2/me/channels/sms", {"operationName": "Ready"})  # no change, no event
    assert len(await api.rt.store.read_events([uid], 0, 10)) == 1


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("/api/v2/me/channels/voice", {"operationName": "Ready"}, 400, 10),
        ("/api/v2/me/channels/sms", {"operationName": "Dance"}, 400, 10),
        ("/api/v2/me/channels/sms", {"operationName": "NotReady", "reason": 5}, 400, 10),
    ],
)
async def test_channel_bad_input(
    api: Api, path: str, body: dict[str, object], status: int, code: int
) -> None:
    r = await api.post(path, body)
    assert (r.status_code, r.json()["statusCode"]) == (status, code)


async def test_not_ready_when_logged_out_is_invalid_state(api: Api) -> None:
    r = await api.post("/api/v2/me/channels/sms", {"operationName": "NotReady"})
    assert r.status_code == 409 and r.json()["statusCode"] == 2


async def test_start_and_end_contact_center_session(api: Api) -> None:
    r = await api.post("/api/v2/me", {"operationName": "StartContactCenterSession", "channels": ["sms"]})
    assert accepted(r.json()) == {"statusCode": 0}
    r = await api.get("/api/v2/me/channels")
    assert r.json()["channels"][0]["userState"]["state"] == "NotReady"
    r = await api.post(
        "/api/v2/me", {"operationName": "StartContactCenterSession", "channels": ["sms", "voice"]}
    )
    assert r.json()["statusCode"] == 7
    assert [c["statusCode"] for c in r.json()["channels"]] == [0, 10]
    r = await api.post("/api/v2/me", {"operationName": "StartContactCenterSession", "channels": ["voice"]})
    assert r.json()["statusCode"] == 10
    r = await api.post("/api/v2/me", {"operationName": "StartContactCenterSession", "channels": "sms"})
    assert r.json()["statusCode"] == 10
    r = await api.post("/api/v2/me", {"operationName": "Fly"})
    assert r.json()["statusCode"] == 10
    r = await api.post("/api/v2/me", {"operationName": "EndContactCenterSession"})
    assert accepted(r.json()) == {"statusCode": 0}
    r = await api.get("/api/v2/me/channels")
    assert r.json()["channels"][0]["userState"]["state"] == "LoggedOut"


async def test_supervisor_controls_agent_channel(api: Api) -> None:
    uid = await api.user_id("agent2")
    r = await api.post(f"/api/v2/users/{uid}/channels/sms", {"operationName": "Ready"}, user="supervisor1")
    assert accepted(r.json()) == {"statusCode": 0}
    r = await api.get("/api/v2/me/channels", user="agent2")
    assert r.json()["channels"][0]["userState"]["state"] == "Ready"
    r = await api.post(f"/api/v2/users/{uid}/channels/sms", {"operationName": "Ready"}, user="agent1")
    assert r.status_code == 403 and r.json()["statusCode"] == 5
    r = await api.post("/api/v2/users/nobody/channels/sms", {"operationName": "Ready"}, user="supervisor1")
    assert r.json()["statusCode"] == 6


async def test_features(api: Api) -> None:
    r = await api.get("/api/v2/features")
    assert "http://127.0.0.1:8080/api/v2/features/api-multimedia" in r.json()["uris"]
    r = await api.get("/api/v2/features?fields=*")
    assert {"api-multimedia", "api-supervisor-agent-control"} <= {f["id"] for f in r.json()["features"]}
    r = await api.get("/api/v2/features/api-multimedia")
    assert r.json()["feature"]["id"] == "api-multimedia"
    r = await api.get("/api/v2/features/api-voice")
    assert r.json()["statusCode"] == 6


@pytest.fixture
async def no_multimedia(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Api]:
    async for a in make_api(
        tmp_path, clock, disabled_features=("api-multimedia", "api-supervisor-agent-control")
    ):
        yield a


async def test_disabled_feature_behaves_as_absent(no_multimedia: Api) -> None:
    r = await no_multimedia.post("/api/v2/me/channels/sms", {"operationName": "Ready"})
    assert r.status_code == 404 and r.json()["statusCode"] == 6
    uid = await no_multimedia.user_id("agent2")
    r = await no_multimedia.post(
        f"/api/v2/users/{uid}/channels/sms", {"operationName": "Ready"}, user="supervisor1"
    )
    assert r.json()["statusCode"] == 6
    r = await no_multimedia.get("/api/v2/features")
    assert not any("api-multimedia" == u.rsplit("/", 1)[1] for u in r.json()["uris"])


async def test_a_deleted_user_is_refused_at_once(api: Api) -> None:
    body = {"userName": "gone", "password": "pw1234", "roles": ["ROLE_AGENT"]}
    uid = (await api.post("/api/v2/users", body, user="admin")).json()["id"]
    assert (await api.client.get("/api/v2/me", auth=("gone", "pw1234"))).status_code == 200
    assert (await api.delete(f"/api/v2/users/{uid}")).json() == {"statusCode": 0}
    api.client.cookies.clear()
    assert (await api.client.get("/api/v2/me", auth=("gone", "pw1234"))).status_code == 401


async def test_deleting_an_agent_puts_their_sessions_back_in_the_queue(api: Api) -> None:
    """The conversation goes on with the next agent; the deleted one is offered nothing more; monitoring of
    the deleted agent ends (docs/sessions.md, "Deleting a user")."""
    await api.post("/api/v2/me/channels/sms", {"operationName": "Ready"}, user="agent1")
    agent1 = await api.user_id("agent1")
    r = await api.post(
        f"/api/v2/users/{agent1}/channels/smssession",
        {"operationName": "Monitor", "supervisorMonitoringMode": "AllChats"},
        user="supervisor1",
    )
    assert r.json()["statusCode"] == 0
    await api.text("Hello")
    assert await api.route() == 1
    sessions = (await api.get("/api/v2/me/smssessions?fields=*", user="agent1")).json()["smssessions"]
    sid = sessions[0]["id"]
    r = await api.post(f"/api/v2/me/smssessions/{sid}", {"operationName": "Accept"}, user="agent1")
    assert accepted(r.json()) == {"statusCode": 0}

    assert (await api.delete(f"/api/v2/users/{agent1}")).json() == {"statusCode": 0}
    assert await api.rt.store.list_subscriptions(agent_id=agent1) == []
    assert await api.rt.store.list_member_sessions(agent1) == []
    await api.post("/api/v2/me/channels/sms", {"operationName": "Ready"}, user="agent2")
    assert await api.route() == 1  # offered again, to the agent left
    r = await api.post(f"/api/v2/me/smssessions/{sid}", {"operationName": "Accept"}, user="agent2")
    assert accepted(r.json()) == {"statusCode": 0}
    await api.text("Still there?")
    r = await api.get(f"/api/v2/me/smssessions/{sid}/messages", user="agent2")
    texts = [m.get("text") for m in r.json()["messages"] if m["type"] == "Text"]
    assert texts == ["Hello", "Still there?"]

"""Issue 23: what an audit of a running server against the spec's [DOC] statements found, item by item,
through the HTTP API (the CometD end of the delivery-status opt-in is in tests/interop/)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest

from smsdesk.cli.main import main as cli_main
from smsdesk.clock import FakeClock
from smsdesk.config import ConfigError, Settings, load_settings
from tests.api.conftest import Api, basic, make_api, node
from tests.api.test_operations_kit import Desk

# spec §6.18: the inviter's first notification after Invite, before the invitee accepted
SPEC_6_18 = {
    "Transfer", "Leave", "Invite", "Consult", "SetInFocus", "SetDisposition", "AttachUserData",
    "DeleteUserData", "UpdateUserData", "SendToAgents", "SendStartTypingToAgentsNotification",
    "SendStopTypingToAgentsNotification", "Complete", "SendMessage", "SendStartTypingNotification",
    "SendStopTypingNotification",
}  # fmt: skip
TO_AGENTS_OPS = ["SendToAgents", "SendStartTypingToAgentsNotification", "SendStopTypingToAgentsNotification"]


async def _pending(api: Api, kind: str) -> Desk:
    d = await Desk.start(api)
    await d.op("agent1", kind, targetUri=await d.user_uri("agent2"))
    return d


# -- items 1 and 2: a pending Invite gives its asker the conference's list, as a pending Consult does --------


async def test_item1_capabilities_while_an_invite_is_pending(api: Api) -> None:
    d = await _pending(api, "Invite")
    (parts,) = await d.seen("agent1")
    assert parts["notificationType"] == "ParticipantsUpdated"
    assert SPEC_6_18 <= set(parts["smssession"]["capabilities"])
    assert SPEC_6_18 <= set((await d.view("agent1"))["capabilities"])


async def test_item2_agents_only_operations_while_an_invite_or_consult_is_pending(api: Api) -> None:
    for kind in ("Invite", "Consult"):
        d = await _pending(api, kind)
        await d.settle()
        for op in TO_AGENTS_OPS:
            await d.op("agent1", op, text="for whoever joins")
        agents_only = [m for m in await d.transcript("agent1") if m["visibility"] == "Agents"]
        assert [m["type"] for m in agents_only] == ["Text", "TypingStarted", "TypingStopped"]
        await d.op("agent2", "Accept")  # the invitee reads them in its replay
        (log,) = [e for e in await d.seen("agent2") if e["messageType"] == "MessageLogUpdated"]
        assert "Text/Agents" in {f"{m['type']}/{m['visibility']}" for m in log["messages"]}
        assert await d.phone() == []  # nothing of it reached the customer
        await d.op("agent2", "Leave")
        await d.op("agent1", "Complete")


async def test_item2_pending_invite_and_consult_offer_the_same_list(api: Api) -> None:
    lists = []
    for kind in ("Invite", "Consult"):
        d = await _pending(api, kind)
        lists.append(set((await d.view("agent1"))["capabilities"]))
        await d.op("agent2", "Reject")
        await d.op("agent1", "Complete")
    assert lists[0] == lists[1] - {"CancelConsult"}


# -- item 6: InFocus and SetInFocus --------------------------------------------------------------------------


async def test_item6_set_in_focus_is_listed_and_both_spellings_are_accepted(api: Api) -> None:
    d = await Desk.start(api)
    caps = (await d.view("agent1"))["capabilities"]
    assert "SetInFocus" in caps and "InFocus" not in caps
    before = await d.version()
    for spelling in ("SetInFocus", "InFocus", "infocus"):
        body = await d.op("agent1", spelling)
        assert body["statusCode"] == 0
    assert await d.version() >= before
    await d.op("agent1", "Leave")  # LeftChat (spec §6.4 prints InFocus there): the same spelling, both work
    caps = (await d.view("agent1"))["capabilities"]
    assert "SetInFocus" in caps and "InFocus" not in caps
    await d.op("agent1", "InFocus")


# -- item 3: every operation's response and the notifications it causes its caller quote one referenceId -----


async def _answer(api: Api, user: str, sid: str, operation: str, **params: Any) -> int:
    r = await api.post(f"/api/v2/me/smssessions/{sid}", {"operationName": operation, **params}, user=user)
    body = r.json()
    assert body["statusCode"] == 0 and set(body) == {"statusCode", "referenceId"}, (operation, body)
    ref: int = body["referenceId"]
    return ref


async def _caused(api: Api, user: str, after: int) -> list[dict[str, Any]]:
    return [e for e in await api.events(user, after) if e["_channel"] == "/v2/me/smssessions"]


@pytest.mark.parametrize(
    ("operation", "params", "expected"),
    [
        ("Accept", {"nickname": "Alice"}, ["StatusChange", "ParticipantsUpdated", "NewMessages"]),
        ("Reject", {}, ["StatusChange"]),
        ("Leave", {}, ["StatusChange", "NewMessages"]),
        ("AttachUserData", {"userData": {"UserData1": "DATA1"}}, ["PropertiesUpdated"]),
        ("UpdateUserData", {"userData": {"UserData1": 987654321}}, ["PropertiesUpdated"]),
        ("DeleteUserData", {"keys": ["CustomerNumber"]}, ["PropertiesUpdated"]),
        ("SetDisposition", {"disposition": "IssueResolved"}, ["PropertiesUpdated"]),
        ("Complete", {}, ["StatusChange"]),
        ("SendMessage", {"text": "Hi"}, ["NewMessages"]),
        ("SendStartTypingNotification", {}, ["NewMessages"]),
        ("Consult", {"targetPath": "/queues/experts"}, ["ParticipantsUpdated"]),
        ("SetInFocus", {}, []),
    ],
)
async def test_item3_response_and_caused_notifications_carry_one_reference(
    api: Api, operation: str, params: dict[str, Any], expected: list[str]
) -> None:
    d = await Desk.start(api, accept=operation not in ("Accept", "Reject"))
    after = max([0, *(e["_id"] for e in await api.events("agent1"))])
    ref = await _answer(api, "agent1", d.sid, operation, **params)
    caused = await _caused(api, "agent1", after)
    assert [e["notificationType"] for e in caused] == expected
    assert [e["referenceId"] for e in caused] == [ref] * len(expected)


async def test_item3_others_notifications_do_not_quote_the_callers_reference(api: Api) -> None:
    d = await Desk.start(api)
    await d.conference("agent2")
    after = {u: max([0, *(e["_id"] for e in await api.events(u))]) for u in ("agent1", "agent2")}
    ref = await _answer(api, "agent1", d.sid, "AttachUserData", userData={"k": "v"})
    (theirs,) = await _caused(api, "agent2", after["agent2"])
    assert theirs["notificationType"] == "PropertiesUpdated" and "referenceId" not in theirs
    (mine,) = await _caused(api, "agent1", after["agent1"])
    assert mine["referenceId"] == ref


# -- item 4: unique and increasing per user, across sessions, processes and nodes ---------------------------


async def test_item4_references_grow_across_sessions_of_one_agent(api: Api) -> None:
    refs = []
    for n in range(3):
        d = await Desk.start(api, text=f"Hello {n}", accept=False)
        refs.append(await _answer(api, "agent1", d.sid, "Accept"))
        refs.append(await _answer(api, "agent1", d.sid, "Complete"))
    assert refs == sorted(set(refs)) and len(refs) == 6  # three sessions never answer 1 each
    r = await api.post("/api/v2/me/channels/sms", {"operationName": "NotReady"})
    assert r.json()["statusCode"] == 0
    other = await Desk.start(api, "agent2", text="Hello agent2", accept=False)
    assert await _answer(api, "agent2", other.sid, "Accept") == 1  # per user


async def test_item4_references_hold_across_nodes(tmp_path: Path, clock: FakeClock) -> None:
    """Two nodes (or worker processes) on one database, each with its own idea of agent1's next referenceId:
    the store numbers them, so agent1's requests through either are answered in one increasing series."""
    async with node(tmp_path, clock) as a, node(tmp_path, clock) as b:
        r = await a.post("/api/v2/me/channels/sms", {"operationName": "Ready"})
        assert r.json()["statusCode"] == 0
        await a.text("Hello")
        assert await a.route() == 1
        sid = (await a.get("/api/v2/me/smssessions")).json()["uris"][0].rsplit("/", 1)[1]
        refs = [await _answer(a, "agent1", sid, "Accept")]
        for i in range(6):
            via = (a, b, b, a, b, a)[i]
            refs.append(await _answer(via, "agent1", sid, "SendMessage", text=f"message {i}"))
        assert refs == list(range(1, 8))
        # the notifications each node wrote quote them too: one per request, in order
        quoted = [e["referenceId"] for e in await a.events("agent1") if "referenceId" in e]
        assert quoted == [1, 1, 1, *range(2, 8)]


# -- item 5: emailAddress and contactCenterId in the User resource (spec §9.7) -------------------------------


async def test_item5_me_has_email_address_and_contact_center_id(tmp_path: Path, clock: FakeClock) -> None:
    async for api in make_api(tmp_path, clock, contact_center_id="9d2e1c0c4b5a4f6e8a7b3c2d1e0f9a8b"):
        me = (await api.get("/api/v2/me")).json()["user"]
        assert me["emailAddress"] == "" and me["contactCenterId"] == "9d2e1c0c4b5a4f6e8a7b3c2d1e0f9a8b"
        body = {"userName": "dora", "password": "secret1", "emailAddress": "dora@example.com"}
        r = await api.post("/api/v2/users", body, user="admin")
        assert r.json()["statusCode"] == 0, r.text
        dora = r.json()["id"]
        r = await api.client.get("/api/v2/me", headers=basic("dora", "secret1"))
        assert r.json()["user"]["emailAddress"] == "dora@example.com"
        user = (await api.get(f"/api/v2/users/{dora}", user="admin")).json()["user"]
        assert (user["emailAddress"], user["contactCenterId"]) == (
            "dora@example.com",
            "9d2e1c0c4b5a4f6e8a7b3c2d1e0f9a8b",
        )
        listed = (await api.get("/api/v2/users?fields=*", user="admin")).json()["users"]
        assert {u["userName"]: u["emailAddress"] for u in listed}["dora"] == "dora@example.com"


async def test_item5_admin_updates_a_users_email_address(api: Api) -> None:
    agent1 = await api.user_id("agent1")
    r = await api.client.put(
        f"/api/v2/users/{agent1}", json={"emailAddress": "alice@example.com", "lastName": "Smith"},
        headers=basic("admin"),
    )  # fmt: skip
    assert r.json()["statusCode"] == 0, r.text
    assert r.json()["user"]["emailAddress"] == "alice@example.com"
    me = (await api.get("/api/v2/me")).json()["user"]
    assert (me["emailAddress"], me["lastName"], me["userName"]) == ("alice@example.com", "Smith", "agent1")
    for bad, code in (
        ({"emailAddress": "not an address"}, 10),
        ({"emailAddress": 42}, 10),
        ({"userName": 7}, 10),
        ({"password": "x"}, 10),
    ):
        r = await api.client.put(f"/api/v2/users/{agent1}", json=bad, headers=basic("admin"))
        assert r.json()["statusCode"] == code and r.json()["statusMessage"], (bad, r.text)
    # the resource sent back as read: `id` and `userName` are read-only and ignored (the URL names the user)
    r = await api.client.put(
        f"/api/v2/users/{agent1}", json={"userName": "renamed", "id": "x"}, headers=basic("admin")
    )
    assert r.json()["statusCode"] == 0 and r.json()["user"]["userName"] == "agent1", r.text
    r = await api.client.put(
        f"/api/v2/users/{agent1}", json={"emailAddress": "x@y.z"}, headers=basic("agent2")
    )
    assert r.json()["statusCode"] == 5  # admins only
    r = await api.post(
        "/api/v2/users", {"userName": "eve", "password": "secret1", "emailAddress": "eve"}, "admin"
    )
    assert r.json()["statusCode"] == 10
    assert (await api.get("/api/v2/me")).json()["user"]["emailAddress"] == "alice@example.com"


def test_item5_cli_stores_the_email_address_and_the_setting_reads_the_environment(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    argv = [
        "users",
        "add",
        "frank",
        "--password",
        "secret1",
        "--role",
        "agent",
        "--email",
        "frank@example.com",
    ]
    assert cli_main([*argv, "--database", db]) == 0
    assert cli_main(["users", "add", "gil", "--password", "secret1", "--role", "agent", "--email", "gil",
                     "--database", db]) == 2  # fmt: skip

    async def read() -> str:
        from smsdesk.store.sql import create_store

        store = create_store(db)
        try:
            u = await store.get_user_by_name("frank")
            assert u is not None and await store.get_user_by_name("gil") is None
            return u.email_address
        finally:
            await store.close()

    assert asyncio.run(read()) == "frank@example.com"
    env = {"SMSDESK_CONTACT_CENTER_ID": "cc-42", "SMSDESK_ERROR_HTTP_STATUS": "200"}
    s = load_settings(environ=env)
    assert (s.contact_center_id, s.error_http_status) == ("cc-42", "200")
    assert Settings().contact_center_id == "default" and Settings().error_http_status == "mapped"
    with pytest.raises(ConfigError):
        load_settings(environ={"SMSDESK_ERROR_HTTP_STATUS": "204"})


# -- trap B: error_http_status = "200" ------------------------------------------------------------------------

_MORE_CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/api/v2/users/ghost", {"headers": basic("agent1")}),  # FastAPI route, 404
    ("DELETE", "/api/v2/users/ghost", {"headers": basic("agent1")}),  # FastAPI route, 403 (admins only)
    ("GET", "/api/v2/no/such/url", {"headers": basic("agent1")}),  # no route at all, 404
    ("POST", "/api/v2/me", {"json": {"operationName": "Dance"}, "headers": basic("agent1")}),  # 400
    (
        "POST",
        "/api/v2/users",
        {"json": {"userName": "agent1", "password": "secret1"}, "headers": basic("admin")},
    ),
    ("GET", "/api/v2/me", {}),  # 401 stays 401
    ("GET", "/api/v2/me", {"headers": basic("agent1")}),  # a success stays a success
]


async def test_trap_b_errors_answered_http_200_with_the_same_body(tmp_path: Path, clock: FakeClock) -> None:
    from tests.api.test_dispatch import CASES, _answer

    (tmp_path / "mapped").mkdir()
    (tmp_path / "as200").mkdir()
    async for mapped in make_api(tmp_path / "mapped", clock):
        async for as200 in make_api(tmp_path / "as200", clock, error_http_status="200"):
            seen = set()
            for method, path, kw in [*CASES, *_MORE_CASES]:
                for hot in (True, False):  # the hot-path dispatcher, and the FastAPI stack behind it
                    answers = []
                    for api in (mapped, as200):
                        keep = api.app.hot
                        api.app.hot = keep if hot else None
                        try:
                            status, _, body = await _answer(api, method, path, kw)
                        finally:
                            api.app.hot = keep
                        answers.append((status, body))
                    (m_status, m_body), (s_status, s_body) = answers
                    if m_status >= 300:  # (a success holds ids of its own app)
                        assert s_body == m_body, (method, path)
                    gws = path.startswith("/api/") and m_status >= 400 and m_status != 401
                    assert s_status == (200 if gws else m_status), (method, path, hot, m_status, s_status)
                    if gws and m_body:
                        assert orjson.loads(s_body)["statusCode"] != 0
                    seen.add(m_status)
            assert {400, 401, 403, 404, 405, 409} <= seen  # every kind of refusal was tried

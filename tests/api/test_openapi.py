"""`/openapi.json` against the code: every route served is described, and the `operationName` unions hold
exactly what the handlers' tables accept (each spelling in the description is accepted, and each name the
parsers know is in the description). The behaviour the schemathesis run found wrong is pinned here too."""

from __future__ import annotations

import re
from typing import Any

import pytest

from smsdesk.actions.channels import CHANNEL_OPERATIONS
from smsdesk.actions.supervision import SUPERVISION_OPERATIONS
from smsdesk.api.openapi import OPERATION_NAMES, UndescribedRoute, describe, served_routes
from smsdesk.api.rest.me import OPERATIONS as ME_OPERATIONS
from smsdesk.api.rest.smssessions import SEGMENTS
from smsdesk.api.schemas.bodies import NOT_SPACE, SESSION_PARAMETERS, SPACE
from smsdesk.config import Settings
from smsdesk.domain import operations
from smsdesk.domain.operations import Operation, parse_operation
from tests.api.conftest import Api
from tests.api.test_operations_kit import Desk


def _doc(api: Api) -> dict[str, Any]:
    doc: dict[str, Any] = api.app.openapi()
    return doc


def _spellings(doc: dict[str, Any], union: str) -> dict[str, list[str]]:
    """The union's operations (component name's tail) and the `operationName` spellings each takes."""
    schemas = doc["components"]["schemas"]
    out = {}
    for ref in schemas[union]["oneOf"]:
        name = ref["$ref"].rsplit("/", 1)[1]
        out[name.split(".", 1)[1]] = schemas[name]["properties"]["operationName"]["enum"]
    return out


async def test_served_at_openapi_json_and_valid_enough(api: Api) -> None:
    r = await api.client.get("/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"] == "3.1.0"
    assert set(doc["components"]["securitySchemes"]) == {
        "basicAuth",
        "sessionCookie",
        "csrfToken",
        "twilioSignature",
    }
    refs = set(re.findall(r'"#/components/schemas/([^"]+)"', r.text))
    assert refs <= set(doc["components"]["schemas"]), refs - set(doc["components"]["schemas"])


async def test_every_served_route_is_described_and_nothing_else(api: Api) -> None:
    doc = _doc(api)
    described = {(p, m.upper()) for p, ops in doc["paths"].items() for m in ops}
    assert described == set(served_routes(api.app))
    # the hot paths, answered ahead of the router, are among them: every spelling of the session segment
    hot = api.app.hot
    assert hot is not None
    for pattern, methods in hot.patterns():
        for method in methods:
            assert (pattern, method) in described, (pattern, method)
    for seg in SEGMENTS:
        for path in (f"/api/v2/me/{seg}/{{session_id}}", f"/api/v2/{seg}/{{session_id}}"):
            assert {"get", "post"} <= set(doc["paths"][path])
        assert "post" in doc["paths"][f"/api/v2/users/{{user_id}}/{seg}/{{session_id}}"]
    for path in ("/health", "/api/v2/notifications", "/sms/simulator/inbound", "/sms/simulator/outbound"):
        assert path in doc["paths"]


def test_a_route_without_a_spec_is_refused(api: Api) -> None:
    @api.app.get("/api/v2/undescribed")
    async def undescribed() -> None: ...

    with pytest.raises(UndescribedRoute, match="GET /api/v2/undescribed"):
        describe(api.app, Settings())


def test_twilio_webhooks_are_described_when_served(api: Api) -> None:
    from smsdesk.app import build_app
    from smsdesk.sms.config import SmsSettings, TwilioSettings

    assert "/sms/twilio/inbound" not in _doc(api)["paths"]  # not configured: not served
    twilio = TwilioSettings("AC1", "token", numbers=("+15550009999",))
    app = build_app(Settings(), fast_hash=True, sms=SmsSettings(twilio=twilio), background=False)
    paths = app.openapi()["paths"]
    for path, body in (("/sms/twilio/inbound", "TwilioInbound"), ("/sms/twilio/status", "TwilioStatus")):
        op = paths[path]["post"]
        assert op["security"] == [{"twilioSignature": []}]
        content = op["requestBody"]["content"]["application/x-www-form-urlencoded"]
        assert content["schema"] == {"$ref": f"#/components/schemas/{body}"}
        assert set(op["responses"]) == {"200", "400", "403", "413", "415"}
        assert "text/xml" in op["responses"]["200"]["content"]


def test_public_and_guarded_operations(api: Api) -> None:
    paths = _doc(api)["paths"]
    for path in ("/health", "/sms/simulator/inbound", "/sms/simulator/outbound"):
        for op in paths[path].values():
            assert op["security"] == []
    cometd = paths["/api/v2/notifications"]["post"]["security"]
    assert {} in cometd and {"basicAuth": []} in cometd
    for path, ops in paths.items():
        if path.startswith("/api/v2/") and not path.startswith("/api/v2/notifications"):
            for op in ops.values():
                assert op["security"] == [{"basicAuth": []}, {"sessionCookie": []}], path
                assert "401" in op["responses"] and "422" not in op["responses"]


async def test_csrf_is_required_where_the_server_requires_it(tmp_path: Any, clock: Any) -> None:
    from tests.api.conftest import make_api

    async for api in make_api(tmp_path, clock, csrf_enabled=True):
        op = _doc(api)["paths"]["/api/v2/me/channels/{channel}"]
        assert op["post"]["security"] == [
            {"basicAuth": [], "csrfToken": []},
            {"sessionCookie": [], "csrfToken": []},
        ]
        assert op["get"]["security"] == [{"basicAuth": []}, {"sessionCookie": []}]
        assert "403" in op["post"]["responses"]


def test_failures_carry_the_status_codes_of_their_http_status(api: Api) -> None:
    schemas = _doc(api)["components"]["schemas"]
    assert schemas["Failure.404"]["properties"]["statusCode"]["enum"] == [6]
    assert schemas["Failure.409"]["properties"]["statusCode"]["enum"] == [2, 18, 19]
    assert schemas["Failure"]["additionalProperties"] is False


# -- operationName unions against the parsers -------------------------------------------------------


def test_session_operations_are_exactly_the_parsers(api: Api) -> None:
    documented = _spellings(_doc(api), "SessionOperation")
    assert set(documented) == {op.value for op in Operation} == {op.value for op in SESSION_PARAMETERS}
    for name, spellings in documented.items():
        for spelling in spellings:  # every documented spelling is accepted, as that operation
            assert parse_operation(spelling) is Operation(name)
            assert parse_operation(f" {spelling.lower()} ") is Operation(name)
    # and every spelling the parser knows is documented
    known = {s.lower() for spellings in documented.values() for s in spellings}
    assert set(operations._ALIASES) == known
    assert set(documented["SendUrl"]) == {"SendUrl", "SendURL"}
    assert set(documented["SendStopTypingToAgentsNotification"]) == {
        "SendStopTypingToAgentsNotification",
        "SendStopTypingToAgentNotification",
    }


def test_channel_and_supervision_operations_are_exactly_the_handlers(api: Api) -> None:
    doc = _doc(api)
    assert list(_spellings(doc, "ChannelOperation")) == list(CHANNEL_OPERATIONS)
    assert list(_spellings(doc, "MeOperation")) == list(ME_OPERATIONS)
    user_channel = {n.lower() for n in _spellings(doc, "UserChannelOperation")}
    assert user_channel == set(SUPERVISION_OPERATIONS) | {n.lower() for n in CHANNEL_OPERATIONS}
    assert _spellings(doc, "SupervisorOperation") == {"Intrude": ["Intrude"]}
    assert OPERATION_NAMES["SessionOperation"].keys() == {op.value for op in Operation}


async def test_each_documented_channel_and_me_operation_is_accepted(api: Api) -> None:
    doc = _doc(api)
    for name in _spellings(doc, "MeOperation"):
        r = await api.post("/api/v2/me", {"operationName": name})
        assert r.status_code == 200, (name, r.text)
    await api.post("/api/v2/me", {"operationName": "StartContactCenterSession"})
    for name in _spellings(doc, "ChannelOperation"):
        r = await api.post("/api/v2/me/channels/sms", {"operationName": name})
        assert r.json() == {"statusCode": 0}, name
    # exactly as written, as the description says
    r = await api.post("/api/v2/me/channels/sms", {"operationName": "ready"})
    assert (r.status_code, r.json()["statusCode"]) == (400, 10)


async def test_each_documented_session_operation_reaches_the_session(api: Api) -> None:
    """No documented name is refused as unknown: on a session the caller is not in, each is not found."""
    for spellings in _spellings(_doc(api), "SessionOperation").values():
        for name in spellings:
            body = {"operationName": name, "targetUri": "queues/default"}
            r = await api.post("/api/v2/me/smssessions/0000NOSUCH000000", body)
            assert (r.status_code, r.json()["statusCode"]) == (404, 6), (name, r.text)


def test_space_classes_are_pythons() -> None:
    """The description spells Python's whitespace out (what the handlers strip and match)."""
    spaces = {chr(c) for c in range(0x3001) if chr(c).isspace()}
    ecma = re.compile(SPACE)
    assert {chr(c) for c in range(0x3001) if ecma.fullmatch(chr(c))} == spaces
    assert not re.fullmatch(NOT_SPACE, " ") and re.fullmatch(NOT_SPACE, "x")


# -- what the schemathesis run found -----------------------------------------------------------------


async def test_405_names_every_method_of_the_url(api: Api) -> None:
    """The router named the first route's methods only (a hot POST route ahead of FastAPI's GET one)."""
    r = await api.client.request("TRACE", "/api/v2/me", headers=_auth())
    assert (r.status_code, r.json()["statusCode"]) == (405, 3)
    assert r.headers["allow"] == "GET, POST"
    r = await api.client.request("PATCH", "/api/v2/me/smssessions/x", headers=_auth())
    assert r.headers["allow"] == "GET, POST"
    r = await api.client.request("PUT", "/health")
    assert r.status_code == 405 and r.headers["allow"] == "GET"


def _auth() -> dict[str, str]:
    from tests.api.conftest import basic

    return basic("agent1")


async def test_integers_beyond_64_bits_are_a_400_not_a_500(api: Api) -> None:
    r = await api.get("/api/v2/audit", user="admin", params={"before": str(2**63)})
    assert (r.status_code, r.json()["statusCode"]) == (400, 10)
    r = await api.get("/api/v2/audit", user="admin", params={"before": str(2**63 - 1)})
    assert r.status_code == 200
    d = await Desk.start(api)
    r = await api.get(f"/api/v2/me/smssessions/{d.sid}/messages", params={"startIndex": str(2**63)})
    assert (r.status_code, r.json()["statusCode"]) == (400, 10)
    r = await api.get(f"/api/v2/me/smssessions/{d.sid}/messages", params={"count": str(2**64)})
    assert (r.status_code, r.json()["statusCode"]) == (400, 10)


async def test_a_target_that_is_not_an_agent_is_a_conflict_not_bad_input(api: Api) -> None:
    """A well-formed Transfer to a user who exists but takes no sessions: 409 (statusCode 2), like
    monitoring a user who is not an agent."""
    d = await Desk.start(api)
    sup = await api.user_id("supervisor1")
    r = await api.post(d.url, {"operationName": "Transfer", "targetUri": f"/api/v2/users/{sup}"})
    assert (r.status_code, r.json()["statusCode"]) == (409, 2)
    assert "not an agent" in r.json()["statusMessage"]


async def test_reason_code_of_the_wrong_type_is_refused(api: Api) -> None:
    await api.post("/api/v2/me", {"operationName": "StartContactCenterSession"})
    r = await api.post("/api/v2/me/channels/sms", {"operationName": "NotReady", "reasonCode": {}})
    assert (r.status_code, r.json()["statusCode"]) == (400, 10)
    r = await api.post(
        "/api/v2/me/channels/sms", {"operationName": "NotReady", "reason": None, "reasonCode": "Lunch"}
    )
    assert r.json() == {"statusCode": 0}
    (channel,) = (await api.get("/api/v2/me/channels")).json()["channels"]
    assert channel["userState"]["state"] == "NotReady"

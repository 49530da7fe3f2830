"""The API description served at ``/openapi.json`` (OpenAPI 3.1), built from what the server serves.

``describe(app, settings)`` walks the app's routes (the hot paths of ``dispatch.py`` are among them: the
dispatcher answers them ahead of the router, with the same handlers) and describes each path and method with
its ``Spec`` (``schemas/paths.py``); a served route without one raises ``UndescribedRoute``. Request bodies
and answers are the pydantic models of ``schemas/``; the ``operationName`` unions are built from the tables
the handlers dispatch on (``OPERATION_NAMES``), every accepted spelling included. Failures are the GWS
envelope, with the statusCodes ``errors.HTTP_STATUS`` maps to each HTTP status. ``description.install``
makes the app serve it (built on first request, then kept). docs/api.md says how it is tested.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.routing import Route

from smsdesk import __version__
from smsdesk.actions.channels import CHANNEL_OPERATIONS
from smsdesk.actions.supervision import SUPERVISION_OPERATIONS
from smsdesk.api.errors import HTTP_STATUS
from smsdesk.api.rest.me import OPERATIONS as ME_OPERATIONS
from smsdesk.api.rest.smssessions import SEGMENTS
from smsdesk.api.routes import flat_routes
from smsdesk.api.schemas import bayeux, bodies, envelopes
from smsdesk.api.schemas.paths import PATH_PARAMETERS, SPECS, F, Spec
from smsdesk.config import Settings
from smsdesk.domain.operations import ALIASES, Operation
from smsdesk.domain.participants import SupervisionMode
from smsdesk.sms.media import ALLOWED_TYPES

__all__ = [
    "AUTH_REFUSALS",
    "JSON_BODY_REFUSALS",
    "NOT_API",
    "OPERATION_NAMES",
    "UndescribedRoute",
    "describe",
    "served_routes",
]

REF = "#/components/schemas/{model}"
CANONICAL_SEGMENT = SEGMENTS[0]

# Served, and not API: the browser pages and their files, and the description itself.
NOT_API = frozenset({"/", "/supervisor", "/simulator", "/favicon.ico"})


# What any authenticated operation may answer before its handler runs (not authenticated; too many failed
# logins for the user name or the client address, docs/security.md).
AUTH_REFUSALS: tuple[int, ...] = (401, 429)
# What any operation with a JSON body may answer before reading it: malformed or nested too deep (400), beyond
# its size limit (413), not `application/json` (415).
JSON_BODY_REFUSALS: tuple[int, ...] = (400, 413, 415)


class UndescribedRoute(LookupError):
    """A route the app serves has no ``Spec``: describe it in ``smsdesk/api/schemas/paths.py``."""


def _session_names() -> dict[str, list[str]]:
    names: dict[str, list[str]] = {op.value: [op.value] for op in Operation}
    for alias, op in ALIASES.items():
        names[op.value].append(alias)
    return names


_SUPERVISION_NAMES = [m.value for m in SupervisionMode] + ["CancelSupervisorMonitoring"]

# Union component -> operationName -> (the spellings accepted, the parameters' model). Built from the
# handlers' own tables; ``tests/api/test_openapi.py`` checks them against the parsers both ways.
OPERATION_NAMES: Mapping[str, Mapping[str, tuple[list[str], type[BaseModel]]]] = {
    "SessionOperation": {
        name: (spellings, bodies.SESSION_PARAMETERS[Operation(name)])
        for name, spellings in _session_names().items()
    },
    "MeOperation": {
        ME_OPERATIONS[0]: ([ME_OPERATIONS[0]], bodies.StartContactCenterSessionParams),
        ME_OPERATIONS[1]: ([ME_OPERATIONS[1]], bodies.NoParams),
    },
    "ChannelOperation": {name: ([name], bodies.ChannelStateParams) for name in CHANNEL_OPERATIONS},
    "UserChannelOperation": {
        **{
            name: ([name], bodies.NoParams if name == "CancelSupervisorMonitoring" else bodies.MonitorParams)
            for name in _SUPERVISION_NAMES
            if name.lower() in SUPERVISION_OPERATIONS
        },
        **{name: ([name], bodies.ChannelStateParams) for name in CHANNEL_OPERATIONS},
    },
    "SupervisorOperation": {"Intrude": (["Intrude"], bodies.IntrudeParams)},
}

_MATCHING = {
    "SessionOperation": "any case, spaces around it ignored",
    "MeOperation": "exactly as written",
    "ChannelOperation": "exactly as written",
    "UserChannelOperation": "Monitor, Coach, BargeIn, CancelSupervisorMonitoring in any case; Ready and "
    "NotReady exactly as written",
    "SupervisorOperation": "any case",
}

_STATUS_TEXT = {
    200: "Success",
    204: "No content",
    400: "Bad request: a missing parameter (statusCode 1), an invalid value (10), a read-only property (11)",
    401: "Not authenticated (statusCode 20)",
    403: "Forbidden (statusCode 3: e.g. a missing or wrong CSRF token, a customer who opted out) or not "
    "permitted (statusCode 5: the role is missing)",
    404: "Not found (statusCode 6): no such resource, one the caller has no part in, or a disabled feature",
    409: "Conflict: not valid in the current state (statusCode 2), already exists (18), in use (19)",
    413: "The body is beyond the endpoint's size limit (statusCode 10); nothing past the limit was read",
    415: "The body is not `application/json` (statusCode 10)",
    429: "Too many failed logins for the user name or from the client address (statusCode 3); retry after "
    "`Retry-After` seconds",
}


def _failure_codes() -> dict[int, list[int]]:
    by_status: dict[int, list[int]] = {}
    for code, status in HTTP_STATUS.items():
        if status >= 400:
            by_status.setdefault(status, []).append(code)
    return by_status


def served_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every ``(path template, method)`` the app answers over HTTP but the browser pages and the docs."""
    docs = {app.openapi_url, app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url}
    seen: dict[tuple[str, str], None] = {}
    for route in flat_routes(app.router.routes):
        if not isinstance(route, Route) or route.path in NOT_API or route.path in docs:
            continue
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
        for method in sorted(route.methods or ()):
            if method != "HEAD":
                seen[(path, method)] = None
    return list(seen)


def canonical_path(path: str) -> str:
    """The path with its SMS session segment spelled ``smssessions``."""
    parts = path.split("/")
    return "/".join(CANONICAL_SEGMENT if p in SEGMENTS else p for p in parts)


class _Builder:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.schemas: dict[str, Any] = {}
        self.codes = _failure_codes()

    # -- components ------------------------------------------------------------------------------------

    def models(self, models: Iterable[type[BaseModel]]) -> None:
        unique = list(dict.fromkeys(models))
        _, top = models_json_schema([(m, "validation") for m in unique], ref_template=REF)
        self.schemas.update(top.get("$defs", {}))

    def union(self, name: str, table: Mapping[str, tuple[list[str], type[BaseModel]]]) -> None:
        refs: list[dict[str, str]] = []
        mapping: dict[str, str] = {}
        for op, (spellings, model) in table.items():
            component = f"{name}.{op}"
            schema = copy.deepcopy(self.schemas[model.__name__])
            schema["title"] = op
            enum = {"type": "string", "enum": spellings}
            if len(spellings) > 1:
                enum["description"] = f"`{spellings[0]}`, or its other spellings"
            schema["properties"] = {"operationName": enum, **schema.get("properties", {})}
            schema["required"] = ["operationName", *schema.get("required", [])]
            self.schemas[component] = schema
            ref = REF.format(model=component)
            refs.append({"$ref": ref})
            mapping.update({s: ref for s in spellings})
        self.schemas[name] = {
            "description": f"`operationName` ({_MATCHING[name]}) selects the operation and its parameters",
            "oneOf": refs,
            "discriminator": {"propertyName": "operationName", "mapping": mapping},
        }

    def failures(self) -> None:
        for status, codes in self.codes.items():
            schema: dict[str, Any] = {"allOf": [{"$ref": REF.format(model="Failure")}]}
            if status != 400:  # statusCodes HTTP_STATUS does not map are answered with HTTP 400
                schema["properties"] = {"statusCode": {"enum": codes}}
            self.schemas[f"Failure.{status}"] = schema

    # -- operations ------------------------------------------------------------------------------------

    def security(self, spec: Spec, method: str) -> list[dict[str, list[str]]]:
        if spec.access == "public":
            return []
        if spec.access == "twilio":
            return [{"twilioSignature": []}]
        csrf = self.settings.csrf_enabled and method in ("POST", "PUT", "DELETE", "PATCH")
        user: list[dict[str, list[str]]] = [{"basicAuth": [], **({"csrfToken": []} if csrf else {})}]
        user.append({"sessionCookie": [], **({"csrfToken": []} if csrf else {})})
        return [*user, {}] if spec.access == "cometd" else user

    def answer(self, spec: Spec, method: str, status: int, names: str | tuple[str, ...]) -> dict[str, Any]:
        out: dict[str, Any] = {"description": _STATUS_TEXT.get(status, "")}
        if status == 204:
            return out
        if names == "":
            names = f"Failure.{status}" if status in self.codes else "Failure"
        if names == "PromText":
            out["content"] = {"text/plain": {"schema": {"type": "string"}}}
            return out
        if names == "MediaBytes":
            binary = {"schema": {"type": "string", "format": "binary"}}
            out["content"] = {kind: dict(binary) for kind in sorted(ALLOWED_TYPES)}
            out["headers"] = {
                name: {"description": text, "schema": {"type": "string"}}
                for name, text in (
                    ("Content-Disposition", "`inline` (pictures) or `attachment`, with a `filename`"),
                    ("X-Content-Type-Options", "`nosniff`"),
                )
            }
            return out
        if names == "TwiML":
            out["content"] = {"text/xml": {"schema": {"type": "string"}, "example": "<Response/>"}}
            return out
        refs = [{"$ref": REF.format(model=n)} for n in ((names,) if isinstance(names, str) else names)]
        out["content"] = {"application/json": {"schema": refs[0] if len(refs) == 1 else {"anyOf": refs}}}
        headers: dict[str, Any] = {}
        if spec.access == "user" and status < 300:
            headers["Set-Cookie"] = {
                "description": "`JSESSIONID=...; Path=/; HttpOnly; SameSite=Lax` when a session was created",
                "schema": {"type": "string"},
            }
            if method == "GET":
                headers["X-CSRF-TOKEN"] = {
                    "description": "The session's CSRF token, for POST/PUT/DELETE",
                    "schema": {"type": "string"},
                }
        if status == 401:
            headers["WWW-Authenticate"] = {
                "description": '`Basic realm="smsdesk"` (not to scripts that send `X-Requested-With: '
                "XMLHttpRequest`)",
                "schema": {"type": "string"},
            }
        if status == 429:
            headers["Retry-After"] = {
                "description": "Seconds until a login for that user name or address is tried again",
                "schema": {"type": "integer", "minimum": 1},
            }
        if headers:
            out["headers"] = headers
        return out

    def operation(self, path: str, canonical: str, method: str, spec: Spec) -> dict[str, Any]:
        description = spec.description
        if path != canonical:
            description = (
                f"The same as `{method} {canonical}` (another spelling of the URL).\n\n{description}"
            )
        op: dict[str, Any] = {
            "tags": [spec.tag],
            "summary": spec.summary,
            "operationId": method.lower() + re.sub(r"[^A-Za-z0-9]+", "_", path).rstrip("_"),
            "security": self.security(spec, method),
        }
        if description:
            op["description"] = description.strip()
        parameters = []
        for name in re.findall(r"\{(\w+)\}", path):
            schema, text = spec.path_parameters.get(name) or PATH_PARAMETERS[name]
            parameters.append(
                {"name": name, "in": "path", "required": True, "schema": dict(schema), "description": text}
            )
        for q in spec.query:
            parameters.append(
                {
                    "name": q.name,
                    "in": "query",
                    "required": q.required,
                    "schema": dict(q.schema),
                    "description": q.description,
                }
            )
        if parameters:
            op["parameters"] = parameters
        if spec.body is not None:
            op["requestBody"] = {
                "required": True,
                "content": {spec.body_media: {"schema": {"$ref": REF.format(model=spec.body)}}},
            }
        answers = dict(spec.answers)
        if spec.access == "user":
            for status in AUTH_REFUSALS:
                answers.setdefault(status, "")
        if spec.body is not None and spec.body_media == "application/json":
            for status in JSON_BODY_REFUSALS:
                answers.setdefault(status, "BayeuxRefusal" if spec.access == "cometd" else "")
        if op["security"] and spec.access == "user" and method != "GET" and self.settings.csrf_enabled:
            answers.setdefault(403, "")
        op["responses"] = {
            str(status): self.answer(spec, method, status, names) for status, names in sorted(answers.items())
        }
        return op


def describe(app: FastAPI, settings: Settings, *, simulator_public: bool = True) -> dict[str, Any]:
    """The OpenAPI document of ``app``; ``UndescribedRoute`` for a served route without a ``Spec``.
    ``simulator_public``: the simulator is open (``smsdesk demo``), else for admins only (``smsdesk serve``
    with ``SMSDESK_SIMULATOR_ENABLED``, docs/security.md)."""
    b = _Builder(settings)
    b.models(
        [
            *bodies.SESSION_PARAMETERS.values(),
            *(model for table in OPERATION_NAMES.values() for _, model in table.values()),
            bodies.CreateUser,
            bodies.UpdateUser,
            bodies.AddSkill,
            bodies.StandardResponseBody,
            bodies.ContactNoteBody,
            bodies.CreateSession,
            bodies.SimulatorInbound,
            bodies.TwilioInbound,
            bodies.TwilioStatus,
            *envelopes.ENVELOPES,
            *bayeux.BAYEUX_MODELS,
        ]
    )
    # what depends on the settings
    b.schemas["CreateUser"]["properties"]["password"]["minLength"] = settings.password_min_length
    for name, table in OPERATION_NAMES.items():
        b.union(name, table)
    b.failures()
    b.schemas["BayeuxRequest"] = bayeux.request_schema(REF)
    b.schemas["BayeuxAnswer"] = bayeux.answer_schema(REF)
    b.schemas["BayeuxRefusal"] = bayeux.refusal_schema(REF)
    paths: dict[str, dict[str, Any]] = {}
    for path, method in served_routes(app):
        canonical = canonical_path(path)
        spec = SPECS.get((canonical, method))
        if spec is None:
            raise UndescribedRoute(f"{method} {path}")
        if canonical.startswith("/sms/simulator/") and not simulator_public:
            spec = dataclasses.replace(spec, access="user", answers={**spec.answers, 403: F})
        paths.setdefault(path, {})[method.lower()] = b.operation(path, canonical, method, spec)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "smsdesk",
            "version": __version__,
            "description": _INFO,
        },
        "paths": paths,
        "components": {"schemas": dict(sorted(b.schemas.items())), "securitySchemes": SECURITY_SCHEMES},
        "security": [{"basicAuth": []}, {"sessionCookie": []}],
    }


SECURITY_SCHEMES: dict[str, Any] = {
    "basicAuth": {"type": "http", "scheme": "basic", "description": "HTTP Basic, on any request"},
    "sessionCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": "JSESSIONID",
        "description": "The session cookie any authenticated answer may set (`Set-Cookie`)",
    },
    "csrfToken": {
        "type": "apiKey",
        "in": "header",
        "name": "X-CSRF-TOKEN",
        "description": "With `csrf_enabled`: POST, PUT and DELETE carry the token that GET answers give in "
        "their `X-CSRF-TOKEN` header (else HTTP 403)",
    },
    "twilioSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Twilio-Signature",
        "description": "Twilio's signature of the URL and form (the auth token, or the webhook secret)",
    },
}

_INFO = """The Genesys Web Services (GWS) v2 SMS session API (docs/api.md).

Every answer is a JSON object with `statusCode`; a failure is `{"statusCode": N, "statusMessage": "..."}` and
nothing else, with the HTTP status docs/api.md gives for N. Operations are `POST` with a JSON object whose
`operationName` selects the action. URLs under `/api/v2/` need HTTP Basic or the `JSESSIONID` cookie (CometD
authenticates its handshake itself). The SMS session segment has other spellings (`smsessions`,
`smsssession`, `smssession`, `smsession`, `smsssessions`), each described as a path of its own."""

"""The one place that maps GWS ``statusCode`` values to HTTP statuses (documented in docs/api.md).

Every failure answers ``{"statusCode": N, "statusMessage": "..."}`` and nothing else (spec §9.5).
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.responses import Response

from smsdesk.domain.errors import Forbidden, GwsError, Unavailable, Validation

__all__ = [
    "HTTP_STATUS",
    "GwsJSONResponse",
    "TooLarge",
    "TooManyAttempts",
    "UnsupportedMediaType",
    "error_response",
    "gws_error",
    "http_error",
    "internal_error",
]

HTTP_STATUS: dict[int, int] = {
    0: 200,
    1: 400,  # missing parameter
    2: 409,  # not valid for the current state
    3: 403,  # forbidden
    4: 500,  # internal error
    5: 403,  # no permission
    6: 404,  # not found
    7: 200,  # partial success
    9: 202,  # processing incomplete
    10: 400,  # validation
    11: 400,  # read-only property
    18: 409,  # already exists
    19: 409,  # in use
    20: 401,  # not authenticated
}


class TooLarge(Validation):
    """A request body beyond its endpoint's limit: HTTP 413, ``statusCode`` 10. Nothing past the limit is read."""

    http_status = 413


class UnsupportedMediaType(Validation):
    """A body that is not ``application/json`` sent to a JSON endpoint: HTTP 415, ``statusCode`` 10."""

    http_status = 415


class TooManyAttempts(Forbidden):
    """Too many failed logins for a user name or from a client address: HTTP 429 with ``Retry-After``,
    ``statusCode`` 3 (docs/security.md)."""

    http_status = 429

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = max(1, retry_after_s)


class GwsJSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error_response(
    code: int, message: str, headers: dict[str, str] | None = None, *, http_status: int | None = None
) -> GwsJSONResponse:
    return GwsJSONResponse(
        {"statusCode": code, "statusMessage": message},
        status_code=http_status or HTTP_STATUS.get(code, 400),
        headers=headers,
    )


def gws_error(exc: GwsError) -> GwsJSONResponse:
    if isinstance(exc, Unavailable):  # statusCode 4, but nothing changed and a retry may succeed: HTTP 503
        return GwsJSONResponse(
            {"statusCode": exc.code, "statusMessage": exc.message},
            status_code=503,
            headers={"Retry-After": str(exc.retry_after_s)},
        )
    headers = {"WWW-Authenticate": 'Basic realm="smsdesk"'} if exc.code == 20 else None
    if isinstance(exc, TooManyAttempts):
        headers = {"Retry-After": str(exc.retry_after_s)}
    return error_response(exc.code, exc.message, headers, http_status=getattr(exc, "http_status", None))


def http_error(exc: HTTPException) -> GwsJSONResponse:
    """The envelope of an HTTP-level refusal: unknown URL (6, HTTP 404), wrong method (3, HTTP 405, with the
    ``Allow`` header the router names the URL's methods in)."""
    if exc.status_code == 404:
        return error_response(6, "Not found: no such resource")
    if exc.status_code == 405:
        return GwsJSONResponse(
            {"statusCode": 3, "statusMessage": "Method not allowed on this resource"},
            status_code=405,
            headers=dict(exc.headers or {}),
        )
    return GwsJSONResponse({"statusCode": 10, "statusMessage": str(exc.detail)}, status_code=exc.status_code)


def internal_error() -> GwsJSONResponse:
    """The answer to an unexpected exception (logged by whoever caught it)."""
    return error_response(4, "Internal error; the request did not change anything")

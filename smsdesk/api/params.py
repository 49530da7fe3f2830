"""Request parsing shared by the REST handlers: JSON bodies, ``fields`` and ``subresources`` (spec §9.6)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from smsdesk.domain.errors import MissingParameter, Validation

__all__ = ["operation_name", "read_json_object", "wanted_subresources", "wants_fields"]


async def read_json_object(request: Request, max_bytes: int) -> dict[str, Any]:
    """The body as a JSON object; a clear ``Validation``/``MissingParameter`` error for anything else."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise Validation(f"Request body too large (limit {max_bytes} bytes)")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > max_bytes:
            raise Validation(f"Request body too large (limit {max_bytes} bytes)")
    if not body.strip():
        raise MissingParameter("Missing request body: a JSON object with 'operationName' is expected")
    try:
        data = orjson.loads(bytes(body))
    except orjson.JSONDecodeError as exc:
        raise Validation(f"Malformed JSON body: {exc}") from None
    if not isinstance(data, dict):
        raise Validation("The request body must be a JSON object")
    return data


def operation_name(body: dict[str, Any]) -> str:
    op = body.get("operationName")
    if op is None:
        raise MissingParameter("Missing parameter 'operationName'")
    if not isinstance(op, str) or not op:
        raise Validation("'operationName' must be a non-empty string")
    return op


def wants_fields(request: Request) -> bool:
    return bool(request.query_params.get("fields"))


def wanted_subresources(request: Request) -> set[str]:
    raw = request.query_params.get("subresources", "")
    return {s.strip() for s in raw.split(",") if s.strip()}

"""``read_json_object`` reads the body straight from the ASGI messages."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.requests import ClientDisconnect, Request
from starlette.types import Message

from smsdesk.api.params import read_json_object
from smsdesk.domain.errors import MissingParameter, Validation


def _request(messages: list[Message], headers: list[tuple[bytes, bytes]] | None = None) -> Request:
    pending = list(messages)

    async def receive() -> Message:
        return pending.pop(0)

    return Request({"type": "http", "method": "POST", "headers": headers or []}, receive)


def _chunks(*parts: bytes) -> list[Message]:
    return [{"type": "http.request", "body": p, "more_body": i < len(parts) - 1} for i, p in enumerate(parts)]


async def test_a_body_in_several_messages_is_joined() -> None:
    body: dict[str, Any] = await read_json_object(
        _request(_chunks(b'{"operat', b"ionName", b'": "Ready"}')), 100
    )
    assert body == {"operationName": "Ready"}
    assert await read_json_object(_request(_chunks(b'{"a": 1}')), 100) == {"a": 1}


async def test_the_limit_holds_for_one_message_several_and_the_declared_length() -> None:
    with pytest.raises(Validation, match="too large"):
        await read_json_object(_request(_chunks(b"{" + b" " * 100 + b"}")), 100)
    with pytest.raises(Validation, match="too large"):
        await read_json_object(_request(_chunks(*[b" " * 30] * 4)), 100)
    declared = [(b"content-length", b"101")]
    with pytest.raises(Validation, match="too large"):
        await read_json_object(_request([], declared), 100)
    assert await read_json_object(_request(_chunks(b"{}"), [(b"content-length", b"2")]), 100) == {}


async def test_empty_and_disconnected() -> None:
    with pytest.raises(MissingParameter):
        await read_json_object(_request(_chunks(b"", b"  ")), 100)
    with pytest.raises(ClientDisconnect):
        await read_json_object(_request([*_chunks(b"{", b"}")[:1], {"type": "http.disconnect"}]), 100)

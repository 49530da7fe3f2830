"""``read_json_object`` reads the body straight from the ASGI messages."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.requests import ClientDisconnect, Request
from starlette.types import Message

from smsdesk.api.errors import TooLarge, UnsupportedMediaType
from smsdesk.api.params import read_json_object
from smsdesk.domain.errors import MissingParameter, Validation


def _request(messages: list[Message], headers: list[tuple[bytes, bytes]] | None = None) -> Request:
    pending = list(messages)

    async def receive() -> Message:
        return pending.pop(0)

    json_type = [(b"content-type", b"application/json")]
    return Request({"type": "http", "method": "POST", "headers": [*json_type, *(headers or [])]}, receive)


def _chunks(*parts: bytes) -> list[Message]:
    return [{"type": "http.request", "body": p, "more_body": i < len(parts) - 1} for i, p in enumerate(parts)]


async def test_a_body_in_several_messages_is_joined() -> None:
    body: dict[str, Any] = await read_json_object(
        _request(_chunks(b'{"operat', b"ionName", b'": "Ready"}')), 100
    )
    assert body == {"operationName": "Ready"}
    assert await read_json_object(_request(_chunks(b'{"a": 1}')), 100) == {"a": 1}


async def test_the_limit_holds_for_one_message_several_and_the_declared_length() -> None:
    with pytest.raises(TooLarge, match="too large"):
        await read_json_object(_request(_chunks(b"{" + b" " * 100 + b"}")), 100)
    with pytest.raises(TooLarge, match="too large"):
        await read_json_object(_request(_chunks(*[b" " * 30] * 4)), 100)
    declared = [(b"content-length", b"101")]
    with pytest.raises(TooLarge, match="too large"):
        await read_json_object(_request([], declared), 100)
    assert await read_json_object(_request(_chunks(b"{}"), [(b"content-length", b"2")]), 100) == {}


async def test_empty_and_disconnected() -> None:
    with pytest.raises(MissingParameter):
        await read_json_object(_request(_chunks(b"", b"  ")), 100)
    with pytest.raises(ClientDisconnect):
        await read_json_object(_request([*_chunks(b"{", b"}")[:1], {"type": "http.disconnect"}]), 100)


async def test_reading_stops_at_the_limit_of_a_chunked_body() -> None:
    received = 0

    async def receive() -> Message:
        nonlocal received
        received += 1
        return {"type": "http.request", "body": b" " * 40, "more_body": True}  # endless

    request = Request(
        {"type": "http", "method": "POST", "headers": [(b"content-type", b"application/json")]}, receive
    )
    with pytest.raises(TooLarge):
        await read_json_object(request, 100)
    assert received == 3


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        b"text/plain",
        b"application/x-www-form-urlencoded",
        b"multipart/form-data; boundary=x",
        b"text/json",
    ],
)
async def test_a_body_that_is_not_json_is_refused_before_it_is_read(content_type: bytes | None) -> None:
    headers = [] if content_type is None else [(b"content-type", content_type)]

    async def receive() -> Message:
        raise AssertionError("the body was read")

    request = Request({"type": "http", "method": "POST", "headers": headers}, receive)
    with pytest.raises(UnsupportedMediaType):
        await read_json_object(request, 100)


@pytest.mark.parametrize(
    "content_type", [b"application/json", b"Application/JSON; charset=utf-8", b"application/vnd.x+json"]
)
async def test_json_media_types_are_accepted(content_type: bytes) -> None:
    request = Request(
        {"type": "http", "method": "POST", "headers": [(b"content-type", content_type)]},
        _receive_once(b"{}"),
    )
    assert await read_json_object(request, 100) == {}


async def test_nesting_beyond_the_depth_limit_is_a_validation_error() -> None:
    deep = b'{"a":' * 10 + b"1" + b"}" * 10
    assert await read_json_object(_request(_chunks(deep)), 1000, 10) is not None
    with pytest.raises(Validation, match="deeper than 9"):
        await read_json_object(_request(_chunks(deep)), 1000, 9)


def _receive_once(body: bytes) -> Any:
    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    return receive

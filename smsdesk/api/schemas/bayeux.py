"""CometD (Bayeux 1.0) messages on `/api/v2/notifications` (docs/notifications.md; `smsdesk/notify/`).

A request is one message or a non-empty array of at most `MAX_BATCH` messages. Bayeux answers in band: a
message the server refuses (an unknown or missing `clientId`, a channel one may not subscribe to, a
publish, an unauthenticated handshake) gets a reply with `successful: false` and an `error` such as
`402::Unknown client` or `403::Handshake denied`, in an HTTP 200 answer. Only a body that is not a batch
of JSON objects is refused at the HTTP level (HTTP 400, a one-message array with `400::...`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from smsdesk.notify.wire import MAX_BATCH

__all__ = ["BAYEUX_MODELS", "MAX_BATCH", "answer_schema", "refusal_schema", "request_schema"]


class _Message(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: Any = Field(None, description="Echoed in the reply")
    ext: dict[str, Any] | None = Field(
        None,
        description='Extensions: `{"ack": true}` at handshake, then '
        '`{"ack": <batch>}` on each connect (the ack extension)',
    )


class Handshake(_Message):
    channel: Literal["/meta/handshake"]
    version: str | None = Field(None, examples=["1.0"])
    minimumVersion: str | None = None
    supportedConnectionTypes: list[str] | None = Field(None, examples=[["websocket", "long-polling"]])


class Connect(_Message):
    channel: Literal["/meta/connect"]
    clientId: str
    connectionType: str | None = Field(None, examples=["long-polling"])
    advice: dict[str, Any] | None = Field(
        None, description="`timeout` (ms): how long this connect may be held"
    )


class Subscribe(_Message):
    channel: Literal["/meta/subscribe", "/meta/unsubscribe"]
    clientId: str
    subscription: str | list[str] = Field(
        description="`/v2/me/smssessions`, `/v2/me/channels`, `/v2/me`, `/v2/users` (supervisors), wildcards"
    )


class Disconnect(_Message):
    channel: Literal["/meta/disconnect"]
    clientId: str


# a channel that does not start with /meta/ (JSON Schema regexes have no look-ahead)
_NOT_META = r"^/([^m]|m[^e]|me[^t]|met[^a]|meta[^/]|m?$|me$|met$|meta$)"


class Publish(_Message):
    """Clients may not publish: always answered `403:<channel>:publish_denied`."""

    channel: Annotated[str, Field(pattern=_NOT_META)]
    clientId: str | None = None
    data: Any = None


class Reply(BaseModel):
    """The reply to one request message."""

    model_config = ConfigDict(extra="allow")
    channel: Any = Field(description="The request's channel")
    successful: bool
    id: Any = None
    clientId: str | None = None
    error: str | None = Field(None, description="`code:args:message`, e.g. `402::Unknown client`")
    advice: dict[str, Any] | None = Field(
        None, description="`reconnect` (retry, handshake, none), `interval`, `timeout`"
    )


class Refusal(BaseModel):
    """HTTP 400: the body is not a batch of Bayeux messages."""

    model_config = ConfigDict(extra="forbid")
    successful: Literal[False]
    error: str = Field(examples=["400::body is not JSON: ..."])


class Event(BaseModel):
    """A notification (docs/notifications.md, Topics): `data` is the GWS notification object."""

    model_config = ConfigDict(extra="allow")
    channel: str = Field(examples=["/v2/me/smssessions"])
    data: dict[str, Any]
    id: str = Field(description="The store's event id")


BAYEUX_MODELS: tuple[type[BaseModel], ...] = (
    Handshake,
    Connect,
    Subscribe,
    Disconnect,
    Publish,
    Reply,
    Event,
    Refusal,
)


def request_schema(ref: str) -> dict[str, Any]:
    """The body of `POST /api/v2/notifications`; `ref` formats a model name into a `$ref`."""
    message = {"anyOf": [{"$ref": ref.format(model=m.__name__)} for m in BAYEUX_MODELS[:5]]}
    return {
        "oneOf": [message, {"type": "array", "minItems": 1, "maxItems": MAX_BATCH, "items": message}],
    }


def answer_schema(ref: str) -> dict[str, Any]:
    """HTTP 200: the replies, and (in connect replies) the events queued for the client."""
    return {
        "type": "array",
        "items": {"anyOf": [{"$ref": ref.format(model=m.__name__)} for m in (Reply, Event)]},
    }


def refusal_schema(ref: str) -> dict[str, Any]:
    """HTTP 400: one refusal."""
    return {"type": "array", "minItems": 1, "maxItems": 1, "items": {"$ref": ref.format(model="Refusal")}}

"""Bayeux framing: a request is a JSON array of message objects (a single object is accepted too); a
response is a JSON array. Decoding errors are ``WireError`` with a message fit to show the client.

``join_frame`` builds a response from messages that are already encoded (an event is encoded once for all
of its recipients), so a frame costs a byte join, not a second encoding. ``event_message`` puts an event's data
in the message as the store's JSON text when the store gave it (``StoredEvent.json``): it goes to the wire
as it is, never decoded and encoded again."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from smsdesk.domain.events import StoredEvent
from smsdesk.limits import DEFAULT_MAX_JSON_DEPTH, too_deep

__all__ = [
    "MESSAGES_UPDATED_EXT",
    "WireError",
    "decode_batch",
    "encode_batch",
    "encode_message",
    "event_message",
    "is_messages_updated",
    "join_frame",
]

# The handshake ``ext`` flag of a client that wants the delivery-status ``MessagesUpdated`` notifications
# (docs/notifications.md): without it a client never gets them.
MESSAGES_UPDATED_EXT = "messagesUpdated"

MAX_BATCH = 256


class WireError(ValueError):
    """The request is not a Bayeux batch."""


def decode_batch(
    body: bytes | str, *, max_bytes: int, max_depth: int = DEFAULT_MAX_JSON_DEPTH
) -> list[dict[str, Any]]:
    if len(body) > max_bytes:
        raise WireError(f"message too large ({len(body)} bytes, limit {max_bytes})")
    if not body or not body.strip():
        raise WireError("empty body: expected a JSON array of Bayeux messages")
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise WireError(f"body is not JSON: {exc}") from None
    if too_deep(parsed, max_depth):
        raise WireError(f"body nests deeper than {max_depth} levels")
    batch = [parsed] if isinstance(parsed, dict) else parsed
    if not isinstance(batch, list) or not batch:
        raise WireError("expected a non-empty JSON array of Bayeux message objects")
    if len(batch) > MAX_BATCH:
        raise WireError(f"too many messages in one batch ({len(batch)}, limit {MAX_BATCH})")
    if not all(isinstance(m, dict) for m in batch):
        raise WireError("every Bayeux message must be a JSON object")
    return batch


def encode_batch(messages: list[dict[str, Any]]) -> bytes:
    return orjson.dumps(messages)


def encode_message(message: dict[str, Any]) -> bytes:
    return orjson.dumps(message)


def join_frame(encoded: Iterable[bytes]) -> bytes:
    """A JSON array of messages that are each already encoded."""
    return b"[" + b",".join(encoded) + b"]"


def event_message(event: StoredEvent) -> dict[str, Any]:
    """The Bayeux message of a stored event. With the store's JSON text at hand, ``data`` is that text as an
    ``orjson.Fragment``: ``encode_message`` and ``encode_batch`` copy it into the output as it is. Such a
    message is for encoding only (its ``data`` is not a dict)."""
    text = event.json
    data: Any = orjson.Fragment(text) if text is not None else dict(event.data)
    return {"channel": event.channel, "data": data, "id": str(event.id)}


def is_messages_updated(event: StoredEvent) -> bool:
    """A ``MessageLogUpdated`` with ``notificationType: "MessagesUpdated"`` (delivery status, an extension).
    The store's JSON text is decoded only when it holds the word at all (a substring scan otherwise)."""
    text = event.json
    if text is not None:
        if (b"MessagesUpdated" not in text) if isinstance(text, bytes) else ("MessagesUpdated" not in text):
            return False
    data = event.data
    return (
        data.get("notificationType") == "MessagesUpdated" and data.get("messageType") == "MessageLogUpdated"
    )

"""Wire messages of the hint bus: small classes with ``NAME``, ``to_wire`` and ``from_wire``.

Every message is a JSON object with a ``"type"`` field naming it. Messages are *hints*: they say that the
event stream advanced; receivers read the store (the truth) from their own cursor. A lost or duplicated
message therefore costs latency, never data.

Formats::

    {"type": "events_advanced", "last_event_id": 42, "user_ids": ["u1", "@supervisors"]}
        The store's event stream now holds ids up to ``last_event_id``; the new events concern ``user_ids``
        (an empty list means "possibly anyone").

    {"type": "resync"}
        Delivered locally by a bus after it (re)connected: anything may have been missed, catch up.

The topic they travel on is ``EVENTS_TOPIC``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, ClassVar

__all__ = ["EVENTS_TOPIC", "BusMessage", "BusMessageError", "EventsAdvanced", "Resync", "parse_message"]

EVENTS_TOPIC = "smsdesk.events"


class BusMessageError(ValueError):
    """A bus payload that is not one of the messages listed in this module."""


@dataclass(frozen=True, slots=True)
class EventsAdvanced:
    NAME: ClassVar[str] = "events_advanced"

    last_event_id: int
    user_ids: tuple[str, ...] = ()

    @classmethod
    def of(cls, last_event_id: int, user_ids: Collection[str]) -> EventsAdvanced:
        return cls(last_event_id, tuple(sorted(set(user_ids))))

    def to_wire(self) -> dict[str, Any]:
        return {"type": self.NAME, "last_event_id": self.last_event_id, "user_ids": list(self.user_ids)}

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> EventsAdvanced:
        last = wire.get("last_event_id")
        users = wire.get("user_ids", [])
        if not isinstance(last, int) or isinstance(last, bool) or last < 0:
            raise BusMessageError(
                f"events_advanced: last_event_id must be a non-negative integer, got {last!r}"
            )
        if not isinstance(users, list) or not all(isinstance(u, str) for u in users):
            raise BusMessageError("events_advanced: user_ids must be a list of strings")
        return cls(last, tuple(users))


@dataclass(frozen=True, slots=True)
class Resync:
    NAME: ClassVar[str] = "resync"

    def to_wire(self) -> dict[str, Any]:
        return {"type": self.NAME}

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> Resync:
        return cls()


BusMessage = EventsAdvanced | Resync

_BY_NAME: dict[str, type[EventsAdvanced] | type[Resync]] = {
    EventsAdvanced.NAME: EventsAdvanced,
    Resync.NAME: Resync,
}


def parse_message(wire: object) -> BusMessage:
    """Decode a bus payload; raise ``BusMessageError`` (never anything else) when it is not understood."""
    if not isinstance(wire, dict):
        raise BusMessageError(f"bus message must be a JSON object, got {type(wire).__name__}")
    kind = _BY_NAME.get(str(wire.get("type")))
    if kind is None:
        raise BusMessageError(f"unknown bus message type {wire.get('type')!r}")
    return kind.from_wire(wire)

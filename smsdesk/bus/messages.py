"""Wire messages of the hint bus: small classes with ``NAME``, ``to_wire`` and ``from_wire``.

Every message is a JSON object with a ``"type"`` field naming it. Messages are *hints*: they say that the
event stream advanced; receivers read the store (the truth) from their own cursor. A lost or duplicated
message therefore costs latency, never data.

Formats::

    {"type": "events_advanced", "last_event_id": 42, "user_ids": ["u1", "@supervisors"],
     "sessions": [["SESSIONID", 3]]}
        The store's event stream now holds ids up to ``last_event_id``; the new events concern ``user_ids``
        (an empty list means "possibly anyone"). ``sessions`` (optional, left out when empty): the SMS
        sessions the same commit wrote and their new versions, so that other processes drop an older copy
        from their session cache before they use it (docs/sessions.md). ``refs`` (optional, left out when
        empty): ``[user id, referenceId]`` of the user requests the commit answered, so that every process
        guesses each user's next referenceId right (docs/sessions.md, "referenceId").

    {"type": "resync"}
        Delivered locally by a bus after it (re)connected: anything may have been missed, catch up.

The topic they travel on is ``EVENTS_TOPIC``. On ``ACCESS_TOPIC``::

    {"type": "access_revoked", "user_ids": ["u1"], "http_session_ids": ["S1"]}
        These users were deleted or logged out (``user_ids``: end their CometD clients and forget their
        cached credentials), and these HTTP sessions ended. The store already says so (the session row is
        gone, the user deleted): a lost message only leaves a websocket open until it re-checks its
        credentials (docs/security.md).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, ClassVar

__all__ = [
    "ACCESS_TOPIC",
    "EVENTS_TOPIC",
    "AccessRevoked",
    "BusMessage",
    "BusMessageError",
    "EventsAdvanced",
    "Resync",
    "parse_message",
]

EVENTS_TOPIC = "smsdesk.events"
ACCESS_TOPIC = "smsdesk.access"


class BusMessageError(ValueError):
    """A bus payload that is not one of the messages listed in this module."""


@dataclass(frozen=True, slots=True)
class EventsAdvanced:
    NAME: ClassVar[str] = "events_advanced"

    last_event_id: int
    user_ids: tuple[str, ...] = ()
    sessions: tuple[tuple[str, int], ...] = ()  # (session id, version written)
    refs: tuple[tuple[str, int], ...] = ()  # (user id, the referenceId a request of theirs was answered with)

    @classmethod
    def of(
        cls,
        last_event_id: int,
        user_ids: Collection[str],
        sessions: Collection[tuple[str, int]] = (),
        refs: Collection[tuple[str, int]] = (),
    ) -> EventsAdvanced:
        return cls(last_event_id, tuple(sorted(set(user_ids))), tuple(sessions), tuple(refs))

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "type": self.NAME,
            "last_event_id": self.last_event_id,
            "user_ids": list(self.user_ids),
        }
        if self.sessions:
            wire["sessions"] = [list(s) for s in self.sessions]
        if self.refs:
            wire["refs"] = [list(r) for r in self.refs]
        return wire

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
        return cls(
            last, tuple(users), _sessions(wire.get("sessions", [])), _sessions(wire.get("refs", []), "refs")
        )


def _sessions(value: object, field: str = "sessions") -> tuple[tuple[str, int], ...]:
    """``[[str, int], ...]``: the ``sessions`` (id, version) or the ``refs`` (user id, referenceId)."""
    if not isinstance(value, list):
        raise BusMessageError(f"events_advanced: {field} must be a list of [id, number] pairs")
    out: list[tuple[str, int]] = []
    for item in value:
        if (
            not isinstance(item, list)
            or len(item) != 2
            or not isinstance(item[0], str)
            or not isinstance(item[1], int)
            or isinstance(item[1], bool)
        ):
            raise BusMessageError(f"events_advanced: {field} holds [id, number] pairs, got {item!r}")
        out.append((item[0], item[1]))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Resync:
    NAME: ClassVar[str] = "resync"

    def to_wire(self) -> dict[str, Any]:
        return {"type": self.NAME}

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> Resync:
        return cls()


@dataclass(frozen=True, slots=True)
class AccessRevoked:
    NAME: ClassVar[str] = "access_revoked"

    user_ids: tuple[str, ...] = ()
    http_session_ids: tuple[str, ...] = ()

    def to_wire(self) -> dict[str, Any]:
        return {
            "type": self.NAME,
            "user_ids": list(self.user_ids),
            "http_session_ids": list(self.http_session_ids),
        }

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> AccessRevoked:
        users, sessions = wire.get("user_ids", []), wire.get("http_session_ids", [])
        for name, value in (("user_ids", users), ("http_session_ids", sessions)):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise BusMessageError(f"access_revoked: {name} must be a list of strings")
        return cls(tuple(users), tuple(sessions))


BusMessage = EventsAdvanced | Resync | AccessRevoked

_BY_NAME: dict[str, type[EventsAdvanced] | type[Resync] | type[AccessRevoked]] = {
    EventsAdvanced.NAME: EventsAdvanced,
    Resync.NAME: Resync,
    AccessRevoked.NAME: AccessRevoked,
}


def parse_message(wire: object) -> BusMessage:
    """Decode a bus payload; raise ``BusMessageError`` (never anything else) when it is not understood."""
    if not isinstance(wire, dict):
        raise BusMessageError(f"bus message must be a JSON object, got {type(wire).__name__}")
    kind = _BY_NAME.get(str(wire.get("type")))
    if kind is None:
        raise BusMessageError(f"unknown bus message type {wire.get('type')!r}")
    return kind.from_wire(wire)

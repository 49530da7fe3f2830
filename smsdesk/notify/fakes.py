"""In-memory fakes of the hub's ports, shipped next to the real ones (used by tests and the interop app).

``MemoryEventSource`` behaves like the SQL store's event log (monotonic ids, ``SUPERVISORS`` recipient);
``StaticAuthenticator`` knows a fixed set of users by Basic credentials or by a session cookie.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Collection, Mapping
from typing import Any

from smsdesk.domain.events import StoredEvent
from smsdesk.domain.users import Principal

__all__ = ["MemoryEventSource", "StaticAuthenticator"]


class MemoryEventSource:
    def __init__(self) -> None:
        self.events: list[StoredEvent] = []
        self.reads = 0
        self.all_reads = 0
        self.fail_next = 0  # make the next N reads raise, to test recovery

    def append(self, user_id: str, channel: str, data: Mapping[str, Any]) -> StoredEvent:
        event = StoredEvent(len(self.events) + 1, user_id, channel, dict(data))
        self.events.append(event)
        return event

    async def read_events(self, user_ids: Collection[str], after: int, limit: int) -> list[StoredEvent]:
        self.reads += 1
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionError("fake store unavailable")
        wanted = set(user_ids)
        return [e for e in self.events if e.id > after and e.user_id in wanted][:limit]

    async def read_all_events(self, after: int, limit: int) -> list[StoredEvent]:
        self.all_reads += 1
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionError("fake store unavailable")
        return [e for e in self.events if e.id > after][:limit]

    async def last_event_id(self) -> int:
        return self.events[-1].id if self.events else 0


class StaticAuthenticator:
    """``users``: user name to ``(password, principal)``; ``sessions``: JSESSIONID to principal."""

    def __init__(self, users: Mapping[str, tuple[str, Principal]] | None = None) -> None:
        self.users = dict(users or {})
        self.sessions: dict[str, Principal] = {}

    async def authenticate(
        self, headers: Mapping[str, str], cookies: Mapping[str, str], client: str | None = None
    ) -> Principal | None:
        header = headers.get("authorization", "")
        if header.lower().startswith("basic "):
            try:
                name, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return None
            entry = self.users.get(name)
            return entry[1] if entry is not None and entry[0] == password else None
        session_id = cookies.get("JSESSIONID")
        return self.sessions.get(session_id) if session_id else None

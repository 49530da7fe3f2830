"""In-memory fakes of the hub's ports, shipped next to the real ones (used by tests and the interop app).

``MemoryEventSource`` behaves like the SQL store's event log (monotonic ids, ``SUPERVISORS`` recipient);
``StaticAuthenticator`` knows a fixed set of users by Basic credentials or by a session cookie.
``MemoryClientStore`` is that event log plus the store's shared CometD clients (``store/cluster.py``): give
several hubs the same one to play several nodes on one database.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from smsdesk.domain.events import StoredEvent
from smsdesk.domain.users import Principal
from smsdesk.store.cluster import ClientRecord

__all__ = ["MemoryClientStore", "MemoryEventSource", "StaticAuthenticator"]


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


class MemoryClientStore(MemoryEventSource):
    def __init__(self) -> None:
        super().__init__()
        self.clients: dict[str, ClientRecord] = {}
        self.client_reads = 0

    async def put_cometd_client(self, record: ClientRecord) -> None:
        if record.client_id in self.clients:
            raise ValueError(f"client {record.client_id} exists")
        self.clients[record.client_id] = record

    async def get_cometd_client(self, client_id: str) -> ClientRecord | None:
        self.client_reads += 1
        return self.clients.get(client_id)

    async def set_cometd_subscriptions(
        self, client_id: str, subscriptions: frozenset[str], version: int
    ) -> bool:
        found = self.clients.get(client_id)
        if found is None or found.gone or found.version != version:
            return False
        self.clients[client_id] = dataclasses.replace(found, subscriptions=subscriptions, version=version + 1)
        return True

    async def record_cometd_positions(self, positions: Sequence[tuple[str, int, int]]) -> None:
        for client_id, position, seen_ms in positions:
            found = self.clients.get(client_id)
            if found is not None and not found.gone:
                self.clients[client_id] = dataclasses.replace(found, position=position, seen_ms=seen_ms)

    async def end_cometd_client(self, client_id: str) -> None:
        found = self.clients.get(client_id)
        if found is not None:
            self.clients[client_id] = dataclasses.replace(found, gone=True)

    async def end_cometd_clients_of(self, user_id: str) -> None:
        for client_id, found in list(self.clients.items()):
            if found.user_id == user_id:
                self.clients[client_id] = dataclasses.replace(found, gone=True)

    async def find_cometd_resume(
        self, user_id: str, resume_key: str, stale_before_ms: int
    ) -> ClientRecord | None:
        candidates = [
            c
            for c in self.clients.values()
            if c.user_id == user_id and c.resume_key == resume_key and (c.gone or c.seen_ms < stale_before_ms)
        ]
        return max(candidates, key=lambda c: c.seen_ms, default=None)

    async def delete_cometd_client(self, client_id: str) -> None:
        self.clients.pop(client_id, None)

    async def purge_cometd_clients(self, before_ms: int) -> int:
        old = [c for c, r in self.clients.items() if r.seen_ms < before_ms]
        for client_id in old:
            del self.clients[client_id]
        return len(old)


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

"""What the notification hub needs from the rest of the server: an event source and an authenticator.

The SQL store implements ``EventSource``; the auth module implements ``Authenticator``. A source that also
implements ``AllEventSource`` lets the hub read every user's new events in one indexed range read (``id >
cursor``) and filter them in memory, instead of an ``IN`` list of every connected user. In-memory fakes of
both live in ``smsdesk/notify/fakes.py``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Protocol, runtime_checkable

from smsdesk.domain.events import StoredEvent
from smsdesk.domain.users import Principal

__all__ = ["AllEventSource", "Authenticator", "EventSource"]


class EventSource(Protocol):
    async def read_events(self, user_ids: Collection[str], after: int, limit: int) -> list[StoredEvent]:
        """Committed events for ``user_ids`` (``SUPERVISORS`` included when asked) with ``id > after``,
        ascending by id, at most ``limit``. Ids are strictly increasing across the deployment, and an id is
        never made visible before every smaller id is (or the hub could step over it)."""
        ...

    async def last_event_id(self) -> int:
        """The largest committed event id (0 when there is none)."""
        ...


@runtime_checkable
class AllEventSource(Protocol):
    async def read_all_events(self, after: int, limit: int) -> list[StoredEvent]:
        """Committed events of every user (``SUPERVISORS`` included) with ``id > after``, ascending by id, at
        most ``limit``; the same visibility guarantee as ``EventSource.read_events``."""
        ...


class Authenticator(Protocol):
    async def authenticate(
        self, headers: Mapping[str, str], cookies: Mapping[str, str], client: str | None = None
    ) -> Principal | None:
        """The caller of a request (Basic header or JSESSIONID cookie), or ``None`` when unauthenticated or
        refused (an ``Origin`` not allowed). ``client``: the client's address, for login throttling."""
        ...

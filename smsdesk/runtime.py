"""The runtime: the objects every use case needs, built once by the composition root (``app.build_app``).

Explicit attributes, not a service locator. ``commit`` is the only way use cases write: it persists a
``Change`` and, after the commit, tells the notification hub which users have new events.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Protocol

from smsdesk.clock import Clock
from smsdesk.config import Settings
from smsdesk.ids import IdGenerator
from smsdesk.passwords import Passwords
from smsdesk.store.base import Change
from smsdesk.store.sql import SqlStore

__all__ = ["NullPublisher", "Publisher", "Runtime"]


class Publisher(Protocol):
    async def notify_committed(self, last_event_id: int, user_ids: Collection[str]) -> None: ...


class NullPublisher:
    """For tools (CLI) that write without a notification hub: clients catch up from the store anyway."""

    async def notify_committed(self, last_event_id: int, user_ids: Collection[str]) -> None:
        return None


@dataclass
class Runtime:
    settings: Settings
    store: SqlStore
    clock: Clock
    passwords: Passwords
    ids: IdGenerator = field(default_factory=IdGenerator)
    publisher: Publisher = field(default_factory=NullPublisher)

    async def commit(self, change: Change) -> int:
        last = await self.store.commit(change)
        if change.notifications:
            users = {n.user_id for n in change.notifications}
            await self.publisher.notify_committed(last, users)
        return last

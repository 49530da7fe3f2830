"""The runtime: the objects every use case needs, built once by the composition root (``app.build_app``).

Explicit attributes, not a service locator. ``commit`` is the only way use cases write: it persists a
``Change`` and, after the commit, tells the notification hub which users have new events.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from smsdesk.actions.session_cache import SessionCache
from smsdesk.clock import Clock
from smsdesk.config import Settings
from smsdesk.ids import IdGenerator
from smsdesk.metrics import STORE_COMMIT
from smsdesk.passwords import Passwords
from smsdesk.store.base import Change
from smsdesk.store.sql import SqlStore

if TYPE_CHECKING:
    from smsdesk.actions.references import ReferenceBlocks
    from smsdesk.domain.outcome import Outcome

__all__ = ["NullPublisher", "Publisher", "Runtime"]


def _nothing() -> None:
    return None


class _Locks(Protocol):
    async def __call__(self, session_id: str, body: Callable[[], Awaitable[Outcome]]) -> Outcome: ...


def _default_locks() -> _Locks:
    from smsdesk.actions.engine import SessionLocks

    return SessionLocks()


class Publisher(Protocol):
    async def notify_committed(
        self,
        last_event_id: int,
        user_ids: Collection[str],
        sessions: Collection[tuple[str, int]] = (),
        refs: Collection[tuple[str, int]] = (),
    ) -> None: ...


class NullPublisher:
    """For tools (CLI) that write without a notification hub: clients catch up from the store anyway."""

    async def notify_committed(
        self,
        last_event_id: int,
        user_ids: Collection[str],
        sessions: Collection[tuple[str, int]] = (),
        refs: Collection[tuple[str, int]] = (),
    ) -> None:
        return None


@dataclass
class Runtime:
    settings: Settings
    store: SqlStore
    clock: Clock
    passwords: Passwords
    ids: IdGenerator = field(default_factory=IdGenerator)
    publisher: Publisher = field(default_factory=NullPublisher)
    session_locks: _Locks = field(default_factory=_default_locks)
    session_cache: SessionCache = field(default_factory=SessionCache)  # sessions this node wrote last
    # user id -> the referenceId this process expects the store to give that user's next request (a guess:
    # the store checks it in the request's transaction, docs/sessions.md "referenceId")
    next_references: dict[str, int] = field(default_factory=dict)
    # several processes on one PostgreSQL database: referenceIds from this process's blocks instead of the
    # guess above (``actions/references.py``)
    reference_blocks: ReferenceBlocks | None = None
    provider_name_for: Callable[[str], str] = lambda _number: "simulator"  # business number -> provider
    provider_available: Callable[[str], bool] = lambda _name: True  # a provider of that name is configured
    owns_number: Callable[[str], bool] = lambda _number: (
        False
    )  # a business number bound to a provider by name
    wake_router: Callable[[], None] = _nothing  # a session needs routing or an agent became free
    wake_outbox: Callable[[], None] = _nothing  # outbound SMS were queued
    agents_committed: Callable[[Change], None] = lambda _change: None  # channel states or idle times written
    inbound_in_flight: int = 0  # inbound SMS being stored now (``actions/inbound.py``, the backlog bound)
    skills_changed: Callable[[], None] = _nothing  # an agent's skills changed: the router reads them again

    def reference_answered(self, user_id: str, reference_id: int) -> None:
        """A request of ``user_id`` was answered with ``reference_id`` (here or, by a hint, elsewhere): the
        user's next one is expected to get the one after."""
        if self.next_references.get(user_id, 1) <= reference_id:
            self.next_references[user_id] = reference_id + 1

    async def commit(self, change: Change) -> int:
        start = time.perf_counter()
        last = await self.store.commit(change)
        STORE_COMMIT.observe(time.perf_counter() - start)
        if change.agents or change.agents_idle:
            self.agents_committed(change)
        if change.notifications:
            users = {n.user_id for n in change.notifications}
            sessions = [(w.record.id, w.record.version) for w in change.sessions]
            await self.publisher.notify_committed(last, users, sessions, change.references)
        return last

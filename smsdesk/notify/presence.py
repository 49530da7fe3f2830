"""Presence: this process tells the store which users have a notification client on it (docs/routing.md).

The hub calls a ``PresenceListener`` (``client_added`` when a client of a user completes its handshake, and
``alive`` with the users who have clients on it at each of its sweeps) and knows nothing else of presence.
``PresenceBeat`` is the listener: every ``every_s`` (``presence_beat_s``: a third of the grace, 1 to 10 s)
it writes one row per present user, ``(its node id, user, now)``, in one statement (``Store.beat_presence``). A user whose last client here left is simply not written
again: their row keeps the last time they were seen. A process that dies writes nothing more, so its
clients count as gone once the grace has run from their last beat. The router reads the rows
(``Router.apply_presence``); it never asks the hub.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from typing import Protocol

from smsdesk.clock import Clock
from smsdesk.domain.events import SUPERVISORS
from smsdesk.periodic import Periodic

__all__ = ["PresenceBeat", "PresenceListener", "PresenceStore"]

log = logging.getLogger(__name__)


class PresenceListener(Protocol):
    def client_added(self, user_id: str) -> None: ...

    def alive(self, user_ids: Collection[str]) -> None: ...


class PresenceStore(Protocol):
    async def beat_presence(self, node_id: str, user_ids: Collection[str], now_ms: int) -> None: ...


class PresenceBeat:
    def __init__(self, store: PresenceStore, clock: Clock, node_id: str, every_s: float) -> None:
        self.store = store
        self.clock = clock
        self.node_id = node_id
        self.every_s = every_s
        self._present: set[str] = set()
        self._new: set[str] = set()  # users whose first client here arrived since the last beat
        self._soon = False
        self._loop = Periodic(
            self.beat, every_s, name="smsdesk-presence", log=log, what="presence beat", sleep=clock.sleep
        )
        self._writes: set[asyncio.Task[None]] = set()

    def client_added(self, user_id: str) -> None:
        """A user's first client here is written at the end of this loop turn, not at the next beat."""
        if user_id == SUPERVISORS or user_id in self._present:
            return
        self._present.add(user_id)
        self._new.add(user_id)
        if not self._soon:
            self._soon = True
            asyncio.get_running_loop().call_soon(self._write_new)

    def alive(self, user_ids: Collection[str]) -> None:
        self._present = {u for u in user_ids if u != SUPERVISORS}

    @property
    def present(self) -> frozenset[str]:
        return frozenset(self._present)

    def _write_new(self) -> None:
        self._soon = False
        users, self._new = self._new, set()
        task = asyncio.create_task(self._write(users))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def beat(self) -> None:
        """Write every present user's row now."""
        self._new.clear()
        await self._write(set(self._present))

    async def _write(self, users: Collection[str]) -> None:
        try:
            await self.store.beat_presence(self.node_id, users, self.clock.now_ms())
        except Exception:  # the next beat writes them again
            log.exception("presence: writing the present users failed")

    async def start(self) -> None:
        self._loop.start()

    async def close(self) -> None:
        await self._loop.close()
        if self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)

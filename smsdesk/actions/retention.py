"""Retention (``retention_days``) and erasure (``smsdesk erase --number``), docs/operations.md.

``RetentionLoop`` runs on the node holding the ``retention`` lease: every ``every_s`` it deletes, batch
after batch (each one short transaction, a pause between them so that traffic is never held up), the
sessions closed more than ``retention_days`` ago with their transcripts, and the notifications as old.

``erase_customer`` removes every session of a number with its transcript, outbound SMS and the
notifications that name it, and records it in the audit log (the number only as a hash: the log must not
keep what was erased). The opt-out record stays (the law requires it); an open session is refused.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging

from smsdesk.domain.errors import InvalidState
from smsdesk.periodic import Periodic
from smsdesk.runtime import Runtime
from smsdesk.store.base import AuditEntry, Change
from smsdesk.store.retention import (
    Purged,
    erase_customer_batch,
    open_sessions_of,
    purge_events_batch,
    purge_sessions_batch,
)

__all__ = ["RetentionLoop", "erase_customer", "number_digest"]

log = logging.getLogger("smsdesk.retention")
DAY_MS = 86_400_000


def number_digest(number: str) -> str:
    return "sha256:" + hashlib.sha256(number.encode()).hexdigest()[:32]


async def erase_customer(rt: Runtime, number: str, actor: str, *, batch: int = 200) -> Purged:
    open_ = await open_sessions_of(rt.store, number)
    if open_:
        raise InvalidState(
            f"{len(open_)} session(s) of this number are still open ({', '.join(open_)}): complete them first"
        )
    total = Purged()
    while True:
        done = await erase_customer_batch(rt.store, number, batch)
        total += done
        if done.sessions == 0 and done.events < batch:
            break
        await asyncio.sleep(0)
    details = {"sessions": total.sessions, "events": total.events, "outbox": total.outbox}
    entry = AuditEntry(actor, "EraseCustomer", number_digest(number), details, rt.clock.now_ms())
    await rt.commit(Change(audit=[entry]))
    return total


class RetentionLoop:
    LEASE_MS = 60_000

    def __init__(
        self, rt: Runtime, *, every_s: float = 600.0, batch: int = 200, pause_s: float = 0.05
    ) -> None:
        self.rt = rt
        self.every_s = every_s
        self.batch = batch
        self.pause_s = pause_s
        self.node_id = rt.ids.token()
        self._loop = Periodic(
            self.run_once, every_s, name="smsdesk-retention", log=log, what="retention pass"
        )

    async def run_once(self) -> Purged:
        """One purge to the end (batches until nothing is left), if this node holds the lease."""
        days = self.rt.settings.retention_days
        total = Purged()
        if days is None:
            return total
        now = self.rt.clock.now_ms()
        if not await self.rt.store.acquire_lease("retention", self.node_id, now, self.LEASE_MS):
            return total
        cutoff = now - days * DAY_MS
        while (n := await purge_sessions_batch(self.rt.store, cutoff, self.batch)) > 0:
            total.sessions += n
            await asyncio.sleep(self.pause_s)
        while (n := await purge_events_batch(self.rt.store, cutoff, self.batch)) > 0:
            total.events += n
            await asyncio.sleep(self.pause_s)
        if total.sessions or total.events:
            log.info("retention: purged %d sessions and %d notifications", total.sessions, total.events)
        return total

    async def start(self) -> None:
        if self.rt.settings.retention_days is not None:
            self._loop.start()

    async def close(self) -> None:
        await self._loop.close()

"""Background loops of one node: routing (and offer expiry, and the end of timed wrap-ups), the SMS outbox, expired HTTP session cleanup.

Each loop wakes on a hint (``wake()``) or a short tick, so a lost hint costs latency only. Several nodes may
run them at once: every decision goes through the session engine's version check. Routing runs on the node
holding the ``router`` lease; the others send it their hints over the bus (``RouterLoop.wanted``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from smsdesk.actions.routing import Router
from smsdesk.actions.wrapup import end_due_wrap_ups
from smsdesk.bus.base import Bus
from smsdesk.periodic import Periodic
from smsdesk.runtime import Runtime
from smsdesk.store.base import Change

__all__ = ["RouterLoop", "SessionCleanupLoop"]

log = logging.getLogger("smsdesk.workers")


class RouterLoop:
    """Routing runs on one node at a time: the holder of the ``router`` lease, renewed once half of it has run
    out. Another node takes over within ``LEASE_MS`` and a tick when the holder dies, so agents' capacity is
    never overbooked by two routers deciding at once."""

    LEASE_MS = 5000
    PRESENCE_CHECK_MS = 1000  # the presence rule is applied this often (docs/routing.md)
    PRESENCE_PRUNE_MS = 3_600_000  # presence rows not written for this long are deleted (nodes long gone)
    HINT_TOPIC = "smsdesk.route"  # {"agents": bool}: routing is wanted; a channel state changed if "agents"

    def __init__(
        self, router: Router, *, tick_s: float = 0.5, bus: Bus | None = None, node_id: str | None = None
    ) -> None:
        self.router = router
        self.tick_s = tick_s
        self._bus = bus
        self._hint_agents: bool | None = None  # a hint to send at the end of this loop turn
        self._sending: set[asyncio.Task[None]] = set()
        if bus is not None:
            bus.subscribe(self.HINT_TOPIC, self._on_hint)
        self.node_id = node_id or router.rt.ids.token()  # the lease's holder (docs/deployment.md)
        self._loop = Periodic(
            self._pass,
            tick_s,
            name="smsdesk-router",
            log=log,
            what="routing pass",
            first=False,
            wakeable=True,
        )
        self._lease_until_ms = 0  # this node holds the lease until then (0: not known to hold it)
        self._ask_again_ms = 0  # another node held it when asked: not asked again before then
        self._expiry_due_ms = 0  # the next check for offers that timed out
        self._presence_due_ms = 0  # the next check of the agents' presence
        self._prune_due_ms = 0  # the next clean-up of presence rows of nodes long gone
        self._watching_since_ms = 0  # when this node took the lease (presence counts from then at least)

    def wake(self) -> None:
        self._loop.wake()

    def holds_lease(self) -> bool:
        return self.router.rt.clock.now_ms() < self._lease_until_ms

    def wanted(self) -> None:
        """A session needs routing or an agent became free on this node. Its router may not be the one
        routing: when it does not hold the lease, the holder hears it through the bus (one hint per loop
        turn, however many sessions asked), instead of at its next tick."""
        self._loop.wake()
        self._hint(agents=False)

    def agents_committed(self, change: Change) -> None:
        """This node committed channel states or idle times: its roster follows at once, and the router
        holding the lease reads the change within ``AgentRoster.HINTED_REFRESH_S`` when a channel state
        changed (Ready, NotReady; idle times only reorder agents and wait for the regular refresh)."""
        self.router.roster.apply(change)
        if change.agents:
            self._hint(agents=True)

    def _hint(self, *, agents: bool) -> None:
        if self._bus is None or self.holds_lease():
            return
        if self._hint_agents is None:
            asyncio.get_running_loop().call_soon(self._send_hint)
            self._hint_agents = agents
        else:
            self._hint_agents = self._hint_agents or agents

    def _send_hint(self) -> None:
        assert self._bus is not None
        agents, self._hint_agents = bool(self._hint_agents), None
        task = asyncio.create_task(self._bus.publish(self.HINT_TOPIC, {"agents": agents}))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _on_hint(self, message: dict[str, Any]) -> None:
        if message.get("agents") is True:
            self.router.roster.hinted()
        self._loop.wake()

    async def _hold_lease(self, now_ms: int) -> bool:
        """Renewed once half of it has run out, not on every pass: nobody can take it before it ends. A node
        that another one's lease keeps out asks again once a tick, not on every pass: each ask is a write
        transaction, and a node wakes for every session that needs routing and every agent freed on it."""
        if now_ms < self._lease_until_ms - self.LEASE_MS // 2:
            return True
        if now_ms < self._ask_again_ms:
            return False
        rt = self.router.rt
        if await rt.store.acquire_lease("router", self.node_id, now_ms, self.LEASE_MS):
            if self._lease_until_ms <= now_ms:  # taken, not renewed: presence is watched from now
                self._watching_since_ms = now_ms
            self._lease_until_ms = now_ms + self.LEASE_MS
            return True
        self._lease_until_ms = 0
        self._ask_again_ms = now_ms + int(self.tick_s * 1000)
        return False

    async def run_once(self) -> int:
        """One pass: expired offers (at most once a tick: offer timeouts are seconds long), then routing."""
        now = self.router.rt.clock.now_ms()
        if not await self._hold_lease(now):
            return 0
        expired = 0
        if now >= self._expiry_due_ms:
            self._expiry_due_ms = now + int(self.tick_s * 1000)
            expired = await self.router.expire_offers()
            if self.router.rt.settings.wrap_up_s > 0:
                await end_due_wrap_ups(self.router.rt)  # wrap-ups whose time ran out (docs/ui.md)
        if now >= self._presence_due_ms and self.router.rt.settings.presence_grace_s > 0:
            self._presence_due_ms = now + self.PRESENCE_CHECK_MS
            await self.router.apply_presence(self._watching_since_ms)
            if now >= self._prune_due_ms:
                self._prune_due_ms = now + self.PRESENCE_PRUNE_MS
                await self.router.rt.store.prune_presence(now - self.PRESENCE_PRUNE_MS)
        return expired + await self.router.route_waiting()

    async def _pass(self) -> None:
        """At a tick or a wake: a pass, and more while each takes a full batch (there may be more waiting)."""
        await self.run_once()
        while self.router.more_waiting:
            await self.run_once()

    async def start(self) -> None:
        self._loop.start()

    async def close(self) -> None:
        await self._loop.close()


class SessionCleanupLoop:
    def __init__(self, rt: Runtime, *, every_s: float = 600.0) -> None:
        self.rt = rt
        self.every_s = every_s
        self._loop = Periodic(
            self._clean, every_s, name="smsdesk-session-cleanup", log=log, what="HTTP session cleanup"
        )

    async def _clean(self) -> None:
        await self.rt.store.delete_expired_http_sessions(self.rt.clock.now_ms())

    async def start(self) -> None:
        self._loop.start()

    async def close(self) -> None:
        await self._loop.close()

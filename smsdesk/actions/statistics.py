"""Real-time statistics: computed from the store (docs/operations.md), never from one process's memory.

``Statistics.snapshot()`` reads the waiting sessions, the agents and the per-minute sums of the session
milestones. Minutes older than ``SETTLE_MS`` do not change any more (a milestone is stamped with the time of
the commit that reaches it): each process keeps their sums once read, and reads again only the minutes since,
through the milestone indexes, so a snapshot costs a few small statements however busy the day was.

``StatisticsPublisher`` pushes the changes on ``/v2/statistics``: one node at a time (the holder of the
``statistics`` lease) computes a snapshot at most once a second, when something was committed anywhere (the
hub's hints), a minute turned or a session waits (its wait grows), and commits what changed as ONE event
for every supervisor (``@supervisors``): the hub of every node and worker process delivers it like any other,
so each subscriber gets at most one message a second, and the figures are the ones ``GET`` computes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from smsdesk.bus.base import Bus
from smsdesk.bus.messages import EVENTS_TOPIC
from smsdesk.domain.events import SUPERVISORS, Notification
from smsdesk.domain.statistics import (
    MINUTE_MS,
    AgentFigures,
    AgentMinute,
    MinuteSums,
    QueueLive,
    Snapshot,
    agent_view,
    changed_entries,
    day_start_ms,
    queue_view,
)
from smsdesk.domain.users import Role, User
from smsdesk.periodic import Periodic
from smsdesk.runtime import Runtime
from smsdesk.store.base import Change
from smsdesk.store.counters import QUARTER_MS
from smsdesk.store.statistics import (
    WATCH_PREFIX,
    MinuteRows,
    count_watchers,
    forget_watchers,
    read_live,
    read_minutes,
)

__all__ = ["STATISTICS_CHANNEL", "Statistics", "StatisticsPublisher", "queues_of"]

log = logging.getLogger("smsdesk.statistics")

STATISTICS_CHANNEL = "/v2/statistics"
SETTLE_MS = 2 * MINUTE_MS
RECENT_MINUTES = 15
USERS_TTL_S = 10.0  # users are settings (names, capacity), not figures: a change shows within this


def queues_of(rt: Runtime) -> set[str]:
    """The queues configured: the default one and every business number's."""
    return {rt.settings.default_queue, *rt.settings.number_queues.values()}


class Statistics:
    """The figures of ``GET /api/v2/statistics`` and of the notifications, for one process."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.zone = ZoneInfo(rt.settings.time_zone)
        self._lock = asyncio.Lock()
        self._settled = MinuteRows()  # the minutes before ``_settled_upto`` of the current windows
        self._settled_upto: int | None = None
        self._users: list[User] = []  # the agents' names and capacities: read again after USERS_TTL_S
        self._users_read = -1e18

    async def snapshot(self) -> Snapshot:
        async with self._lock:
            return await self._snapshot()

    async def _snapshot(self) -> Snapshot:
        rt = self.rt
        now = rt.clock.now_ms()
        day0 = day_start_ms(now, self.zone)
        recent0 = now - now % MINUTE_MS - (RECENT_MINUTES - 1) * MINUTE_MS
        origin = min(day0, recent0)
        origin -= origin % QUARTER_MS
        upto = self._settled_upto
        if upto is None or upto < origin:
            self._settled, upto = MinuteRows(), origin
        else:
            _drop_before(self._settled, origin)
        settled = now - SETTLE_MS
        settle = max(upto, settled - settled % QUARTER_MS)  # quarters: the agents' counters are per quarter
        if settle > upto:  # what has settled since: read once, kept
            _merge(self._settled, await read_minutes(rt.store, upto, settle))
            upto = self._settled_upto = settle
        else:
            self._settled_upto = upto
        fresh = await read_minutes(rt.store, upto)
        live = await read_live(rt.store)
        agents = await self._agents()
        names = queues_of(rt) | set(live)
        today: dict[str, MinuteSums] = {}
        recent: dict[str, MinuteSums] = {}
        handled: dict[str, AgentMinute] = {}
        for rows in (self._settled, fresh):
            for minute, per_queue in rows.queues.items():
                for name, sums in per_queue.items():
                    names.add(name)
                    if minute >= day0:
                        today.setdefault(name, MinuteSums()).add(sums)
                    if minute >= recent0:
                        recent.setdefault(name, MinuteSums()).add(sums)
            for minute, per_agent in rows.agents.items():
                if minute >= day0:
                    for agent_id, agent_sums in per_agent.items():
                        handled.setdefault(agent_id, AgentMinute()).add(agent_sums)
        everyone = list(agents.values())
        queues = {
            name: queue_view(
                name,
                live.get(name, QueueLive()),
                everyone,  # every agent serves every queue (one queue per business number)
                today.get(name, MinuteSums()),
                recent.get(name, MinuteSums()),
                now,
            )
            for name in names
        }
        views = {a.id: agent_view(a, handled.get(a.id, AgentMinute())) for a in everyone}
        return Snapshot(now, queues, views)

    async def _agents(self) -> dict[str, AgentFigures]:
        store = self.rt.store
        now = self.rt.clock.monotonic()
        if now - self._users_read >= USERS_TTL_S:
            self._users = [u for u in await store.list_users() if Role.AGENT in u.roles and u.enabled]
            self._users_read = now
        users = self._users
        states = {a.user_id: a for a in await store.list_agents()}
        loads = await store.agent_loads()
        default_capacity = self.rt.settings.default_capacity
        out: dict[str, AgentFigures] = {}
        for u in users:
            st = states.get(u.id)
            out[u.id] = AgentFigures(
                id=u.id,
                user_name=u.user_name,
                state="LoggedOut" if st is None else st.state.value,
                reason=None if st is None else st.reason,
                since_ms=0 if st is None else st.since_ms,
                sessions=loads.get(u.id, 0),
                capacity=u.capacity or default_capacity,
            )
        return out


def _drop_before(rows: MinuteRows, origin: int) -> None:
    for table in (rows.queues, rows.agents):
        for minute in [m for m in table if m < origin]:
            del table[minute]


def _merge(into: MinuteRows, more: MinuteRows) -> None:
    for minute, per_queue in more.queues.items():
        for name, sums in per_queue.items():
            into.queue(minute, name).add(sums)
    for minute, per_agent in more.agents.items():
        for agent_id, a in per_agent.items():
            into.agent(minute, agent_id).add(a)


def delta_message(before: Snapshot | None, after: Snapshot) -> dict[str, Any] | None:
    """The ``/v2/statistics`` message from ``before`` to ``after`` (all of it when ``before`` is None), or
    None when nothing changed. Entries are whole (a queue's or an agent's every figure): a client replaces
    the entry with the same ``name`` / ``id``."""
    empty: Mapping[str, Mapping[str, Any]] = {}
    queues, gone_queues = changed_entries(before.queues if before else empty, after.queues)
    agents, gone_agents = changed_entries(before.agents if before else empty, after.agents)
    if before is not None and not (queues or gone_queues or agents or gone_agents):
        return None
    return {
        "messageType": "StatisticsUpdated",
        "complete": before is None,
        "queues": sorted(queues, key=lambda q: q["name"]),
        "agents": sorted(agents, key=lambda a: a["userName"]),
        "removedQueues": sorted(gone_queues),
        "removedAgents": sorted(gone_agents),
        "asOf": after.as_of_ms,
    }


class StatisticsPublisher:
    """Pushes the statistics' changes on ``/v2/statistics`` from the node holding the ``statistics`` lease."""

    LEASE_MS = 5000
    COMPLETE_EVERY_MS = 60_000  # a complete message now and then: a client that missed one heals

    WATCH_MS = 15_000  # a node's watch row lives this long; renewed every third of it

    def __init__(
        self,
        stats: Statistics,
        bus: Bus | None = None,
        *,
        interval_s: float = 1.0,
        watching: Callable[[], bool] = lambda: True,
    ) -> None:
        self.stats = stats
        self.watching = watching  # a client of this process subscribes to /v2/statistics
        self._watch_until_ms = 0
        self._watched = False
        self.rt = stats.rt
        self.interval_s = interval_s
        self.node_id = self.rt.ids.token()
        self._dirty = True
        self._last: Snapshot | None = None
        self._last_complete_ms = 0
        self._lease_until_ms = 0
        self._loop = Periodic(
            self.run_once,
            interval_s,
            name="smsdesk-statistics",
            log=log,
            what="statistics pass",
            sleep=self.rt.clock.sleep,
            on_error=self._forget,
        )
        if bus is not None:
            bus.subscribe(EVENTS_TOPIC, self._on_hint)

    async def _on_hint(self, _wire: dict[str, Any]) -> None:
        self._dirty = True  # something was committed somewhere

    def changed(self) -> None:
        self._dirty = True

    async def _hold_lease(self, now_ms: int) -> bool:
        if now_ms < self._lease_until_ms - self.LEASE_MS // 2:
            return True
        if await self.rt.store.acquire_lease("statistics", self.node_id, now_ms, self.LEASE_MS):
            if self._lease_until_ms <= now_ms:
                self._last = None  # just took over: start with a complete message
            self._lease_until_ms = now_ms + self.LEASE_MS
            return True
        self._lease_until_ms = 0
        return False

    def _due(self, now_ms: int) -> bool:
        last = self._last
        if self._dirty or last is None:
            return True
        if now_ms // MINUTE_MS != last.as_of_ms // MINUTE_MS:
            return True  # the windows moved
        return any(q["waiting"] for q in last.queues.values())  # the longest wait grows

    async def _watch(self, now_ms: int) -> None:
        """Keep this node's watch row alive while one of its clients subscribes to /v2/statistics."""
        if now_ms < self._watch_until_ms - 2 * self.WATCH_MS // 3 or not self.watching():
            return
        name = WATCH_PREFIX + self.node_id
        await self.rt.store.acquire_lease(name, self.node_id, now_ms, self.WATCH_MS)
        self._watch_until_ms = now_ms + self.WATCH_MS

    async def _anyone_watching(self, now_ms: int) -> bool:
        watched = await count_watchers(self.rt.store, now_ms) > 0
        if watched and not self._watched:
            self._last = None  # nobody was watching: what was last published is stale, start complete
        self._watched = watched
        return watched

    async def run_once(self) -> bool:
        """One pass; True when a message was committed."""
        now = self.rt.clock.now_ms()
        await self._watch(now)
        if not await self._hold_lease(now) or not await self._anyone_watching(now) or not self._due(now):
            return False
        self._dirty = False
        snap = await self.stats.snapshot()
        complete = self._last is None or now - self._last_complete_ms >= self.COMPLETE_EVERY_MS
        message = delta_message(None if complete else self._last, snap)
        self._last = snap
        if message is None:
            return False
        if complete:
            self._last_complete_ms = now
            await forget_watchers(self.rt.store, now - 10 * self.WATCH_MS)
        await self.rt.commit(Change(notifications=[Notification(SUPERVISORS, STATISTICS_CHANNEL, message)]))
        return True

    def _forget(self) -> None:
        """A pass failed: the next one publishes a complete message, not a delta from what may not be out."""
        self._last = None

    async def start(self) -> None:
        self._loop.start()

    async def close(self) -> None:
        await self._loop.close()

"""The hub tells its presence listener who has clients on it; ``PresenceBeat`` writes that to the store."""

from __future__ import annotations

import asyncio
from collections.abc import Collection

from smsdesk.bus.local import LocalBus
from smsdesk.clock import FakeClock
from smsdesk.notify.bayeux import Transport
from smsdesk.notify.fakes import MemoryEventSource
from smsdesk.notify.hub import NotificationHub
from smsdesk.notify.presence import PresenceBeat
from smsdesk.notify.settings import NotifySettings
from tests.notify.helpers import AGENT, AGENT2, SUPERVISOR, authenticator


class RowsStore:
    """The store's presence rows, in memory."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], int] = {}
        self.writes = 0

    async def beat_presence(self, node_id: str, user_ids: Collection[str], now_ms: int) -> None:
        self.writes += 1
        for u in user_ids:
            self.rows[(node_id, u)] = now_ms

    def seen(self, user_id: str) -> int | None:
        return max((t for (_, u), t in self.rows.items() if u == user_id), default=None)


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_the_hub_reports_clients_and_the_beat_writes_who_is_there() -> None:
    clock = FakeClock()
    store = RowsStore()
    beat = PresenceBeat(store, clock, "node-a", every_s=10)
    settings = NotifySettings(poll_interval_ms=0, max_interval_ms=15_000, timeout_ms=0)
    hub = NotificationHub(MemoryEventSource(), LocalBus(), authenticator(), clock, settings, presence=beat)
    await hub.start()
    await beat.start()
    t0 = clock.now_ms()
    try:
        clients = {}
        for who in (AGENT, AGENT2, SUPERVISOR):
            done = await hub.process([{"channel": "/meta/handshake"}], who, Transport.LONG_POLLING)
            assert done is not None
            clients[who.user_id] = done.replies[0]["clientId"]
        await settle()
        # a first client is written at once, not at the next beat
        assert store.seen(AGENT.user_id) == t0 and store.seen(AGENT2.user_id) == t0
        assert beat.present == {AGENT.user_id, AGENT2.user_id, SUPERVISOR.user_id}  # never "@supervisors"
        # agent1 keeps connecting, agent2 goes away without a word
        for _ in range(4):
            clock.advance(5)
            await hub.process(
                [{"channel": "/meta/connect", "clientId": clients[AGENT.user_id]}],
                AGENT,
                Transport.LONG_POLLING,
            )
            await settle()
        assert beat.present == {AGENT.user_id}  # the others expired at the sweep: no longer reported
        seen2 = store.seen(AGENT2.user_id)
        for _ in range(3):
            clock.advance(5)
            await hub.process(
                [{"channel": "/meta/connect", "clientId": clients[AGENT.user_id]}],
                AGENT,
                Transport.LONG_POLLING,
            )
            await settle()
        assert store.seen(AGENT2.user_id) == seen2  # its row keeps its last sighting
        seen1 = store.seen(AGENT.user_id)
        assert seen1 is not None and seen2 is not None and seen1 >= seen2 + 10_000  # still written
    finally:
        await beat.close()
        await hub.close()


async def test_a_failing_write_is_logged_and_the_next_beat_writes_again() -> None:
    clock = FakeClock()

    class Flaky(RowsStore):
        async def beat_presence(self, node_id: str, user_ids: Collection[str], now_ms: int) -> None:
            if self.writes == 0:
                self.writes += 1
                raise OSError("database is down")
            await super().beat_presence(node_id, user_ids, now_ms)

    store = Flaky()
    beat = PresenceBeat(store, clock, "n", every_s=3)
    beat.alive({"u1", "@supervisors"})
    await beat.beat()  # fails: logged
    assert store.rows == {}
    await beat.beat()
    assert store.rows == {("n", "u1"): clock.now_ms()}

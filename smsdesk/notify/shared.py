"""CometD clients on any node, and resuming a client that has to handshake again.

Design and costs: docs/deployment.md ("Any client on any node"); the resume rule: docs/notifications.md
("Resuming").

``SharedClients`` (several nodes, or worker processes on PostgreSQL): a client's lasting state is a row of the
store (``cometd_clients``: user, subscriptions and their version, ack extension, position, last seen). Every
node that receives a request of the client reads that row first (``before``) and serves the request from a
local copy of the client, made from the row and filled from the store (``adopt``): the events after the
client's position that it may receive. A copy stays and is fed by the hub like any client of the node; at each
request it is brought in line with the row: a new subscription version rebuilds its queue, and the position
(the ack the client sends, else the position the last node that answered wrote) drops what the client has.
``after`` writes what the request changed: the row at a handshake, the subscriptions (checked against their
version, retried), the end at a disconnect. The positions and the "last seen" times of the clients go out in
one write about every second; a long-polling connect that hands events to a client without the ack extension
waits for its position to be written, so the next node never hands them out again.

``ResumeMemory`` (one node): the position of clients that left without a disconnect (expired, dropped),
by user and browser, for a while; with ``SharedClients`` the rows of the store play that part.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Collection
from typing import Any, Protocol

from smsdesk.clock import Clock
from smsdesk.domain.events import StoredEvent
from smsdesk.domain.users import Principal
from smsdesk.notify.bayeux import Bayeux, ClientSession
from smsdesk.notify.queue import ClientQueue
from smsdesk.notify.settings import NotifySettings
from smsdesk.store.cluster import ClientRecord

__all__ = ["ClientStore", "ResumeMemory", "SharedClients", "resume_key"]

log = logging.getLogger(__name__)

RESUME_COOKIES = ("BAYEUX_BROWSER", "JSESSIONID")


def resume_key(cookies: Any) -> str:
    """What tells a browser (an HTTP session) apart: its ``BAYEUX_BROWSER`` cookie, else its ``JSESSIONID``,
    else nothing (then a user's clients resume one another)."""
    for name in RESUME_COOKIES:
        value = cookies.get(name) if cookies else None
        if isinstance(value, str) and value:
            return f"{name[0]}:{value[:60]}"
    return ""


class EventReader(Protocol):
    async def read_events(self, user_ids: Collection[str], after: int, limit: int) -> list[StoredEvent]: ...


class ClientStore(EventReader, Protocol):
    """The store's side (``store/cluster.py``)."""

    async def put_cometd_client(self, record: ClientRecord) -> None: ...
    async def get_cometd_client(self, client_id: str) -> ClientRecord | None: ...
    async def set_cometd_subscriptions(
        self, client_id: str, subscriptions: frozenset[str], version: int
    ) -> bool: ...
    async def record_cometd_positions(self, positions: list[tuple[str, int, int]]) -> None: ...
    async def end_cometd_client(self, client_id: str) -> None: ...
    async def end_cometd_clients_of(self, user_id: str) -> None: ...
    async def find_cometd_resume(
        self, user_id: str, resume_key: str, stale_before_ms: int
    ) -> ClientRecord | None: ...
    async def delete_cometd_client(self, client_id: str) -> None: ...
    async def purge_cometd_clients(self, before_ms: int) -> int: ...


async def fill(bayeux: Bayeux, source: EventReader, session: ClientSession, after: int, limit: int) -> bool:
    """Queue for ``session`` what the store holds after ``after`` (the copy is registered first, so that the
    hub's pushes meanwhile are merged, not lost). ``False`` when more than its queue holds (it is dropped)."""
    events = await source.read_events(bayeux.recipients(session), after, limit + 1)
    if bayeux.session(session.client_id) is not session:
        return False  # dropped meanwhile
    return bayeux.load(session, events)


def _message_ids(messages: list[dict[str, Any]]) -> list[int]:
    """The batch's message ids when they are consecutive integers (as CometD clients number their messages,
    one counter per client), else none."""
    ids: list[int] = []
    for message in messages:
        raw = message.get("id")
        if isinstance(raw, bool) or not isinstance(raw, int | str):
            return []
        try:
            value = int(raw)
        except ValueError:
            return []
        if ids and value != ids[-1] + 1:
            return []
        ids.append(value)
    return ids


class ResumeMemory:
    """One node: where clients that left without a disconnect were, by (user, resume key), for ``keep_s``."""

    def __init__(self, keep_s: float, max_entries: int = 10_000) -> None:
        self._keep_s = keep_s
        self._max = max_entries
        self._left: OrderedDict[tuple[str, str], tuple[int, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._left)

    def left(self, session: ClientSession, now: float) -> None:
        key = (session.principal.user_id, session.resume_key)
        self._left[key] = (session.position, now)
        self._left.move_to_end(key)
        while len(self._left) > self._max:
            self._left.popitem(last=False)

    def take(self, user_id: str, key: str, now: float) -> int | None:
        found = self._left.pop((user_id, key), None)
        if found is None or now - found[1] > self._keep_s:
            return None
        return found[0]


class SharedClients:
    RECHECK_S = 5.0  # a copy served without reading its row reads it again after this long

    def __init__(
        self,
        store: ClientStore,
        bayeux: Bayeux,
        clock: Clock,
        settings: NotifySettings,
        *,
        resume_s: int,
        flush_interval_s: float = 1.0,
    ) -> None:
        self.store = store
        self.bayeux = bayeux
        self.clock = clock
        self.settings = settings
        self.resume_ms = resume_s * 1000
        self.flush_interval_s = flush_interval_s
        # seen at most this often per client; a row not seen for ``stale_ms`` is an expired client
        self.touch_ms = max(1_000, settings.max_interval_ms // 3)
        self.stale_ms = settings.max_interval_ms + settings.interval_ms + self.touch_ms + 5_000
        self._pending: dict[str, int] = {}  # client id -> position to write
        self._written: dict[str, int] = {}  # client id -> when its row was last written (ms)
        self._flushing: asyncio.Lock = asyncio.Lock()
        self._soon: asyncio.Future[None] | None = None  # the end-of-turn write the replies wait for
        self._flush_tasks: set[asyncio.Task[None]] = set()
        self._last_purge = 0.0

    # --- before a batch --------------------------------------------------------------------------------

    async def before(self, messages: list[dict[str, Any]], principal: Principal | None) -> None:
        """Make this node's copy of the batch's client current (or absent, for a ``402``)."""
        if principal is None:
            return
        message = next((m for m in messages if isinstance(m.get("clientId"), str)), None)
        if message is None:
            return
        client_id: str = message["clientId"]
        session = self.bayeux.session(client_id)
        ids = _message_ids(messages)
        now = self.clock.monotonic()
        if (
            session is not None
            and ids
            and ids[0] == session.last_message_id + 1
            and now - session.checked_at < self.RECHECK_S
        ):
            # the client's very next message: no other node saw one since this copy was current (the row
            # is read again every RECHECK_S all the same: a logout on another node ends the client here too)
            session.last_message_id = ids[-1]
            return
        record = await self.store.get_cometd_client(client_id)
        now_ms = self.clock.now_ms()
        if record is None or record.gone or record.seen_ms < now_ms - self.stale_ms:
            if session is not None:
                self.bayeux.discard(client_id)
            if record is not None and not record.gone:
                await self.store.end_cometd_client(client_id)  # expired: kept to resume from
            return
        if record.user_id != principal.user_id:
            return  # never usable by another user: the batch gets 402 (bayeux.py)
        ext = message.get("ext")
        ack = ext.get("ack") if isinstance(ext, dict) else None
        is_connect = message.get("channel") == "/meta/connect"
        if not record.ack:
            target = record.position  # written before any node's reply that handed events out
            if session is not None:
                target = max(target, session.position)
        elif is_connect and isinstance(ack, int) and not isinstance(ack, bool):
            target = max(record.floor, ack)  # what the client says it has
        elif session is not None:
            target = session.queue.acked  # its next connect says
        else:
            target = record.position
        if session is None or session.version != record.version:
            if session is None:
                session = self.bayeux.adopt(
                    client_id, principal, ack=record.ack, subscriptions=record.subscriptions, now=now
                )
            else:
                session.subscriptions = record.subscriptions
                session.queue = ClientQueue(self.settings.max_queue)
            session.version = record.version
            session.resume_key = record.resume_key
            await self._refill(session, target)
        elif target < session.complete_after:
            await self._refill(session, target)
        elif target > session.queue.acked:
            session.queue.reposition(target)
        session.last_message_id = ids[-1] if ids else -2  # -2: no message id follows it
        session.checked_at = now

    async def _refill(self, session: ClientSession, position: int) -> None:
        session.queue.reposition(position)
        session.complete_after = position
        if not await fill(self.bayeux, self.store, session, position, self.settings.max_queue):
            # further behind than a queue holds: it starts afresh (docs/notifications.md, "Resuming")
            await self.store.delete_cometd_client(session.client_id)

    # --- after a batch ---------------------------------------------------------------------------------

    async def handshook(self, session: ClientSession, messages: list[dict[str, Any]]) -> None:
        """A client handshook here: its row."""
        ids = _message_ids(messages)
        session.last_message_id = ids[-1] if ids else -2
        session.checked_at = self.clock.monotonic()
        now_ms = self.clock.now_ms()
        position = session.queue.acked
        session.complete_after = position
        record = ClientRecord(
            session.client_id,
            session.principal.user_id,
            session.resume_key,
            session.ack,
            session.subscriptions,
            0,
            position,
            position,
            now_ms,
        )
        await self.store.put_cometd_client(record)
        self._written[session.client_id] = now_ms

    async def find_resume(self, user_id: str, key: str) -> int | None:
        """The position of the client a new handshake of ``user_id`` with ``key`` resumes (used once)."""
        stale = self.clock.now_ms() - self.stale_ms
        found = await self.store.find_cometd_resume(user_id, key, stale)
        if found is None or found.seen_ms < self.clock.now_ms() - self.resume_ms:
            return None
        await self.store.delete_cometd_client(found.client_id)
        return found.position

    async def subscribed(self, session: ClientSession, delta: list[tuple[bool, list[str]]]) -> None:
        """``session``'s subscriptions changed here by ``delta`` ((subscribe?, patterns) in order): write them
        against the version read, re-reading and applying ``delta`` again when another node wrote first;
        then refill its queue with the new subscriptions."""
        subscriptions, version = session.subscriptions, session.version
        for _ in range(20):
            if await self.store.set_cometd_subscriptions(session.client_id, subscriptions, version):
                session.version = version + 1
                break
            record = await self.store.get_cometd_client(session.client_id)
            if record is None or record.gone:
                self.bayeux.discard(session.client_id)
                return
            subscriptions, version = record.subscriptions, record.version
            for subscribe, patterns in delta:
                subscriptions = (
                    subscriptions.union(patterns) if subscribe else subscriptions.difference(patterns)
                )
            session.subscriptions = subscriptions
        else:
            log.warning("shared clients: could not write the subscriptions of %s", session.client_id)
            return
        position = session.queue.acked if session.ack else session.position
        session.queue = ClientQueue(self.settings.max_queue)
        await self._refill(session, position)

    async def disconnected(self, client_id: str) -> None:
        self._pending.pop(client_id, None)
        self._written.pop(client_id, None)
        await self.store.delete_cometd_client(client_id)

    async def left(self, session: ClientSession) -> None:
        """Dropped by its serving node (its queue overflowed, the user logged out): it must handshake again."""
        self._pending.pop(session.client_id, None)
        await self.store.end_cometd_client(session.client_id)

    async def user_left(self, user_id: str) -> None:
        await self.store.end_cometd_clients_of(user_id)

    def handed_out(self, session: ClientSession) -> None:
        """Events went to ``session`` (or it acknowledged): its position goes out with the next write."""
        self._pending[session.client_id] = session.position

    async def handed_out_now(self, session: ClientSession) -> None:
        """The same, written before the reply goes out (long-polling, no ack extension). The replies of one
        loop turn share one write, made at its end."""
        self._pending[session.client_id] = session.position
        soon = self._soon
        if soon is None:
            loop = asyncio.get_running_loop()
            soon = self._soon = loop.create_future()
            loop.call_soon(self._flush_soon, soon)
        await asyncio.shield(soon)

    def _flush_soon(self, soon: asyncio.Future[None]) -> None:
        self._soon = None

        async def flush() -> None:
            try:
                await self.flush()
            except Exception:  # kept pending, written by the next flush; the replies go out meanwhile
                log.exception("shared clients: writing positions failed; will retry")
            finally:
                if not soon.done():
                    soon.set_result(None)

        task = asyncio.get_running_loop().create_task(flush())
        self._flush_tasks.add(task)
        task.add_done_callback(self._flush_tasks.discard)

    # --- the periodic write ----------------------------------------------------------------------------

    async def flush(self) -> None:
        """Write the pending positions, and "seen" for the clients served here not written for a while."""
        async with self._flushing:
            now_ms = self.clock.now_ms()
            pending, self._pending = self._pending, {}
            due = now_ms - self.touch_ms
            written = self._written
            for session in self.bayeux.sessions():
                cid = session.client_id
                if cid not in pending and (session.held is not None or session.websocket):
                    if written.get(cid, 0) < due:
                        pending[cid] = session.position
            if not pending:
                return
            rows = [(cid, position, now_ms) for cid, position in pending.items()]
            try:
                await self.store.record_cometd_positions(rows)
            except Exception:
                for cid, position in pending.items():
                    self._pending.setdefault(cid, position)
                raise
            for cid in pending:
                written[cid] = now_ms
            if len(written) > 4 * len(self.bayeux) + 1024:
                live = {s.client_id for s in self.bayeux.sessions()}
                self._written = {c: t for c, t in written.items() if c in live}

    async def tick(self) -> None:
        """Run about every ``flush_interval_s`` (the hub's loop): flush; purge the rows past the resume window
        now and then."""
        await self.flush()
        if time.monotonic() - self._last_purge > 60:
            self._last_purge = time.monotonic()
            await self.store.purge_cometd_clients(self.clock.now_ms() - self.resume_ms - self.stale_ms)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.flush()

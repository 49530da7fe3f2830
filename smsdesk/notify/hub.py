"""The notification hub: wires the Bayeux state object to the store, the bus, the clock and the transports.

Flow (``docs/notifications.md``): an action commits events to the store, then calls ``notify_committed``;
that publishes an ``EventsAdvanced`` hint on the bus. Every node's hub (this one included) wakes, reads the
store from its cursor for the users that have clients on this node, and pushes the events into the
clients' queues, waking their held connects. With more than ``audience_in_list_max`` recipients (and a source
that implements ``AllEventSource``) the read is ``id > cursor`` for every user, filtered in memory by
``Bayeux.push``: one range read on the primary key instead of a long ``IN`` list. Hints are only hints: the hub also catches up every
``poll_interval_ms`` and after a bus reconnect (``Resync``), so a lost hint costs latency, never events.

A websocket never waits in the hub: ``handle_websocket`` answers a batch at once and registers a held
``/meta/connect`` with the socket's ``Sink``; the hub answers it later through ``Sink.deliver`` (an event
for an ack client, a newer connect, the client leaving, or its deadline, checked by the sweep). Events for
a websocket client without the ack extension are written to its sink as soon as they are queued, one frame
per client per catch-up, built from events encoded once (``wire.join_frame``). Long-polling waits in
``process``.

Presence (docs/routing.md): the hub tells its ``PresenceListener`` (``notify/presence.py``) of each handshake
and, at each sweep, which users have clients here; it keeps no presence state of its own.

The hub owns three background tasks (catch-up, expiry sweep, poll) started by ``start`` and stopped by
``close``. It never starts or closes the bus: construct the hub *before* starting the bus (it subscribes in
its constructor).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp

from smsdesk.bus.base import Bus
from smsdesk.bus.messages import EVENTS_TOPIC, BusMessageError, EventsAdvanced, parse_message
from smsdesk.clock import Clock
from smsdesk.domain.users import Principal
from smsdesk.metrics import NOTIFY_LAG
from smsdesk.notify.bayeux import Bayeux, ClientSession, Hold, Outcome, Transport, new_client_id
from smsdesk.notify.ports import AllEventSource, Authenticator, EventSource
from smsdesk.notify.presence import PresenceListener
from smsdesk.notify.relay import Relay
from smsdesk.notify.settings import NotifySettings
from smsdesk.notify.shared import ClientStore, ResumeMemory, SharedClients, fill
from smsdesk.notify.wire import encode_batch, join_frame
from smsdesk.periodic import Periodic

__all__ = ["HotMount", "NotificationHub", "Processed", "Sink"]

log = logging.getLogger(__name__)


class HotMount(Protocol):
    """An outer dispatcher that answers some paths ahead of the web framework (``smsdesk.api.dispatch``)."""

    def add(
        self, path: str, methods: Collection[str], endpoint: Callable[[Request], Awaitable[Response]]
    ) -> None: ...

    def add_websocket(self, prefix: str, app: ASGIApp) -> None: ...


class Sink(Protocol):
    """A websocket as the hub sees it: the clients that connected through it, and a way to write a frame
    without waiting (it buffers, within bounds, or closes the socket when the client is too slow)."""

    clients: set[str]

    @property
    def open(self) -> bool:
        """``False`` once the socket is being closed: nothing may be attached to it any more."""
        ...

    def deliver(self, frame: bytes) -> None: ...

    def close_soon(self, code: int, reason: str) -> None:
        """Stop serving the socket and close it (its user's access was revoked)."""
        ...


@dataclass(frozen=True, slots=True)
class Processed:
    replies: list[dict[str, Any]]
    handshake: str | None  # a clientId created by this batch


class NotificationHub:
    def __init__(
        self,
        source: EventSource,
        bus: Bus,
        authenticator: Authenticator,
        clock: Clock,
        settings: NotifySettings | None = None,
        *,
        topic: str = EVENTS_TOPIC,
        relay: Relay | None = None,
        presence: PresenceListener | None = None,
        shared: ClientStore | None = None,
        resume_s: int = 600,
    ) -> None:
        self.settings = settings or NotifySettings()
        self.presence = presence  # told of clients arriving and, at each sweep, who has clients here
        self.source = source
        self._all_source = source if isinstance(source, AllEventSource) else None
        self.bus = bus
        self.authenticator = authenticator
        self.clock = clock
        self.relay = relay  # worker processes of one node: client ids carry the worker's name (relay.py)
        if relay is None:
            self.bayeux = Bayeux(self.settings, on_leave=self._left)
        else:
            prefix = relay.prefix
            self.bayeux = Bayeux(
                self.settings, make_client_id=lambda: prefix + new_client_id(), on_leave=self._left
            )
        # clients shared by the nodes through the store (notify/shared.py), else resumed from memory
        self.shared = (
            SharedClients(shared, self.bayeux, clock, self.settings, resume_s=resume_s)
            if shared is not None
            else None
        )
        self.resume = ResumeMemory(resume_s) if shared is None else None
        self._chores: set[asyncio.Task[None]] = set()
        self._topic = topic
        self._cursor = 0
        self._hint = asyncio.Event()
        self._wakers: dict[str, asyncio.Future[None]] = {}  # client id -> resolved by the next wake
        self._sinks: dict[str, Sink] = {}  # client id -> the websocket its last connect came through
        self._ws_holds: dict[str, tuple[Hold, Sink]] = {}  # client id -> its held websocket connect
        self._sockets: dict[Sink, str] = {}  # open websocket -> the user it was authenticated as
        self._deadlines: list[tuple[float, int, str]] = []  # heap of (deadline, hold token, client id)
        self._tasks: list[asyncio.Task[None]] = []
        self._loops: list[Periodic] = []  # sweep, poll, shared clients' positions
        self._started = False
        self._outgoing = _Outgoing()  # the commits' hints of this loop turn, published as one at its end
        self._publishing: set[asyncio.Task[None]] = set()
        # (last event id, when committed) of this process's commits, until their events are queued
        self._lag: deque[tuple[int, float]] = deque(maxlen=4096)
        bus.subscribe(topic, self._on_hint)

    @property
    def cursor(self) -> int:
        """The last event id this node has read from the store."""
        return self._cursor

    # --- lifecycle ------------------------------------------------------------------------------------

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        self._cursor = await self.source.last_event_id()
        self._spawn(self._pump(), "pump")
        self._every(self.settings.sweep_interval_ms, self._sweep, "sweep", "sweeping expired clients")
        if (
            self.settings.poll_interval_ms
        ):  # the store read without a hint now and then: a lost hint costs latency
            self._every(self.settings.poll_interval_ms, self._hint.set, "poll", "polling the store")
        if self.shared is not None:
            shared = self.shared
            self._loops.append(
                Periodic(
                    shared.tick,
                    shared.flush_interval_s,
                    name="NotificationHub.shared",
                    log=log,
                    what="shared clients: writing positions",
                    first=False,
                    sleep=self.clock.sleep,
                )
            )
        for loop in self._loops:
            loop.start()
        if self.relay is not None:
            from smsdesk.notify.longpoll import relay_handler

            await self.relay.start(relay_handler(self))
        await asyncio.sleep(0)  # let the tasks arm their timers before anyone advances a fake clock

    async def close(self) -> None:
        await asyncio.sleep(0)  # the hints of the last commits go out before the bus closes
        if self._publishing:
            await asyncio.gather(*self._publishing, return_exceptions=True)
        if self.relay is not None:
            await self.relay.close()
        if self.shared is not None:
            await self.shared.close()  # the positions; the rows stay: the clients go on on other nodes
            released = []
            for session in self.bayeux.sessions():  # held connects answered as released, not with a 402
                if session.held is not None:
                    session.held = None
                    released.append(session.client_id)
            self._wake(released)
            for _ in range(10):  # the woken long-polls answer (a few loop turns) before the shutdown below
                await asyncio.sleep(0)
        if self._chores:
            await asyncio.gather(*self._chores, return_exceptions=True)
        self._wake(self.bayeux.shutdown())
        loops, self._loops = self._loops, []
        for loop in loops:
            await loop.close()
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await asyncio.sleep(0)  # let woken drivers answer their held connects
        self._started = False

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        self._tasks.append(asyncio.create_task(coro, name=f"NotificationHub.{name}"))

    # --- producer side ----------------------------------------------------------------------------------

    async def notify_committed(
        self,
        last_event_id: int,
        user_ids: Collection[str],
        sessions: Collection[tuple[str, int]] = (),
        refs: Collection[tuple[str, int]] = (),
    ) -> None:
        """Call after a commit that stored events up to ``last_event_id`` for ``user_ids``; ``sessions``: the
        (id, version) of the SMS sessions it wrote, passed on for other processes' session caches.

        The hints of the commits that end in one turn of the event loop (a group commit answers all its
        writers in the same turn) go out as one message at the end of that turn: the highest event id, the
        union of the users and of the sessions. Every process then reads the store once for all of them."""
        self._lag.append((last_event_id, time.perf_counter()))
        if self._outgoing.add(last_event_id, user_ids, sessions, refs):
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        outgoing, self._outgoing = self._outgoing, _Outgoing()
        hint = outgoing.hint()
        task = asyncio.get_running_loop().create_task(self._publish(hint.to_wire()))
        self._publishing.add(task)
        task.add_done_callback(self._publishing.discard)

    async def _publish(self, wire: dict[str, Any]) -> None:
        try:
            await self.bus.publish(self._topic, wire)
        except Exception:  # the commit stands: the clients catch up on the next hint or poll
            log.exception("NotificationHub: publishing a hint failed")

    async def _on_hint(self, wire: dict[str, Any]) -> None:
        try:
            message = parse_message(wire)
        except BusMessageError as exc:
            log.warning("NotificationHub: ignoring a bad bus message: %s", exc)
            return
        if isinstance(message, EventsAdvanced):
            if message.last_event_id <= self._cursor:
                return
            audience = self.bayeux.audience()  # a live view: O(len(user_ids)), not O(connected users)
            if message.user_ids and not any(u in audience for u in message.user_ids):
                return
        self._hint.set()

    async def _pump(self) -> None:
        while True:
            await self._hint.wait()
            self._hint.clear()
            try:
                await self.catch_up()
            except Exception:
                log.exception("NotificationHub: reading events from the store failed; will retry")

    async def catch_up(self) -> None:
        """Read the store from the cursor for this node's audience and queue what is new."""
        audience = self.bayeux.audience()
        if not audience:
            self._cursor = max(self._cursor, await self.source.last_event_id())
            self._lag.clear()  # nobody to deliver to here
            return
        limit = self.settings.read_batch
        while True:
            if self._all_source is not None and len(audience) > self.settings.audience_in_list_max:
                events = await self._all_source.read_all_events(self._cursor, limit)
            else:
                events = await self.source.read_events(audience, self._cursor, limit)
            if not events:
                return
            self._wake(self.bayeux.push(events))
            self._cursor = max(self._cursor, events[-1].id)
            self._observe_lag()
            if len(events) < limit:
                return

    def _observe_lag(self) -> None:
        """This process's commits whose events are now queued for the clients: their lag (metrics)."""
        lag, cursor = self._lag, self._cursor
        if not lag or lag[0][0] > cursor:
            return
        now = time.perf_counter()
        while lag and lag[0][0] <= cursor:
            NOTIFY_LAG.observe(now - lag.popleft()[1])

    def _every(self, interval_ms: int, action: Callable[[], None], name: str, what: str) -> None:
        async def run() -> None:
            action()

        self._loops.append(
            Periodic(
                run,
                interval_ms / 1000,
                name=f"NotificationHub.{name}",
                log=log,
                what=f"NotificationHub: {what}",
                first=False,
                sleep=self.clock.sleep,
            )
        )

    def _sweep(self) -> None:
        now = self.clock.monotonic()
        self._wake(self.bayeux.expire(now))
        if self.presence is not None:
            self.presence.alive(self.bayeux.audience())
        due: list[str] = []
        deadlines = self._deadlines
        while deadlines and deadlines[0][0] <= now:
            _, token, client_id = heapq.heappop(deadlines)
            held = self._ws_holds.get(client_id)
            if held is not None and held[0].token == token:
                due.append(client_id)
        self._wake(due)

    def drop_user(self, user_id: str) -> None:
        """Disconnect every client of ``user_id`` and close its websockets (at logout, when the user is deleted:
        docs/security.md)."""
        on_leave, self.bayeux.on_leave = self.bayeux.on_leave, None  # a logout is not resumed
        try:
            self._wake(self.bayeux.drop_user(user_id))
        finally:
            self.bayeux.on_leave = on_leave
        if self.shared is not None:
            self._chore(self.shared.user_left(user_id))
        for sink in [s for s, owner in self._sockets.items() if owner == user_id]:
            sink.close_soon(1008, "access revoked")

    def attach(self, sink: Sink, user_id: str) -> None:
        """A websocket was opened by ``user_id`` (``drop_user`` closes it); ``detach`` forgets it."""
        self._sockets[sink] = user_id

    def _left(self, session: ClientSession, reason: str) -> None:
        """A client left without a disconnect (expired, dropped, shut down): kept to resume it."""
        if self.shared is None:
            if self.resume is not None and self._started:
                self.resume.left(session, self.clock.monotonic())
        elif session.held is not None or session.client_id in self._sinks:
            if reason.startswith("Queue overflow"):  # served here: it must handshake again
                self._chore(self.shared.left(session))
        # else a copy of a client served elsewhere, or expired here: its row decides (shared.py)

    def _chore(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._chores.add(task)
        task.add_done_callback(self._chore_done)

    def _chore_done(self, task: asyncio.Task[None]) -> None:
        self._chores.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("NotificationHub: writing a shared client failed: %s", task.exception())

    # --- consumer side (the transports call this) ------------------------------------------------------

    def _wake(self, client_ids: Collection[str]) -> None:
        now: float | None = None
        for client_id in client_ids:
            sink = self._sinks.get(client_id)
            if sink is not None:
                encoded = self.bayeux.take_immediate(client_id)
                if encoded:  # woken by a push: its held connect (if any) stays held
                    sink.deliver(join_frame(encoded))
                    if self.shared is not None:
                        self._handed_out(client_id)
                    continue
            held = self._ws_holds.get(client_id)
            if held is not None:
                hold, holder = held
                if now is None:
                    now = self.clock.monotonic()
                if self.bayeux.ready(hold, now):
                    del self._ws_holds[client_id]
                    holder.deliver(encode_batch(self.bayeux.complete(hold, now)))
                    if self.shared is not None:
                        self._handed_out(client_id)
            waker = self._wakers.get(client_id)
            if waker is not None and not waker.done():
                waker.set_result(None)
            if self.bayeux.session(client_id) is None:
                self._wakers.pop(client_id, None)
                self._sinks.pop(client_id, None)

    def _handed_out(self, client_id: str) -> None:
        session = self.bayeux.session(client_id)
        if session is not None and self.shared is not None:
            self.shared.handed_out(session)

    async def receive_websocket(
        self, messages: list[dict[str, Any]], principal: Principal | None, sink: Sink, resume_key: str = ""
    ) -> bytes | None:
        """``handle_websocket``, with what the shared clients (and a resumed client's subscribe) need first
        and after: the store's reads and writes (notify/shared.py)."""
        if self.shared is None and not self._resuming(messages):
            return self.handle_websocket(messages, principal, sink, resume_key)
        if self.shared is not None:
            await self.shared.before(messages, principal)
        now = self.clock.monotonic()
        outcome = self.bayeux.handle(messages, principal=principal, now=now, transport=Transport.WEBSOCKET)
        self._wake(outcome.woken)
        if outcome.handshake is not None:
            await self._handshook(outcome.handshake, resume_key, messages)
        await self._after(messages, outcome)
        frame = self._websocket_outcome(outcome, sink, now)
        if self.shared is not None and outcome.connected:
            self._handed_out(outcome.connected[-1])
        return frame

    def handle_websocket(
        self, messages: list[dict[str, Any]], principal: Principal | None, sink: Sink, resume_key: str = ""
    ) -> bytes | None:
        """Handle one batch received on a websocket, without waiting: the frame of its replies (``None``
        when there is nothing to answer now). A held connect is answered later through ``sink``. (Shared
        clients go through ``receive_websocket``.)"""
        now = self.clock.monotonic()
        outcome = self.bayeux.handle(messages, principal=principal, now=now, transport=Transport.WEBSOCKET)
        self._wake(outcome.woken)  # a connect released by this batch is answered before its replies
        if outcome.handshake is not None:
            self._start(outcome.handshake, resume_key, self._cursor)
            if self.presence is not None and principal is not None:
                self.presence.client_added(principal.user_id)
        return self._websocket_outcome(outcome, sink, now)

    def _websocket_outcome(self, outcome: Outcome, sink: Sink, now: float) -> bytes | None:
        if sink.open:
            for client_id in outcome.connected:
                if self.bayeux.session(client_id) is not None:
                    self._sinks[client_id] = sink
                    sink.clients.add(client_id)
        hold = outcome.hold
        if hold is not None and not sink.open:
            self.bayeux.abandon(hold, now)
        elif hold is not None:
            client_id = hold.session.client_id
            self._ws_holds[client_id] = (hold, sink)
            heapq.heappush(self._deadlines, (hold.deadline, hold.token, client_id))
            if len(self._deadlines) > 2 * len(self._ws_holds) + 64:  # mostly holds answered early
                self._deadlines = [(h.deadline, h.token, c) for c, (h, _) in self._ws_holds.items()]
                heapq.heapify(self._deadlines)
        return encode_batch(outcome.replies) if outcome.replies else None

    def detach(self, sink: Sink) -> None:
        """The websocket ``sink`` closed: its held connects are abandoned, their events stay queued."""
        now = self.clock.monotonic()
        self._sockets.pop(sink, None)
        for client_id in sink.clients:
            if self._sinks.get(client_id) is sink:
                del self._sinks[client_id]
            held = self._ws_holds.get(client_id)
            if held is not None and held[1] is sink:
                del self._ws_holds[client_id]
                self.bayeux.abandon(held[0], now)
        sink.clients.clear()

    async def process(
        self,
        messages: list[dict[str, Any]],
        principal: Principal | None,
        transport: Transport,
        gone: asyncio.Future[Any] | None = None,
        resume_key: str = "",
    ) -> Processed | None:
        """Handle one batch; wait for a held connect. ``None`` when ``gone`` fired first (client left)."""
        shared = self.shared
        if shared is not None:
            await shared.before(messages, principal)
        outcome = self.bayeux.handle(
            messages, principal=principal, now=self.clock.monotonic(), transport=transport
        )
        self._wake(outcome.woken)
        if outcome.handshake is not None:
            if shared is None:
                self._start(outcome.handshake, resume_key, self._cursor)
            else:
                await self._handshook(outcome.handshake, resume_key, messages)
            if self.presence is not None and principal is not None:
                self.presence.client_added(principal.user_id)
        if shared is not None or self._resuming(messages):
            await self._after(messages, outcome)
        if outcome.hold is None:
            if shared is not None:
                await self._delivered(messages, outcome.replies)
            return Processed(outcome.replies, outcome.handshake)
        held = await self._wait(outcome.hold, gone)
        if not held:
            return None
        replies = outcome.replies + self.bayeux.complete(outcome.hold, self.clock.monotonic())
        if shared is not None:
            await self._delivered(messages, replies)
        return Processed(replies, None)

    # --- resuming and shared clients (notify/shared.py, docs/notifications.md "Resuming") ---------------

    def _start(self, client_id: str, resume_key: str, cursor: int) -> None:
        """A client handshook (one node): it starts after ``cursor``, or where the client it resumes was."""
        session = self.bayeux.session(client_id)
        if session is None:
            return
        session.resume_key = resume_key
        position = None
        if self.resume is not None:
            position = self.resume.take(session.principal.user_id, resume_key, self.clock.monotonic())
        session.resumed = position is not None
        self.bayeux.start_after(client_id, cursor if position is None else position)

    async def _handshook(self, client_id: str, resume_key: str, messages: list[dict[str, Any]]) -> None:
        cursor = self._cursor
        session = self.bayeux.session(client_id)
        if session is None or self.shared is None:
            self._start(client_id, resume_key, cursor)
            return
        session.resume_key = resume_key
        position = await self.shared.find_resume(session.principal.user_id, resume_key)
        session.resumed = position is not None
        if position is None:  # this node's cursor may lag behind the events of users it has no client of
            position = max(cursor, await self.source.last_event_id())
        self.bayeux.start_after(client_id, position)
        await self.shared.handshook(session, messages)

    def _resuming(self, messages: list[dict[str, Any]]) -> bool:
        """Whether the batch subscribes a client that resumed another (one node): the events since are
        filled in for the new subscriptions."""
        for message in messages:
            if message.get("channel") == "/meta/subscribe":
                client_id = message.get("clientId")
                session = self.bayeux.session(client_id) if isinstance(client_id, str) else None
                return session is not None and session.resumed
        return False

    async def _after(self, messages: list[dict[str, Any]], outcome: Outcome) -> None:
        """Write what the batch changed (shared clients), fill a resumed client's new subscriptions."""
        client_id = next((m["clientId"] for m in messages if isinstance(m.get("clientId"), str)), None)
        if client_id is None:
            return
        delta: list[tuple[bool, list[str]]] = []
        disconnected = False
        for reply in outcome.replies:
            channel = reply.get("channel")
            if not reply.get("successful"):
                continue
            if channel in ("/meta/subscribe", "/meta/unsubscribe"):
                wanted = reply.get("subscription")
                patterns = [wanted] if isinstance(wanted, str) else list(wanted or ())
                delta.append((channel == "/meta/subscribe", patterns))
            elif channel == "/meta/disconnect":
                disconnected = True
        if disconnected and self.shared is not None:
            await self.shared.disconnected(client_id)
            return
        session = self.bayeux.session(client_id)
        if session is None or not delta:
            return
        if self.shared is not None:
            await self.shared.subscribed(session, delta)
        elif session.resumed:
            await fill(self.bayeux, self.source, session, session.queue.batch, self.settings.max_queue)

    async def _delivered(self, messages: list[dict[str, Any]], replies: list[dict[str, Any]]) -> None:
        """A long-polling reply goes out: the client's position is written (before it, when events go to a
        client without the ack extension: the next node must not hand them out again)."""
        assert self.shared is not None
        client_id = next((m["clientId"] for m in messages if isinstance(m.get("clientId"), str)), None)
        session = self.bayeux.session(client_id) if client_id is not None else None
        if session is None:
            return
        if not session.ack and any(not str(r.get("channel", "")).startswith("/meta/") for r in replies):
            await self.shared.handed_out_now(session)
        else:
            self.shared.handed_out(session)

    async def _wait(self, hold: Hold, gone: asyncio.Future[Any] | None) -> bool:
        """Wait for ``hold`` to be ready. Cost per wake-up: no new task (a plain future, shared by the waits
        of one client); the deadline's sleep is one task per hold."""
        client_id = hold.session.client_id
        loop = asyncio.get_running_loop()
        done = False
        slept: asyncio.Future[None] | None = None
        try:
            while True:
                waker = self._wakers.get(client_id)
                if waker is None or waker.done():
                    waker = self._wakers[client_id] = loop.create_future()
                now = self.clock.monotonic()
                if self.bayeux.ready(hold, now):
                    done = True
                    return True
                if gone is not None and gone.done():
                    return False
                if slept is None:
                    slept = asyncio.ensure_future(self.clock.sleep(hold.deadline - now))
                waiting: set[asyncio.Future[Any]] = {waker, slept}
                if gone is not None:
                    waiting.add(gone)
                await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if slept is not None:
                slept.cancel()
            if not done:
                self.bayeux.abandon(hold, self.clock.monotonic())

    def mount(self, hot: HotMount) -> None:
        """Mount CometD on an outer dispatcher, ahead of the web framework's middleware and routes: the
        websocket on ``/api/v2/notifications``, and long-polling on the path and one segment below it. The
        other paths below it are left to ``routes``, which serve them alike."""
        from smsdesk.notify.longpoll import PATH, longpoll_endpoint
        from smsdesk.notify.websocket import websocket_app

        hot.add_websocket(PATH, websocket_app(self))
        endpoint = longpoll_endpoint(self)
        hot.add(PATH, {"POST"}, endpoint)
        hot.add(PATH + "/{tail}", {"POST"}, endpoint)

    def routes(self) -> list[BaseRoute]:
        """Plain Starlette routes for ``/api/v2/notifications`` and ``/api/v2/notifications/{tail}``."""
        from smsdesk.notify.longpoll import longpoll_routes
        from smsdesk.notify.websocket import websocket_routes

        return [*longpoll_routes(self), *websocket_routes(self)]


class _Outgoing:
    """The hints of one loop turn merged: the highest event id, the users (empty: possibly anyone), and the
    highest version of each session."""

    __slots__ = ("anyone", "held", "last", "refs", "sessions", "users")

    def __init__(self) -> None:
        self.held = False
        self.last = 0
        self.users: set[str] = set()
        self.anyone = False
        self.sessions: dict[str, int] = {}
        self.refs: dict[str, int] = {}

    def add(
        self,
        last: int,
        users: Collection[str],
        sessions: Collection[tuple[str, int]],
        refs: Collection[tuple[str, int]] = (),
    ) -> bool:
        """Merge one commit's hint; True when it is the turn's first (the caller schedules the flush)."""
        first = not self.held
        self.held = True
        self.last = max(self.last, last)
        if users:
            self.users.update(users)
        else:
            self.anyone = True
        known = self.sessions
        for session_id, version in sessions:
            if known.get(session_id, 0) < version:
                known[session_id] = version
        for user_id, reference_id in refs:
            if self.refs.get(user_id, 0) < reference_id:
                self.refs[user_id] = reference_id
        return first

    def hint(self) -> EventsAdvanced:
        users = () if self.anyone else self.users
        return EventsAdvanced.of(self.last, users, self.sessions.items(), self.refs.items())

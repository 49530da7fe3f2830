"""The Bayeux 1.0 server as a sans-I/O state object: no asyncio, no sockets, no clock of its own.

A transport driver (``longpoll.py``, ``websocket.py``, through ``hub.py``) decodes a request into a list of
messages and calls ``Bayeux.handle(messages, principal=..., now=..., transport=...)``. The ``Outcome`` holds
the replies, and possibly a ``Hold``: a ``/meta/connect`` to answer later. The driver waits until
``ready(hold, now)``, then sends ``complete(hold, now)`` (the queued events followed by the connect reply).
``push(events)`` routes committed store events into client queues; ``expire(now)`` drops idle clients.
A websocket client without the ack extension gets its events at once (``take_immediate``), outside any
connect reply, as the CometD server does; every other client gets them in ``/meta/connect`` replies.
Times are monotonic seconds supplied by the caller.

Policy lives here: which connect is held (only a lone connect that is not the client's first one, with
nothing queued; the client's ``advice.timeout`` is honoured up to ``heartbeat_ms``), one held connect per
client (a new one releases the old), the error strings (``402::Unknown client`` with ``reconnect:
handshake``, ``403::Handshake denied`` with ``reconnect: none``), and the ack extension. Protocol notes and
the decisions on open points: ``docs/notifications.md``.
"""

from __future__ import annotations

import enum
import secrets
from collections import defaultdict
from collections.abc import Callable, Iterable, KeysView
from dataclasses import dataclass, field
from typing import Any

from smsdesk.domain.events import SUPERVISORS, StoredEvent
from smsdesk.domain.users import Principal
from smsdesk.notify.channels import is_valid_channel, matches, may_receive, subscribe_refusal
from smsdesk.notify.queue import ClientQueue, QueueOverflow
from smsdesk.notify.settings import NotifySettings
from smsdesk.notify.wire import MESSAGES_UPDATED_EXT, encode_message, event_message, is_messages_updated

__all__ = [
    "Bayeux",
    "ClientSession",
    "Hold",
    "IllegalTransition",
    "Outcome",
    "SessionState",
    "Transport",
    "new_client_id",
]

UNKNOWN_CLIENT = "402::Unknown client"
SUBSCRIPTION_SETS_MAX = 1024
HANDSHAKE_DENIED = "403::Handshake denied"


class Transport(enum.Enum):
    LONG_POLLING = "long-polling"
    WEBSOCKET = "websocket"


class SessionState(enum.Enum):
    HANDSHAKEN = "handshaken"  # handshake answered; no /meta/connect yet (the first one is answered at once)
    CONNECTED = "connected"  # at least one /meta/connect answered; later connects may be held
    GONE = "gone"  # disconnected, expired, overflowed or shut down; the clientId is unknown from now on


class IllegalTransition(Exception):
    """A session asked to move between states in a way the protocol does not allow."""


@dataclass(eq=False, slots=True)
class ClientSession:
    client_id: str
    principal: Principal
    queue: ClientQueue
    ack: bool
    last_seen: float
    state: SessionState = SessionState.HANDSHAKEN
    subscriptions: frozenset[str] = frozenset()  # shared by the clients with the same ones (``_intern``)
    held: int | None = None  # token of the held /meta/connect
    gone_reason: str = ""
    websocket: bool = False  # its last /meta/connect came over a websocket
    supervisor: bool = False  # receives ``SUPERVISORS`` events (a supervisor or admin)
    messages_updated: bool = False  # asked for delivery-status MessagesUpdated in its handshake ``ext``
    resume_key: str = ""  # the browser's cookie at handshake: a new handshake with it resumes this client
    resumed: bool = False  # it resumed a former client: events since are filled in at each subscribe
    version: int = 0  # shared clients: the version of its subscriptions in the store (notify/shared.py)
    complete_after: int = 0  # shared clients: its queue holds every event after this id it may receive
    last_message_id: int = -2  # shared clients: the id of the last message this copy was made current for
    checked_at: float = 0.0  # shared clients: when this copy last read its row (monotonic seconds)

    @property
    def position(self) -> int:
        """The last event id handed out to it: where it resumes (docs/notifications.md, "Resuming")."""
        return self.queue.batch

    @property
    def immediate(self) -> bool:
        """Events go out as soon as they are queued, not in a ``/meta/connect`` reply: a websocket client
        without the ack extension that has connected (what the CometD server does; with the ack extension
        every event travels in a connect reply, so that the acknowledgement covers it)."""
        return self.websocket and not self.ack and self.state is SessionState.CONNECTED

    def leave(self, reason: str) -> None:
        if self.state is SessionState.GONE:
            raise IllegalTransition(f"client {self.client_id} is already gone ({self.gone_reason})")
        self.state = SessionState.GONE
        self.gone_reason = reason
        self.held = None

    def connected(self) -> None:
        if self.state is SessionState.GONE:
            raise IllegalTransition(f"client {self.client_id} is gone ({self.gone_reason}); cannot connect")
        self.state = SessionState.CONNECTED


@dataclass(frozen=True, slots=True)
class Hold:
    session: ClientSession
    token: int
    deadline: float
    message_id: Any


@dataclass(slots=True)
class Outcome:
    replies: list[dict[str, Any]] = field(default_factory=list)
    hold: Hold | None = None
    handshake: str | None = None  # clientId created by this batch (the driver sets the browser cookie)
    woken: list[str] = field(default_factory=list)  # clients whose held connect must be looked at again
    connected: list[str] = field(default_factory=list)  # clients whose /meta/connect this batch accepted


def new_client_id() -> str:
    return secrets.token_hex(20)  # 160 random bits, alphanumeric


def _reply(message: dict[str, Any], successful: bool, **fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"channel": message.get("channel"), "successful": successful}
    if "id" in message:
        out["id"] = message["id"]
    out.update(fields)
    return out


def _error(message: dict[str, Any], error: str, **fields: Any) -> dict[str, Any]:
    return _reply(message, False, error=error, **fields)


class Bayeux:
    def __init__(
        self,
        settings: NotifySettings,
        *,
        make_client_id: Callable[[], str] = new_client_id,
        on_leave: Callable[[ClientSession, str], None] | None = None,
    ) -> None:
        self._settings = settings
        self._make_client_id = make_client_id
        self.on_leave = on_leave  # told of every client that leaves but for a disconnect (to resume it)
        self._sessions: dict[str, ClientSession] = {}
        # recipient -> its clientIds here, kept as clients come and go: a user id, or ``SUPERVISORS`` -> every
        # supervisor's and admin's clients. Its keys are the audience (``audience`` is a view, never a copy).
        self._by_user: dict[str, set[str]] = defaultdict(set)
        self._tokens = 0
        self._subscription_sets: dict[frozenset[str], frozenset[str]] = {}
        self._types = ["long-polling", "websocket"] if settings.websocket else ["long-polling"]

    # --- queries -------------------------------------------------------------------------------------

    def session(self, client_id: str) -> ClientSession | None:
        return self._sessions.get(client_id)

    def __len__(self) -> int:
        return len(self._sessions)

    def sessions(self) -> list[ClientSession]:
        return list(self._sessions.values())

    def audience(self) -> KeysView[str]:
        """Recipients the hub must read events for: users with clients here, plus ``SUPERVISORS`` when a
        supervisor has one. A live view, kept up to date as clients come and go (nothing is built per call):
        ``user in audience`` costs O(1)."""
        return self._by_user.keys()

    def advice(self, reconnect: str = "retry", *, timeout_ms: int | None = None) -> dict[str, Any]:
        timeout = self._settings.timeout_ms if timeout_ms is None else timeout_ms
        return {"reconnect": reconnect, "interval": self._settings.interval_ms, "timeout": timeout}

    # --- the protocol ----------------------------------------------------------------------------------

    def handle(
        self, messages: list[dict[str, Any]], *, principal: Principal | None, now: float, transport: Transport
    ) -> Outcome:
        out = Outcome()
        has_handshake = any(m.get("channel") == "/meta/handshake" for m in messages)
        for message in messages:
            channel = message.get("channel")
            if has_handshake and channel != "/meta/handshake":
                out.replies.append(_error(message, "400::message not allowed in a handshake batch"))
            elif channel == "/meta/handshake":
                out.replies.append(self._handshake(message, principal, now, transport, out))
            elif channel == "/meta/connect":
                self._connect(message, principal, now, lone=len(messages) == 1, out=out, transport=transport)
            elif channel == "/meta/subscribe":
                out.replies.append(self._subscribe(message, principal, now, subscribe=True))
            elif channel == "/meta/unsubscribe":
                out.replies.append(self._subscribe(message, principal, now, subscribe=False))
            elif channel == "/meta/disconnect":
                out.replies.append(self._disconnect(message, principal, out))
            elif not isinstance(channel, str) or not channel:
                out.replies.append(_error({**message, "channel": "/meta/unknown"}, "400::channel_missing"))
            elif channel.startswith("/meta/"):
                out.replies.append(_error(message, f"400:{channel}:unknown meta channel"))
            elif not is_valid_channel(channel):
                out.replies.append(_error(message, f"400:{channel}:channel_invalid"))
            else:
                out.replies.append(_error(message, f"403:{channel}:publish_denied"))
        return out

    def _client(self, message: dict[str, Any], principal: Principal | None) -> ClientSession | None:
        client_id = message.get("clientId")
        session = self._sessions.get(client_id) if isinstance(client_id, str) else None
        if session is None or principal is None:
            return None  # every message carries its user's credentials (docs/security.md)
        if principal.user_id != session.principal.user_id:
            return None  # a clientId is never usable by another user
        return session

    def _unknown(self, message: dict[str, Any]) -> dict[str, Any]:
        return _error(message, UNKNOWN_CLIENT, advice={"reconnect": "handshake", "interval": 0})

    def _handshake(
        self,
        message: dict[str, Any],
        principal: Principal | None,
        now: float,
        transport: Transport,
        out: Outcome,
    ) -> dict[str, Any]:
        if principal is None:
            return _error(message, HANDSHAKE_DENIED, advice={"reconnect": "none", "interval": 0})
        offered = message.get("supportedConnectionTypes")
        if offered is not None:
            if not isinstance(offered, list) or not any(t in self._types for t in offered):
                return _error(
                    message,
                    f"406::unsupported connection types; this server supports {self._types}",
                    supportedConnectionTypes=self._types,
                    advice={"reconnect": "none", "interval": 0},
                )
        if transport is Transport.WEBSOCKET and "websocket" not in self._types:
            return _error(message, "406::websocket disabled", advice={"reconnect": "none", "interval": 0})
        mine = self._by_user.get(principal.user_id, set())
        if len(mine) >= self._settings.max_clients_per_user:
            return _error(message, "403::too many clients for this user", advice={"reconnect": "none"})
        ext = message.get("ext")
        ack = isinstance(ext, dict) and ext.get("ack") is True
        client_id = self._make_client_id()
        session = ClientSession(client_id, principal, ClientQueue(self._settings.max_queue), ack, now)
        session.supervisor = principal.is_supervisor
        session.messages_updated = isinstance(ext, dict) and ext.get(MESSAGES_UPDATED_EXT) is True
        self._sessions[client_id] = session
        self._by_user[principal.user_id].add(client_id)
        if session.supervisor:
            self._by_user[SUPERVISORS].add(client_id)
        out.handshake = client_id
        reply = _reply(
            message,
            True,
            version="1.0",
            minimumVersion="1.0",
            clientId=client_id,
            supportedConnectionTypes=self._types,
            advice=self.advice(),
        )
        if ack:
            reply["ext"] = {"ack": True}
        if session.messages_updated:
            reply.setdefault("ext", {})[MESSAGES_UPDATED_EXT] = True
        return reply

    def _connect(
        self,
        message: dict[str, Any],
        principal: Principal | None,
        now: float,
        *,
        lone: bool,
        out: Outcome,
        transport: Transport,
    ) -> None:
        session = self._client(message, principal)
        if session is None:
            out.replies.append(self._unknown(message))
            return
        session.last_seen = now
        session.websocket = transport is Transport.WEBSOCKET
        out.connected.append(session.client_id)
        ext = message.get("ext")
        if session.ack:
            batch = ext.get("ack") if isinstance(ext, dict) else None
            # A client that does not send a batch number acknowledges everything sent so far.
            has_batch = isinstance(batch, int) and not isinstance(batch, bool)
            session.queue.ack(batch if has_batch else session.queue.batch)  # type: ignore[arg-type]
        if session.held is not None:  # one held connect per client: release the older one
            session.held = None
            out.woken.append(session.client_id)
        timeout_ms = self._settings.timeout_ms
        advice = message.get("advice")
        asked = advice.get("timeout") if isinstance(advice, dict) else None
        if isinstance(asked, int | float) and not isinstance(asked, bool) and asked >= 0:
            timeout_ms = min(int(asked), self._settings.heartbeat_ms)
        first = session.state is SessionState.HANDSHAKEN
        if lone and not first and timeout_ms > 0 and not session.queue.has_unsent:
            self._tokens += 1
            session.held = self._tokens
            out.hold = Hold(session, self._tokens, now + timeout_ms / 1000, message.get("id"))
            return
        out.replies.extend(self._connect_reply(session, message.get("id"), now, first=first))

    def _connect_reply(
        self, session: ClientSession, message_id: Any, now: float, *, first: bool
    ) -> list[dict[str, Any]]:
        events = session.queue.take(keep=session.ack)
        session.connected()
        session.last_seen = now
        reply: dict[str, Any] = {"channel": "/meta/connect", "successful": True}
        if message_id is not None:
            reply["id"] = message_id
        if first:
            reply["advice"] = self.advice()
        if session.ack:
            reply["ext"] = {"ack": session.queue.batch}
        return [*events, reply]

    def take_immediate(self, client_id: str) -> list[bytes]:
        """The encoded events to send at once to ``client_id`` (``ClientSession.immediate``), else none."""
        session = self._sessions.get(client_id)
        if session is None or not session.immediate or not session.queue.has_unsent:
            return []
        return session.queue.take_encoded()

    def ready(self, hold: Hold, now: float) -> bool:
        """Whether the held connect ``hold`` must be answered now."""
        session = hold.session
        return (
            session.state is SessionState.GONE
            or session.held != hold.token
            or session.queue.has_unsent
            or now >= hold.deadline
        )

    def complete(self, hold: Hold, now: float) -> list[dict[str, Any]]:
        """Answer a held connect: the queued events, then the connect reply."""
        session = hold.session
        message = {"channel": "/meta/connect", "id": hold.message_id} if hold.message_id is not None else {}
        message.setdefault("channel", "/meta/connect")
        if session.state is SessionState.GONE:
            if session.gone_reason == "disconnect":
                return [_reply(message, True, advice={"reconnect": "none", "interval": 0})]
            return [
                _error(
                    message,
                    f"402::{session.gone_reason}" if session.gone_reason else UNKNOWN_CLIENT,
                    advice={"reconnect": "handshake", "interval": 0},
                )
            ]
        if session.held != hold.token:
            return [_reply(message, True)]  # released by a newer connect of the same client
        session.held = None
        return self._connect_reply(session, hold.message_id, now, first=False)

    def abandon(self, hold: Hold, now: float) -> None:
        """The transport went away while ``hold`` was pending: the events stay queued for the next connect."""
        if hold.session.held == hold.token:
            hold.session.held = None
            hold.session.last_seen = now

    def _subscribe(
        self, message: dict[str, Any], principal: Principal | None, now: float, *, subscribe: bool
    ) -> dict[str, Any]:
        session = self._client(message, principal)
        if session is None:
            return self._unknown(message)
        session.last_seen = now
        wanted = message.get("subscription")
        echo = {"subscription": wanted}
        patterns = [wanted] if isinstance(wanted, str) else wanted
        if not patterns or not isinstance(patterns, list):
            return _error(message, "403::subscription_missing", **echo)
        if not all(isinstance(p, str) for p in patterns):
            return _error(message, "400::subscription_invalid", **echo)
        if not subscribe:
            session.subscriptions = self._intern(session.subscriptions.difference(patterns))
            return _reply(message, True, **echo)
        for pattern in patterns:
            refusal = subscribe_refusal(session.principal, pattern)
            if refusal is not None:
                return _error(message, refusal, **echo)
        if len(session.subscriptions | set(patterns)) > self._settings.max_subscriptions:
            return _error(message, "403::too many subscriptions", **echo)
        session.subscriptions = self._intern(session.subscriptions.union(patterns))
        return _reply(message, True, **echo)

    def _intern(self, subscriptions: frozenset[str]) -> frozenset[str]:
        """One shared set per distinct combination (most clients subscribe alike), up to a bound."""
        shared = self._subscription_sets.get(subscriptions)
        if shared is not None:
            return shared
        if len(self._subscription_sets) < SUBSCRIPTION_SETS_MAX:
            self._subscription_sets[subscriptions] = subscriptions
        return subscriptions

    def _disconnect(
        self, message: dict[str, Any], principal: Principal | None, out: Outcome
    ) -> dict[str, Any]:
        session = self._client(message, principal)
        if session is None:
            return self._unknown(message)
        self._remove(session, "disconnect", out.woken)
        return _reply(message, True)

    def _remove(self, session: ClientSession, reason: str, woken: list[str]) -> None:
        if session.held is not None:
            woken.append(session.client_id)
        if self.on_leave is not None and reason != "disconnect":
            self.on_leave(session, reason)
        session.leave(reason)
        self._sessions.pop(session.client_id, None)
        self._forget(session.principal.user_id, session.client_id)
        if session.supervisor:
            self._forget(SUPERVISORS, session.client_id)

    def _forget(self, recipient: str, client_id: str) -> None:
        mine = self._by_user.get(recipient)
        if mine is not None:
            mine.discard(client_id)
            if not mine:
                del self._by_user[recipient]

    # --- driven by the hub ---------------------------------------------------------------------------

    def push(self, events: Iterable[StoredEvent]) -> list[str]:
        """Queue committed events for the clients that may see them; returns the clients to wake."""
        woken: dict[str, None] = {}
        by_user = self._by_user
        sessions = self._sessions
        for event in events:
            clients = by_user.get(event.user_id)
            if not clients:
                continue
            targets = [sessions[c] for c in clients]
            # One message, encoded once, shared by every recipient's queue (never mutated); the filter is
            # decided once per kind of recipient (its subscriptions, supervisor or not).
            message: dict[str, Any] | None = None
            encoded = b""
            channel = event.channel
            wants: dict[tuple[frozenset[str], bool], bool] = {}
            opt_in: bool | None = None  # a delivery-status MessagesUpdated: only for clients that asked
            for session in targets:
                kind = (session.subscriptions, session.supervisor)
                wanted = wants.get(kind)
                if wanted is None:
                    wanted = wants[kind] = may_receive(session.principal, channel) and any(
                        matches(p, channel) for p in session.subscriptions
                    )
                if not wanted:
                    continue
                if not session.messages_updated:
                    if opt_in is None:
                        opt_in = is_messages_updated(event)
                    if opt_in:
                        continue
                if message is None:
                    message = event_message(event)
                    encoded = encode_message(message)
                try:
                    if session.queue.push(event.id, message, encoded):
                        woken[session.client_id] = None
                except QueueOverflow:
                    gone: list[str] = []
                    self._remove(session, "Queue overflow, handshake again", gone)
                    woken[session.client_id] = None
        return list(woken)

    def adopt(
        self, client_id: str, principal: Principal, *, ack: bool, subscriptions: frozenset[str], now: float
    ) -> ClientSession:
        """A client another node (or process) handshook, served here too (``notify/shared.py``), with its
        subscriptions; its queue is filled by ``load``. Its first connect here is answered at once."""
        session = ClientSession(client_id, principal, ClientQueue(self._settings.max_queue), ack, now)
        session.supervisor = principal.is_supervisor
        session.subscriptions = self._intern(subscriptions)
        self._sessions[client_id] = session
        self._by_user[principal.user_id].add(client_id)
        if session.supervisor:
            self._by_user[SUPERVISORS].add(client_id)
        return session

    def recipients(self, session: ClientSession) -> list[str]:
        """The ``user_id`` values of the stored events meant for ``session``."""
        user = session.principal.user_id
        return [user, SUPERVISORS] if session.supervisor else [user]

    def load(self, session: ClientSession, events: Iterable[StoredEvent]) -> bool:
        """Queue events read from the store for ``session`` (those it may receive and subscribed to), among
        the ones pushed meanwhile. ``False`` (and the client is dropped) when its queue would overflow."""
        entries: list[tuple[int, dict[str, Any], bytes | None]] = []
        for event in events:
            channel = event.channel
            if may_receive(session.principal, channel) and any(
                matches(p, channel) for p in session.subscriptions
            ):
                message = event_message(event)
                entries.append((event.id, message, encode_message(message)))
        if session.queue.merge(entries):
            return True
        if self._sessions.get(session.client_id) is session:
            self._remove(session, "Queue overflow, handshake again", [])
        return False

    def discard(self, client_id: str) -> list[str]:
        """Forget ``client_id`` here only (its copy; it goes on elsewhere); returns the clients to wake."""
        session = self._sessions.get(client_id)
        woken: list[str] = []
        if session is not None:
            on_leave, self.on_leave = self.on_leave, None
            try:
                self._remove(session, "Unknown client", woken)
            finally:
                self.on_leave = on_leave
        return woken

    def start_after(self, client_id: str, event_id: int) -> None:
        session = self._sessions.get(client_id)
        if session is not None:
            session.queue.start_after(event_id)

    def expire(self, now: float) -> list[str]:
        """Drop clients with no connect for ``max_interval_ms``; returns the dropped clientIds."""
        limit = (self._settings.max_interval_ms + self._settings.interval_ms) / 1000
        idle = [s for s in self._sessions.values() if s.held is None and now - s.last_seen > limit]
        woken: list[str] = []
        for session in idle:
            self._remove(session, "Unknown client", woken)
        return [s.client_id for s in idle]

    def drop_user(self, user_id: str, reason: str = "Unknown client") -> list[str]:
        """Drop every client of ``user_id`` (e.g. at logout); returns the clientIds."""
        dropped = [self._sessions[c] for c in list(self._by_user.get(user_id, ()))]
        woken: list[str] = []
        for session in dropped:
            self._remove(session, reason, woken)
        return [s.client_id for s in dropped]

    def shutdown(self) -> list[str]:
        """Drop every client (server stopping); held connects are answered with ``reconnect: handshake``."""
        everyone = list(self._sessions.values())
        woken: list[str] = []
        for session in everyone:
            self._remove(session, "Server shutting down", woken)
        return [s.client_id for s in everyone]

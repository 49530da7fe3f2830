"""The store interface: the narrow set of async methods the use-case layer (``actions/``) needs.

Reads return records; every write goes through ``commit(Change)``, one transaction that persists a session's new
state together with its transcript entries, the notifications that describe it and the outbound SMS it causes
(so nothing is announced that was not stored, and nothing stored is left unannounced). ``commit`` returns the
id of the last notification written, which the caller hands to the notification hub after the commit.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from smsdesk.domain.agents import AgentState
from smsdesk.domain.events import Notification, StoredEvent
from smsdesk.domain.notes import ContactNote
from smsdesk.domain.responses import StandardResponse
from smsdesk.domain.users import User

__all__ = [
    "NO_MILESTONES",
    "AuditEntry",
    "Change",
    "ConcurrentUpdate",
    "HttpSession",
    "MediaRow",
    "Milestones",
    "NewOutbound",
    "OutboxRow",
    "ReferenceTaken",
    "SessionRecord",
    "SessionWrite",
    "Store",
    "SubscriptionRow",
    "WrapUpTime",
]


class ConcurrentUpdate(Exception):
    """Another writer changed the session since it was read (optimistic concurrency); retry the operation."""


class ReferenceTaken(Exception):
    """A change was decided with the user's next referenceId ``expected`` (``Change.references``), but the
    store's next one is ``actual`` (another process took some meanwhile): decide again with ``actual``."""

    def __init__(self, user_id: str, actual: int) -> None:
        super().__init__(f"user {user_id}: the next referenceId is {actual}")
        self.user_id = user_id
        self.actual = actual


@dataclass(frozen=True, slots=True)
class HttpSession:
    id: str
    user_id: str
    csrf_token: str
    created_ms: int
    expires_ms: int


@dataclass(frozen=True, slots=True)
class Milestones:
    """When a session reached the points that statistics count (epoch ms; None: not yet, or never)."""

    agent_id: str | None = None  # the owner, or the last one
    offered_ms: int | None = None  # first entered a queue
    accepted_ms: int | None = None  # first accepted by an agent
    first_reply_ms: int | None = None  # first agent text sent to the customer
    reply_wait_ms: int | None = None  # the customer's first text -> that reply
    ended_ms: int | None = None  # over for the customer
    parties: str | None = None  # ",u1,u2,": every user who took part, in join order


NO_MILESTONES = Milestones()


@dataclass(frozen=True, slots=True)
class SessionRecord:
    id: str
    version: int
    is_open: bool
    waiting: bool
    queue: str
    customer: str
    business: str
    created_ms: int
    updated_ms: int
    queued_ms: int
    data: Mapping[str, Any]
    members: frozenset[str] = frozenset()  # users who hold the session (listed in their /me/smssessions)
    deadline_ms: int | None = None
    load_members: frozenset[str] = frozenset()  # the agents among ``members`` whose load it counts in
    milestones: Milestones = NO_MILESTONES  # for statistics and reports (docs/operations.md)


@dataclass(frozen=True, slots=True)
class SessionWrite:
    """Insert (``expected_version`` None) or update a session whose stored version must equal the expected one."""

    record: SessionRecord
    expected_version: int | None
    # the record as stored at ``expected_version``, when the writer read it (the version check guarantees
    # it is what the store holds): what it shares with ``record`` is not written again, namely the member
    # rows when the members are the same, and the indexed columns when their values are
    stored: SessionRecord | None = None


@dataclass(frozen=True, slots=True)
class NewOutbound:
    provider: str
    from_number: str
    to_number: str
    text: str
    session_id: str | None = None
    message_index: int | None = None
    media_url: str | None = None  # a PushUrl: MMS media where the provider sends it (docs/providers.md)


@dataclass(frozen=True, slots=True)
class MediaRow:
    """The bytes of one media item of an inbound message (docs/api.md, "Media"); ``id`` is in the message's
    ``media`` list."""

    id: str
    session_id: str
    content_type: str
    data: bytes
    created_ms: int

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    provider: str
    from_number: str
    to_number: str
    text: str
    session_id: str | None
    message_index: int | None
    status: str
    attempts: int
    next_attempt_ms: int
    provider_message_id: str | None
    error: str | None
    created_ms: int
    media_url: str | None = None


@dataclass(frozen=True, slots=True)
class SubscriptionRow:
    supervisor_id: str
    agent_id: str
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class AuditEntry:
    actor_id: str
    action: str
    target_id: str | None
    details: Mapping[str, Any]
    created_ms: int
    id: int = 0


@dataclass(frozen=True, slots=True)
class WrapUpTime:
    """A wrap-up that ended: its length counts in the handle time of the session's queue and of the agent
    (``store/counters.py``), in the minute it ended."""

    agent_id: str
    queue: str | None  # the wrapped-up session's queue; None when it is gone (then the agent's only)
    ended_ms: int
    wrap_ms: int


@dataclass
class Change:
    """Everything one use case writes, persisted atomically by ``Store.commit``."""

    sessions: list[SessionWrite] = field(default_factory=list)
    messages: list[tuple[str, Mapping[str, Any]]] = field(default_factory=list)  # (session_id, message)
    message_updates: list[tuple[str, Mapping[str, Any]]] = field(default_factory=list)  # replace by index
    notifications: list[Notification] = field(default_factory=list)
    outbound: list[NewOutbound] = field(default_factory=list)
    outbound_sent: list[tuple[int, str]] = field(default_factory=list)  # (outbox id, provider message id)
    agents: list[AgentState] = field(default_factory=list)  # channel state (not load: that is derived)
    agents_idle: list[tuple[str, int]] = field(default_factory=list)  # (user_id, idle_since_ms) only
    inbound_keys: list[tuple[str, str, str | None]] = field(default_factory=list)  # provider, msg id, session
    opt_outs: list[tuple[str, bool]] = field(default_factory=list)
    subscriptions_put: list[SubscriptionRow] = field(default_factory=list)
    subscriptions_delete: list[tuple[str, str]] = field(default_factory=list)  # (supervisor_id, agent_id)
    audit: list[AuditEntry] = field(default_factory=list)
    # (user id, referenceId): the change answers the user's request with their next referenceId, this one
    # (the store counts them per user, raises ``ReferenceTaken`` when it is not the next)
    references: list[tuple[str, int]] = field(default_factory=list)
    wrap_ups: list[WrapUpTime] = field(default_factory=list)  # added to the handle-time counters
    media: list[MediaRow] = field(default_factory=list)  # inbound media (docs/api.md, "Media")

    def __bool__(self) -> bool:
        return any(
            (
                self.sessions,
                self.messages,
                self.message_updates,
                self.notifications,
                self.outbound,
                self.outbound_sent,
                self.agents,
                self.agents_idle,
                self.inbound_keys,
                self.opt_outs,
                self.subscriptions_put,
                self.subscriptions_delete,
                self.audit,
                self.references,
                self.wrap_ups,
                self.media,
            )
        )


class Store(Protocol):
    async def close(self) -> None: ...

    # users
    async def add_user(self, user: User) -> None:
        """Raises ``AlreadyExists`` if the id or user name is taken."""
        ...

    async def update_user(self, user: User) -> None: ...

    async def get_user(self, user_id: str) -> User | None: ...

    async def get_user_by_name(self, user_name: str) -> User | None: ...

    async def list_users(self) -> list[User]: ...

    async def delete_user(self, user_id: str) -> bool: ...

    # HTTP sessions (JSESSIONID)
    async def put_http_session(self, session: HttpSession) -> None: ...

    async def get_http_session(self, session_id: str) -> HttpSession | None: ...
    async def get_http_session_user(self, session_id: str) -> tuple[HttpSession, User] | None: ...

    async def delete_http_session(self, session_id: str) -> None: ...

    async def delete_expired_http_sessions(self, now_ms: int) -> int: ...

    # agents
    async def get_agent(self, user_id: str) -> AgentState | None: ...

    async def list_agents(self) -> list[AgentState]: ...

    async def list_agents_changed(self, since_ms: int) -> list[AgentState]:
        """The agents whose channel state or idle time was set at ``since_ms`` or later (their ``since_ms`` or
        ``idle_since_ms``), in no particular order: what the router's roster reads between whole reads."""
        ...

    async def agent_loads(self) -> dict[str, int]:
        """user id -> number of SMS sessions counting toward that agent's capacity."""
        ...

    # SMS sessions and transcripts
    async def get_session(self, session_id: str) -> SessionRecord | None: ...

    async def find_open_session(self, customer: str, business: str) -> SessionRecord | None: ...

    async def list_member_sessions(self, user_id: str) -> list[SessionRecord]: ...

    async def list_waiting_sessions(self, limit: int = 100) -> list[SessionRecord]: ...

    async def latest_session(self, customer: str, business: str) -> SessionRecord | None:
        """The most recently created session between these two numbers, open or not."""
        ...

    async def list_due_sessions(self, now_ms: int, limit: int = 100) -> list[SessionRecord]:
        """Sessions whose ``deadline_ms`` has passed (an offer timed out)."""
        ...

    async def read_messages(
        self, session_id: str, start_index: int = 0, count: int | None = None
    ) -> list[Mapping[str, Any]]: ...

    # notifications
    async def read_events(self, user_ids: Collection[str], after: int, limit: int) -> list[StoredEvent]: ...

    async def read_all_events(self, after: int, limit: int) -> list[StoredEvent]: ...

    async def last_event_id(self) -> int: ...

    # inbound idempotency and opt-outs
    async def get_inbound(self, provider: str, provider_message_id: str) -> tuple[str | None] | None:
        """``None`` if never seen, else a 1-tuple with the session it went to."""
        ...

    async def is_opted_out(self, number: str) -> bool: ...

    # outbox
    async def claim_outbound(self, now_ms: int, lease_ms: int, limit: int) -> list[OutboxRow]: ...

    async def get_outbound(self, outbox_id: int) -> OutboxRow | None: ...

    async def find_outbound_by_provider_id(
        self, provider: str, provider_message_id: str
    ) -> OutboxRow | None: ...

    async def mark_outbound_sent(self, outbox_id: int, provider_message_id: str, now_ms: int) -> None: ...

    async def mark_outbound_retry(self, outbox_id: int, next_attempt_ms: int, error: str) -> None: ...

    async def mark_outbound_failed(self, outbox_id: int, error: str) -> None: ...

    # supervision
    async def list_subscriptions(
        self, *, agent_id: str | None = None, supervisor_id: str | None = None
    ) -> list[SubscriptionRow]: ...

    async def list_audit(self, limit: int = 100, before_id: int | None = None) -> list[AuditEntry]: ...

    # presence (docs/routing.md; smsdesk/store/presence.py)
    async def beat_presence(self, node_id: str, user_ids: Collection[str], now_ms: int) -> None: ...

    async def presence_last_seen(self) -> dict[str, int]: ...

    async def prune_presence(self, before_ms: int) -> int: ...

    # skills (docs/routing.md; smsdesk/store/skills.py)
    async def list_skills(self, user_id: str | None = None) -> dict[str, dict[str, int]]: ...

    async def set_skill(self, user_id: str, name: str, level: int) -> None: ...

    async def delete_skill(self, user_id: str, name: str) -> bool: ...

    async def delete_user_skills(self, user_id: str) -> None: ...

    # agent tools (docs/api.md, "Agent tools"; smsdesk/store/tools.py)
    async def list_responses(self) -> list[StandardResponse]: ...

    async def get_response(self, response_id: str) -> StandardResponse | None: ...

    async def add_response(self, response: StandardResponse) -> None: ...

    async def update_response(self, response: StandardResponse) -> bool: ...

    async def delete_response(self, response_id: str) -> bool: ...

    async def list_notes(self, customer_number: str) -> list[ContactNote]: ...

    async def add_note(self, note: ContactNote) -> None: ...

    async def customer_session_docs(self, customer_number: str, limit: int) -> list[dict[str, Any]]: ...

    # media of inbound messages (docs/api.md, "Media")
    async def get_media(self, media_id: str) -> MediaRow | None: ...

    # leases: one node at a time does a job (routing)
    async def acquire_lease(self, name: str, holder: str, now_ms: int, ttl_ms: int) -> bool:
        """Take or renew lease ``name`` for ``holder`` until ``now_ms + ttl_ms``; False if another holds it."""
        ...

    # the one write path
    async def commit(self, change: Change) -> int:
        """Persist ``change`` atomically; return the last event id (0 if the store has none).

        Raises ``ConcurrentUpdate`` when a session's version moved, ``AlreadyExists`` when an inbound key is
        already stored (a provider retry).
        """
        ...

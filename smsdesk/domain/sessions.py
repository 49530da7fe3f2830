"""The SMS session value object: a frozen ``Session`` that the store keeps as JSON.

Nothing here changes a session: the transitions live in ``smsdesk/domain/transitions.py`` (user operations)
and ``smsdesk/domain/system.py`` (router, SMS provider, supervision); both return a new ``Session`` made with
``Session.evolve`` (``dataclasses.replace``, faster). The state diagram and every [INF] decision are in ``docs/sessions.md``.

The session does not hold its transcript: transitions hand new messages back in an ``Outcome`` and the caller
stores them; ``next_index`` is the index the next transcript message gets.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from smsdesk.domain._fields import (
    get_enum,
    get_int,
    get_list,
    get_mapping,
    get_opt_str,
    get_str,
    require_mapping,
)
from smsdesk.domain.errors import Validation
from smsdesk.domain.participants import Kind, Participant, ParticipantRole, UserState

__all__ = ["InviteKind", "PendingInvite", "Phase", "Session"]


class Phase(enum.Enum):
    """Where the session is as a whole (per-user states are on each ``Participant``)."""

    QUEUED = "Queued"  # waiting in ``queue`` for the router to offer it to an agent
    OFFERED = "Offered"  # offered by the router to exactly one agent (Invited owner)
    ACTIVE = "Active"  # an agent handles it; customer texts reach the agents
    ENDED = "Ended"  # over for the customer; agents in LeftChat (and supervisors) still wrap up
    CLOSED = "Closed"  # nobody holds it any more: final


class InviteKind(enum.Enum):
    """What an agent-to-agent invitation is for."""

    CONFERENCE = "Invite"  # invitee joins visible to all
    CONSULT = "Consult"  # invitee joins visible to agents only
    TRANSFER = "Transfer"  # invitee becomes owner; the transferring participant is Completed on accept

    @property
    def role(self) -> ParticipantRole:
        return _INVITE_ROLE[self]


_INVITE_ROLE = {
    InviteKind.CONFERENCE: ParticipantRole.CONFERENCE,
    InviteKind.CONSULT: ParticipantRole.CONSULTANT,
    InviteKind.TRANSFER: ParticipantRole.OWNER,
}


@dataclass(frozen=True, slots=True)
class PendingInvite:
    """An Invite/Consult/Transfer to another agent that has not been accepted yet (one at a time)."""

    kind: InviteKind
    by_participant_id: str  # who asked
    target_user_id: str | None  # a named agent, or
    target_queue: str | None  # a queue to find one through (the router then sends Offer)
    participant_id: str | None = None  # the Invited participant, once there is one
    reference_id: int | None = None
    note: str | None = None  # the asker's note to the invitee (the operation's ``text``)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "byParticipantId": self.by_participant_id,
            "targetUserId": self.target_user_id,
            "targetQueue": self.target_queue,
            "participantId": self.participant_id,
            "referenceId": self.reference_id,
            "note": self.note,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PendingInvite:
        ref = data.get("referenceId")
        user, queue = get_opt_str(data, "targetUserId"), get_opt_str(data, "targetQueue")
        if (user is None) == (queue is None):
            raise Validation("pending invitation: exactly one of targetUserId and targetQueue")
        return cls(
            kind=get_enum(data, "kind", InviteKind),
            by_participant_id=get_str(data, "byParticipantId", missing=Validation),
            target_user_id=user,
            target_queue=queue,
            participant_id=get_opt_str(data, "participantId"),
            reference_id=None if ref is None else get_int(data, "referenceId"),
            note=get_opt_str(data, "note"),
        )


@dataclass(frozen=True)
class Session:
    id: str  # 16 chars, e.g. "0000Na9B26EF002X"
    customer_number: str  # E.164 of the customer's phone
    business_number: str  # our number the customer texted
    queue: str  # the queue the session is (or was last) routed through
    phase: Phase
    participants: tuple[Participant, ...]  # the customer first, then users in join order; never removed
    user_data: Mapping[str, Any] = field(default_factory=dict)  # JSON-pure; replaced, never mutated
    next_index: int = 1  # transcript index of the next message
    next_reference_id: int = 1  # for referenceId of Invite/Consult/CancelConsult
    created_ms: int = 0
    received_ms: int = 0  # first inbound text: ``receivedDate``
    updated_ms: int = 0
    lar_agent_id: str | None = None  # last-agent routing hint, recorded by Accept/Complete with saveLAR
    pending: PendingInvite | None = None
    excluded: tuple[str, ...] = ()  # agents that rejected or timed out in the current routing round
    provider: str = ""  # the SMS provider the conversation came in on: replies leave through it ("": unknown)
    auto_replies: tuple[str, ...] = ()  # the auto-replies sent (or due but skipped): "queue", "closed"

    # -- lookups ---------------------------------------------------------------------------------------

    @property
    def customer(self) -> Participant:
        return self.participants[0]

    @property
    def customer_nickname(self) -> str:
        return self.customer.nickname

    def users(self) -> Iterator[Participant]:
        return (p for p in self.participants if p.user_id is not None)

    def by_id(self, participant_id: str) -> Participant | None:
        for p in self.participants:  # a plain loop: twice as fast as next() over a generator, and hot
            if p.participant_id == participant_id:
                return p
        return None

    def for_user(self, user_id: str) -> Participant | None:
        """The user's current participant: the non-terminal one, else the latest one, else None."""
        mine = [p for p in self.participants if p.user_id == user_id]
        live = [p for p in mine if not p.terminal]
        found = live or mine
        return found[-1] if found else None

    def chatting_agents(self) -> list[Participant]:
        return [p for p in self.participants if p.is_agent and p.state is UserState.CHATTING]

    def with_participant(self, new: Participant) -> Session:
        """Replace the participant with the same id, or append a new one."""
        pid = new.participant_id
        for i, p in enumerate(self.participants):
            if p.participant_id == pid:
                parts = list(self.participants)
                parts[i] = new
                return self.evolve(participants=tuple(parts))
        return self.evolve(participants=(*self.participants, new))

    def evolve(self, **changes: Any) -> Session:
        """``dataclasses.replace(self, **changes)`` at a fraction of its cost (the transitions make a dozen
        copies per operation): the fields are copied as they are, the changed ones set. Every field is an
        ``__init__`` field without ``__post_init__``, so the result is the one ``replace`` builds; an unknown
        name raises ``TypeError`` as ``replace`` does."""
        if not changes.keys() <= _FIELDS:
            raise TypeError(f"Session has no field {sorted(changes.keys() - _FIELDS)}")
        new = object.__new__(Session)
        values = new.__dict__
        values.update(self.__dict__)
        values.update(changes)
        return new

    # -- JSON ------------------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "customerNumber": self.customer_number,
            "businessNumber": self.business_number,
            "queue": self.queue,
            "phase": self.phase._value_,
            "participants": [p.to_json() for p in self.participants],
            "userData": dict(self.user_data),
            "nextIndex": self.next_index,
            "nextReferenceId": self.next_reference_id,
            "createdMs": self.created_ms,
            "receivedMs": self.received_ms,
            "updatedMs": self.updated_ms,
            "larAgentId": self.lar_agent_id,
            "pending": None if self.pending is None else self.pending.to_json(),
            "excluded": list(self.excluded),
            "provider": self.provider,
            **({"autoReplies": list(self.auto_replies)} if self.auto_replies else {}),
        }

    @classmethod
    def from_json(cls, data: object) -> Session:
        """Read what ``to_json`` wrote; anything malformed raises ``Validation``."""
        d = require_mapping(data, "session")
        parts = tuple(
            Participant.from_json(require_mapping(p, "participant"))
            for p in get_list(d, "participants", missing=Validation)
        )
        if not parts or parts[0].kind is not Kind.CUSTOMER or any(p.kind is Kind.CUSTOMER for p in parts[1:]):
            raise Validation("session: the customer must be the first and only customer participant")
        if len({p.participant_id for p in parts}) != len(parts):
            raise Validation("session: duplicate participantId")
        excluded = get_list(d, "excluded", missing=Validation)
        if not all(isinstance(x, str) for x in excluded):
            raise Validation("session: 'excluded' must hold user ids")
        pending = d.get("pending")
        replies = d.get("autoReplies", [])
        if not isinstance(replies, list) or not all(isinstance(x, str) for x in replies):
            raise Validation("session: 'autoReplies' must be a list of names")
        return cls(
            id=get_str(d, "id", missing=Validation),
            customer_number=get_str(d, "customerNumber", missing=Validation),
            business_number=get_str(d, "businessNumber", missing=Validation),
            queue=get_str(d, "queue", missing=Validation),
            phase=get_enum(d, "phase", Phase),
            participants=parts,
            user_data=dict(get_mapping(d, "userData", missing=Validation)),
            next_index=get_int(d, "nextIndex"),
            next_reference_id=get_int(d, "nextReferenceId"),
            created_ms=get_int(d, "createdMs"),
            received_ms=get_int(d, "receivedMs"),
            updated_ms=get_int(d, "updatedMs"),
            lar_agent_id=get_opt_str(d, "larAgentId"),
            pending=None if pending is None else PendingInvite.from_json(require_mapping(pending, "pending")),
            excluded=tuple(excluded),
            provider=get_opt_str(d, "provider") or "",
            auto_replies=tuple(replies),
        )


_FIELDS = frozenset(f.name for f in fields(Session))

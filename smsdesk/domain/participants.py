"""Participants of an SMS session: who they are, what they may see, and their per-user state.

The per-user state machine and the visibility rules are documented in ``docs/sessions.md``; the transitions
themselves live in ``smsdesk/domain/transitions.py`` and the capability table in
``smsdesk/domain/capabilities.py``. This module only holds the value objects and the visibility policy:

* the customer (and therefore the SMS channel) sees ``All`` messages only;
* agents see ``All`` and ``Agents``;
* supervisors see everything.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from smsdesk.domain._fields import get_enum, get_int, get_opt_str, get_str
from smsdesk.domain.errors import Validation

__all__ = [
    "Kind",
    "Participant",
    "ParticipantRole",
    "SupervisionMode",
    "UserState",
    "Visibility",
    "mode_visibility",
]


class Kind(enum.Enum):
    """The ``type`` of a participant on the wire. Supervisors are ``Agent`` too (spec §4.2)."""

    CUSTOMER = "Customer"  # the phone number on the other side
    AGENT = "Agent"  # any user of this server: agent or supervisor


class Visibility(enum.Enum):
    ALL = "All"  # customer, agents and supervisors
    AGENTS = "Agents"  # agents and supervisors, never the customer
    SUPERVISORS = "Supervisors"  # supervisors only (silent monitoring)


class UserState(enum.Enum):
    """The per-user state of a session: each user holding the session sees its own (spec §4.3)."""

    INVITED = "Invited"  # offered (routing, transfer, invite, consult, intrude); may Accept or Reject
    CHATTING = "Chatting"  # taking part
    LEFT_CHAT = "LeftChat"  # sole agent left: session over for the customer, agent still wraps up
    COMPLETED = "Completed"  # finished for this user (Reject, Complete, Leave in conference, ...)
    REVOKED = "Revoked"  # taken away from this user (offer withdrawn, removed, session completed/queued)


class ParticipantRole(enum.Enum):
    """Why a participant is in the session."""

    CUSTOMER = "customer"  # the texting party
    OWNER = "owner"  # the agent handling the session (routed or transferred to)
    CONFERENCE = "conference"  # an agent invited into a conference: visible to the customer
    CONSULTANT = "consultant"  # an agent consulted: visible to agents only
    SUPERVISOR = "supervisor"  # joined by Monitor/Coach/BargeIn or Intrude; see ``mode``


class SupervisionMode(enum.Enum):
    MONITOR = "Monitor"  # silent: seen by supervisors only, may not send
    COACH = "Coach"  # seen by agents; everything it sends has visibility Agents
    BARGE_IN = "BargeIn"  # seen by all; its messages reach the phone

    @classmethod
    def parse(cls, text: object, what: str = "supervisor mode") -> SupervisionMode:
        if isinstance(text, str):
            for mode in cls:
                if mode.value.lower() == text.strip().lower():
                    return mode
        allowed = ", ".join(m.value for m in cls)
        raise Validation(f"{what} must be one of {allowed}; got {text!r}")


_MODE_VISIBILITY = {
    SupervisionMode.MONITOR: Visibility.SUPERVISORS,
    SupervisionMode.COACH: Visibility.AGENTS,
    SupervisionMode.BARGE_IN: Visibility.ALL,
}


def mode_visibility(mode: SupervisionMode) -> Visibility:
    return _MODE_VISIBILITY[mode]


@dataclass(frozen=True, slots=True)
class Participant:
    participant_id: str  # 16 hex chars
    kind: Kind
    user_id: str | None  # None for the customer
    nickname: str
    visibility: Visibility  # who sees this participant and its join/leave messages
    state: UserState
    role: ParticipantRole
    mode: SupervisionMode | None = None  # supervisors only
    invited_by: str | None = None  # participantId of whoever invited/transferred/consulted
    since_ms: int = 0  # when ``state`` was entered

    @property
    def is_user(self) -> bool:
        """An agent or supervisor (a user of this server), not the customer."""
        return self.user_id is not None

    @property
    def is_supervisor(self) -> bool:
        return self.role is ParticipantRole.SUPERVISOR

    @property
    def is_agent(self) -> bool:
        """A user that is not a supervisor: owner, conference member or consultant."""
        return self.is_user and not self.is_supervisor

    # present: Invited or Chatting; holding: Chatting or LeftChat; terminal: Completed or Revoked. Identity
    # tests, not set membership: an enum member's hash is a Python-level call

    @property
    def present(self) -> bool:
        state = self.state
        return state is UserState.CHATTING or state is UserState.INVITED

    @property
    def holding(self) -> bool:
        state = self.state
        return state is UserState.CHATTING or state is UserState.LEFT_CHAT

    @property
    def terminal(self) -> bool:
        state = self.state
        return state is UserState.COMPLETED or state is UserState.REVOKED

    def can_see(self, visibility: Visibility) -> bool:
        """Whether this participant, as a viewer, may see something of the given visibility."""
        if visibility is Visibility.ALL or self.is_supervisor:
            return True
        return visibility is Visibility.AGENTS and self.is_user

    def to_json(self) -> dict[str, Any]:
        # ``_value_``: the member's value as a plain attribute (``.value`` is a Python-level descriptor)
        return {
            "participantId": self.participant_id,
            "type": self.kind._value_,
            "userId": self.user_id,
            "nickname": self.nickname,
            "visibility": self.visibility._value_,
            "state": self.state._value_,
            "role": self.role._value_,
            "mode": None if self.mode is None else self.mode._value_,
            "invitedBy": self.invited_by,
            "sinceMs": self.since_ms,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Participant:
        role = get_enum(data, "role", ParticipantRole)
        kind = get_enum(data, "type", Kind)
        user_id = get_opt_str(data, "userId")
        mode = None if data.get("mode") is None else get_enum(data, "mode", SupervisionMode)
        if (kind is Kind.CUSTOMER) != (user_id is None) or (kind is Kind.CUSTOMER) != (
            role is ParticipantRole.CUSTOMER
        ):
            raise Validation("participant: only the customer has no userId and the role 'customer'")
        if (role is ParticipantRole.SUPERVISOR) != (mode is not None):
            raise Validation("participant: a supervision mode is required for supervisors and only for them")
        return cls(
            participant_id=get_str(data, "participantId", missing=Validation),
            kind=kind,
            user_id=user_id,
            nickname=get_opt_str(data, "nickname") or "",
            visibility=get_enum(data, "visibility", Visibility),
            state=get_enum(data, "state", UserState),
            role=role,
            mode=mode,
            invited_by=get_opt_str(data, "invitedBy"),
            since_ms=get_int(data, "sinceMs"),
        )

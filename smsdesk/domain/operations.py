"""The ``operationName`` values of ``POST /api/v2/me/smssessions/{id}`` and their spellings.

The documentation spells several operations two ways (spec §10 item 2); every listed alias is accepted by
``parse_operation`` and mapped to one canonical ``Operation``. Capability lists use the spelling the spec's
capability samples print (``SwitchBargeIn``, ``SendStopTypingToAgentsNotification``, ``SetInFocus``): see
``Operation.capability``.
"""

from __future__ import annotations

import enum

from smsdesk.domain.errors import MissingParameter, Validation

__all__ = ["ALIASES", "Operation", "parse_operation"]


class Operation(enum.Enum):
    ACCEPT = "Accept"
    REJECT = "Reject"
    COMPLETE = "Complete"
    LEAVE = "Leave"
    LEAVE_AND_COMPLETE = "LeaveAndComplete"
    SEND_MESSAGE = "SendMessage"
    SEND_URL = "SendUrl"
    SEND_START_TYPING = "SendStartTypingNotification"
    SEND_STOP_TYPING = "SendStopTypingNotification"
    SEND_TO_AGENTS = "SendToAgents"
    SEND_START_TYPING_TO_AGENTS = "SendStartTypingToAgentsNotification"
    SEND_STOP_TYPING_TO_AGENTS = "SendStopTypingToAgentsNotification"
    SEND_CUSTOM_NOTICE = "SendCustomNotice"
    SEND_CUSTOM_NOTICE_TO_AGENTS = "SendCustomNoticeToAgents"
    ATTACH_USER_DATA = "AttachUserData"
    UPDATE_USER_DATA = "UpdateUserData"
    DELETE_USER_DATA = "DeleteUserData"
    SET_DISPOSITION = "SetDisposition"
    SET_IN_FOCUS = "SetInFocus"
    TRANSFER = "Transfer"
    INVITE = "Invite"
    CONSULT = "Consult"
    CANCEL_CONSULT = "CancelConsult"
    REMOVE_PARTICIPANT = "RemoveParticipantFromConference"
    SWITCH_TO_MONITOR = "SwitchToMonitor"
    SWITCH_TO_COACH = "SwitchToCoach"
    SWITCH_TO_BARGE_IN = "SwitchToBargeIn"

    @property
    def capability(self) -> str:
        """The name printed in ``capabilities`` arrays."""
        return "SwitchBargeIn" if self is Operation.SWITCH_TO_BARGE_IN else self._value_


# The other spellings the documentation uses (spec §10 item 2 and §6.11), as it prints them.
ALIASES: dict[str, Operation] = {
    "SendStopTypingToAgentNotification": Operation.SEND_STOP_TYPING_TO_AGENTS,
    "SwitchBargeIn": Operation.SWITCH_TO_BARGE_IN,
    "InFocus": Operation.SET_IN_FOCUS,
    "SendURL": Operation.SEND_URL,
}

# Lower-cased spelling -> operation: every canonical name and every alias.
_ALIASES: dict[str, Operation] = {op.value.lower(): op for op in Operation}
_ALIASES.update({name.lower(): op for name, op in ALIASES.items()})


def parse_operation(name: object) -> Operation:
    """Map an ``operationName`` (any documented spelling, any case) to its ``Operation``."""
    if name is None:
        raise MissingParameter("Missing parameter 'operationName'")
    if not isinstance(name, str):
        raise Validation(f"'operationName' must be a string, got {type(name).__name__}")
    try:
        return _ALIASES[name.strip().lower()]
    except KeyError:
        raise Validation(f"Unknown operationName {name!r} for an SMS session") from None

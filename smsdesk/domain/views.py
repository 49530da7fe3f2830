"""What one user is shown: participant lists, transcript messages and notification bodies (spec §4, §5).

Every function here takes the *viewer* and filters by the visibility policy of
``smsdesk/domain/participants.py``: a Monitor-mode supervisor (visibility ``Supervisors``) never appears in
what an agent is sent, and ``Agents`` messages never in what the customer is sent.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from smsdesk.domain.operations import Operation
from smsdesk.domain.participants import Participant, UserState, Visibility
from smsdesk.domain.sessions import Session

__all__ = [
    "STATE_CHANGE",
    "format_timestamp",
    "message",
    "message_log_updated",
    "offer_view",
    "participant_wire",
    "participants_view",
    "session_path",
    "session_uri",
    "state_change",
    "visible_messages",
]

STATE_CHANGE = "SMSsessionStateChangeMessage"


def format_timestamp(ms: int) -> str:
    """``yyyy-MM-dd HH:mm:ss.SSS+0000`` in UTC (spec §4.5)."""
    seconds, milli = divmod(ms, 1000)
    return _second(seconds) + _MILLI[milli]


@functools.lru_cache(maxsize=4096)
def _second(seconds: int) -> str:
    """The text of one UTC second, remembered: an operation prints the same few seconds many times (every
    notification's ``receivedDate``, its messages' ``timestamp``), and the text never changes."""
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%d %H:%M:%S.")


_MILLI = tuple(f"{i:03d}+0000" for i in range(1000))


def session_uri(base_uri: str, session_id: str) -> str:
    return f"{base_uri.rstrip('/')}/api/v2/smssessions/{session_id}"


def session_path(session_id: str) -> str:
    return f"/smssessions/{session_id}"


def participant_wire(p: Participant, base_uri: str) -> dict[str, Any]:
    """A participant as GWS prints it in ``participants`` and in a message's ``from``."""
    out: dict[str, Any] = {
        "nickname": p.nickname,
        "type": p.kind._value_,  # ``_value_``: ``.value`` without its Python-level descriptor
        "participantId": p.participant_id,
        "visibility": p.visibility._value_,
    }
    if p.user_id is not None:
        out["uri"] = f"{base_uri.rstrip('/')}/api/v2/users/{p.user_id}"
        out["path"] = f"/users/{p.user_id}"
    return out


def participants_view(session: Session, viewer: Participant, base_uri: str) -> list[dict[str, Any]]:
    """Present participants (Invited or Chatting) the viewer may see."""
    return [
        participant_wire(p, base_uri)
        for p in session.participants
        if p.present and viewer.can_see(p.visibility)
    ]


def message(
    *,
    index: int,
    type_: str,
    sender: Participant | Mapping[str, Any],
    visibility: Visibility,
    now_ms: int,
    base_uri: str,
    text: str | None = None,
    url: str | None = None,
    notice_text: str | None = None,
    media: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """A transcript entry, JSON-pure, exactly the §4.5 shape; an inbound MMS adds ``media`` (smsdesk's
    addition, docs/api.md "Media")."""
    frm = participant_wire(sender, base_uri) if isinstance(sender, Participant) else dict(sender)
    out: dict[str, Any] = {"index": index, "type": type_, "from": frm}
    if text is not None:
        out["text"] = text
    if url is not None:
        out["url"] = url
    if notice_text is not None:
        out["noticeText"] = notice_text
    if media:
        out["media"] = [dict(m) for m in media]
    out["visibility"] = visibility._value_
    out["timestamp"] = format_timestamp(now_ms)
    out["timestampSeconds"] = now_ms
    return out


def visible_messages(messages: Iterable[Mapping[str, Any]], viewer: Participant) -> list[dict[str, Any]]:
    return [dict(m) for m in messages if viewer.can_see(_VISIBILITY[m["visibility"]])]


_VISIBILITY = {v.value: v for v in Visibility}  # Visibility(value) without the enum call


def state_change(
    notification_type: str,
    session: Session,
    viewer: Participant,
    capabilities: Sequence[Operation],
    base_uri: str,
    reference_id: int | None = None,
    offer: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """``SMSsessionStateChangeMessage`` for one viewer. Completed/Revoked carry no capabilities, no participants.
    ``offer`` (``offer_view``) is added to the session of an Invited agent."""
    obj: dict[str, Any] = {
        "id": session.id,
        "uri": session_uri(base_uri, session.id),
        "path": session_path(session.id),
        "state": viewer.state._value_,
    }
    if not viewer.terminal:
        obj["capabilities"] = [op.capability for op in capabilities]
    obj["participants"] = [] if viewer.terminal else participants_view(session, viewer, base_uri)
    obj["userData"] = dict(session.user_data)
    obj["receivedDate"] = format_timestamp(session.received_ms)
    obj["chatType"] = "Inbound"
    if offer is not None:
        obj["offer"] = dict(offer)
    out: dict[str, Any] = {
        "messageType": STATE_CHANGE,
        "notificationType": notification_type,
        "smssession": obj,
    }
    if reference_id is not None:
        out["referenceId"] = reference_id
    return out


def offer_view(session: Session, viewer: Participant, offer_timeout_ms: int) -> dict[str, Any] | None:
    """smsdesk's addition to an Invited agent's session (docs/ui.md): what is offered and until when.

    ``kind`` is ``Offer`` (the router), or ``Transfer`` / ``Invite`` / ``Consult`` from another agent, then with
    ``from`` (their nickname) and ``text`` (their note, the operation's ``text``); ``expires`` and
    ``expiresSeconds`` (milliseconds, like ``timestampSeconds``) say when the offer is withdrawn. The customer's
    number is ``customerNumber``. None for anyone else (supervisors' invitations do not expire)."""
    if viewer.state is not UserState.INVITED or viewer.is_supervisor:
        return None
    expires = viewer.since_ms + offer_timeout_ms
    out: dict[str, Any] = {"kind": "Offer", "expires": format_timestamp(expires), "expiresSeconds": expires}
    pend = session.pending
    if pend is not None and pend.participant_id == viewer.participant_id:
        out["kind"] = pend.kind.value
        asker = session.by_id(pend.by_participant_id)
        if asker is not None:
            out["from"] = asker.nickname
        if pend.note:
            out["text"] = pend.note
    out["customerNumber"] = session.customer_number
    return out


def error_notification(
    session: Session, error_message: str, base_uri: str, reference_id: int | None
) -> dict[str, Any]:
    """An asynchronous failure of an accepted request, as the spec shows it (``notificationType: "Error"``,
    ``errorMessage``, ``referenceId``, no ``messageType``), plus the session's URI and path
    (docs/sessions.md)."""
    out: dict[str, Any] = {
        "notificationType": "Error",
        "errorMessage": error_message,
        "smssessionUri": session_uri(base_uri, session.id),
        "smssessionPath": session_path(session.id),
    }
    if reference_id is not None:
        out["referenceId"] = reference_id
    return out


def message_log_updated(
    session: Session, messages: Sequence[Mapping[str, Any]], base_uri: str, reference_id: int | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "messageType": "MessageLogUpdated",
        "notificationType": "NewMessages",
        "messages": [dict(m) for m in messages],
        "smssessionUri": session_uri(base_uri, session.id),
        "smssessionPath": session_path(session.id),
    }
    if reference_id is not None:
        out["referenceId"] = reference_id
    return out

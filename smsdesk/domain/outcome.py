"""What a session transition hands back to the use-case layer, and the settings it needs.

``Outcome`` is everything the caller persists atomically (the new session, transcript messages,
notifications, outbound SMS) and then acts on (routing, agent load, supervision joins). The policy that fills
it lives in ``smsdesk/domain/transitions.py`` and ``smsdesk/domain/system.py``; the SMS rule is in
``smsdesk/domain/_change.py`` (``Change.post``) and ``docs/sessions.md``.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from smsdesk.domain.events import Notification
from smsdesk.domain.sessions import InviteKind, Session

__all__ = [
    "CHANNEL",
    "Context",
    "OutboundSms",
    "Outcome",
    "RouteRequest",
    "UserDataLimits",
    "random_participant_id",
    "random_session_id",
    "random_string",
]

CHANNEL = "/v2/me/smssessions"
_ID_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def random_participant_id() -> str:
    """16 upper-case hex characters, like ``009052C5E743004C``: inject into ``Context`` in production."""
    return secrets.token_hex(8).upper()


def random_session_id() -> str:
    """16 alphanumeric characters, like ``0000Na9B26EF002X``: inject into ``Context`` in production."""
    return random_string(_ID_ALPHABET, 16)


def random_string(alphabet: str, length: int) -> str:
    """``length`` characters of ``alphabet``, each uniform and independent of the others (as ``length`` calls
    of ``secrets.choice``), from one draw of the system's random source instead of one per character."""
    base = len(alphabet)
    n = secrets.randbelow(base**length)
    chars = []
    for _ in range(length):
        n, digit = divmod(n, base)
        chars.append(alphabet[digit])
    return "".join(chars)


@dataclass(frozen=True, slots=True)
class UserDataLimits:
    """Bounds of one session's userData, checked on every write to it (statusCode 10 beyond)."""

    max_keys: int = 100
    max_key_length: int = 128
    max_value_length: int = 4096  # characters of a value (a number: of its JSON text)
    max_bytes: int = 32_768  # the whole userData as compact JSON (UTF-8)


@dataclass(frozen=True)
class Context:
    """Settings and injected id generators (deterministic in tests)."""

    base_uri: str  # e.g. "http://127.0.0.1:8080": prefix of every ``uri`` field
    new_participant_id: Callable[[], str]  # 16 hex chars
    new_session_id: Callable[[], str]  # 16 chars; used by ``open_session`` only
    disposition_key: str = "DispositionCode"  # SetDisposition without ``dispositionKey``
    system_nickname: str = "system"  # ``from.nickname`` of server-generated texts
    max_text_length: int = 4096
    user_data_limits: UserDataLimits = field(default_factory=lambda: UserDataLimits())  # settings userdata_*
    offer_timeout_ms: int = 30_000  # an offer to an agent is withdrawn this long after it was made
    transfer_keeps_disposition: bool = False  # else a completed transfer clears ``disposition_key``
    queues: frozenset[str] | None = None  # the queues a session may be sent to; None: any (docs/routing.md)


@dataclass(frozen=True)
class OutboundSms:
    """One text for the customer's phone; ``index`` is the transcript message it comes from."""

    session_id: str
    index: int
    to: str  # the customer's number
    sender: str  # our business number
    text: str
    media_url: str | None = None  # a PushUrl's URL: MMS media where the provider sends it


@dataclass(frozen=True)
class RouteRequest:
    """The session (or an invitation in it) needs an agent from ``queue``: the router answers with ``Offer``."""

    queue: str
    kind: InviteKind | None = None  # None: route the session itself to an owner
    excluded: tuple[str, ...] = ()  # agents that rejected or let the offer time out this round
    preferred_agent_id: str | None = None  # last-agent routing hint (saveLAR)


@dataclass(frozen=True)
class Outcome:
    session: Session
    messages: tuple[dict[str, Any], ...] = ()
    notifications: tuple[Notification, ...] = ()
    outbound_sms: tuple[OutboundSms, ...] = ()
    route: RouteRequest | None = None
    freed: tuple[str, ...] = ()  # agents whose load went down
    busied: tuple[str, ...] = ()  # agents whose load went up
    response: Mapping[str, Any] = field(default_factory=dict)  # extra fields for the HTTP response
    accepted_by: str | None = None  # an agent Accepted: the caller plans supervisor joins for them
    reference: tuple[str, int] | None = None  # (user id, referenceId) a user's request was answered with

    def then(self, later: Outcome) -> Outcome:
        """Both outcomes as one: ``later`` was computed from ``self.session``."""
        return Outcome(
            session=later.session,
            messages=self.messages + later.messages,
            notifications=self.notifications + later.notifications,
            outbound_sms=self.outbound_sms + later.outbound_sms,
            route=later.route or self.route,
            freed=self.freed + later.freed,
            busied=self.busied + later.busied,
            response={**self.response, **later.response},
            accepted_by=self.accepted_by or later.accepted_by,
            reference=self.reference or later.reference,
        )

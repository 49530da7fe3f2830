"""The SMS provider interface: message types, errors and the sinks through which providers report.

Every adapter (``simulator.py``, ``twilio.py``, ``smpp.py``, ``fake.py``) implements ``SmsProvider``.
Inbound traffic and delivery status never go *through* the provider's caller: the composition root
injects an ``InboundSink`` and a ``StatusSink`` (implemented by the actions layer). The contract:

* the ``InboundSink`` commits the message idempotently (a provider retry with the same
  ``(provider, provider_message_id)`` returns the same ack and stores nothing twice) and only after it
  returns does the adapter acknowledge to the provider (HTTP 200 / ``deliver_sm_resp``);
* ``send`` raises ``TemporaryFailure`` (retry later) or ``PermanentFailure`` (give up); the retry policy
  lives in ``outbox.py``, not in the adapters.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, Protocol

from smsdesk.sms.media import InboundMedia

__all__ = [
    "FINAL_STATUSES",
    "STATUSES",
    "InboundAck",
    "InboundSink",
    "InboundSms",
    "OutboundSms",
    "PermanentFailure",
    "SendResult",
    "SmsError",
    "SmsProvider",
    "StatusSink",
    "StatusUpdate",
    "TemporaryFailure",
]

#: Delivery statuses we report (Twilio's vocabulary; SMPP receipts are mapped onto it).
STATUSES: Final = frozenset({"queued", "sent", "delivered", "failed", "undelivered"})
#: Statuses after which no further update is expected.
FINAL_STATUSES: Final = frozenset({"delivered", "failed", "undelivered"})


@dataclass(frozen=True, slots=True)
class InboundSms:
    """One mobile-originated message, already reassembled if it came in segments.

    ``from_number`` / ``to_number`` are E.164 (``+15551230001``); ``received_ms`` is epoch milliseconds.
    ``media``: an MMS's pictures (``sms/media.py``); the text may then be empty.
    """

    provider: str
    provider_message_id: str
    from_number: str
    to_number: str
    text: str
    media: tuple[InboundMedia, ...] = ()
    received_ms: int = 0


@dataclass(frozen=True, slots=True)
class OutboundSms:
    """One message to send. ``outbox_id`` is the durable queue row's id (also our idempotency key).

    ``media_url`` (an agent's PushUrl): a provider that sends MMS sends it as the message's media (Twilio's
    ``MediaUrl``); the others send ``text``, which holds the same URL as a link (docs/providers.md)."""

    outbox_id: str
    from_number: str
    to_number: str
    text: str
    session_id: str | None = None
    message_index: int | None = None
    media_url: str | None = None


@dataclass(frozen=True, slots=True)
class SendResult:
    """The provider accepted the message. ``status`` is usually ``queued`` or ``sent``."""

    provider_message_id: str
    status: str = "queued"


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """A delivery status change. ``status`` is one of ``STATUSES``.

    ``outbox_id`` is set when the update comes from our own outbox (final failure before the provider
    ever accepted the message, so there is no ``provider_message_id``), or from a provider callback whose
    URL we gave it names the outbox row (Twilio's ``StatusCallback``): then the message is found even before
    its ``provider_message_id`` is recorded.
    """

    provider: str
    provider_message_id: str | None
    status: str
    error: str | None = None
    outbox_id: str | None = None


@dataclass(frozen=True, slots=True)
class InboundAck:
    """What the inbound sink returns once the message is committed.

    ``message_id`` is our id for the stored message; ``duplicate`` is True when this was a provider
    retry of a message already stored (nothing new was written).
    """

    message_id: str
    duplicate: bool = False


InboundSink = Callable[[InboundSms], Awaitable[InboundAck]]
StatusSink = Callable[[StatusUpdate], Awaitable[None]]


class SmsError(Exception):
    """Base of SMS send errors; ``message`` is safe to show to an agent."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TemporaryFailure(SmsError):
    """The send may succeed later (network error, 5xx, 429, SMSC throttling, not bound)."""


class PermanentFailure(SmsError):
    """The send will never succeed as is (rejected number, bad credentials, 4xx)."""


class SmsProvider(Protocol):
    """One way to reach phones. ``name`` is the key used in the number -> provider binding."""

    @property
    def name(self) -> str: ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def send(self, sms: OutboundSms) -> SendResult: ...

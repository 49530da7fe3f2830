"""Twilio webhooks, sans-I/O: signature check and parsing of inbound-message and status callbacks.

The HTTP handlers in ``routes.py`` only read the form, call these functions and the sinks, and answer.

* **Signature.** ``X-Twilio-Signature`` is checked with the ``twilio`` package's ``RequestValidator``
  over the *public* URL Twilio called and *all* posted parameters (Twilio adds fields without notice).
  HMAC-SHA1 with the auth token by default; HMAC-SHA256 with the webhook SharedKey secret when the
  ``X-Twilio-Webhooks-Signature-Settings`` header says ``algorithm=HMAC_SHA256``.
* **Public URL.** Behind a proxy the URL we see is not the one Twilio signed; ``public_request_url``
  rebuilds it from the configured public base (``SMSDESK_TWILIO_PUBLIC_URL``) and the request path.
* **Media.** ``NumMedia``, ``MediaUrlN`` and ``MediaContentTypeN`` become ``InboundMedia`` items without their
  bytes; the route fetches them (``twilio_media.py``) before the sink stores the message. The signature covers
  them like every other posted parameter.
* **Status vocabulary.** Twilio's ``MessageStatus`` is folded onto ``base.STATUSES`` by ``STATUS_MAP``;
  inbound-side statuses (``receiving``/``received``) and unknown future values are ignored (None).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Final

from twilio.request_validator import (
    HMAC_SHA1,
    HMAC_SHA256,
    RequestValidator,
    get_signature_algorithm,
)

from smsdesk.domain.errors import MissingParameter, Validation
from smsdesk.sms.base import InboundSms, StatusUpdate
from smsdesk.sms.media import InboundMedia
from smsdesk.sms.numbers import normalize_e164

__all__ = [
    "PROVIDER",
    "SIGNATURE_HEADER",
    "SIGNATURE_SETTINGS_HEADER",
    "STATUS_MAP",
    "FormParams",
    "parse_inbound",
    "parse_status",
    "public_request_url",
    "signature_is_valid",
]

PROVIDER: Final = "twilio"
SIGNATURE_HEADER: Final = "X-Twilio-Signature"
SIGNATURE_SETTINGS_HEADER: Final = "X-Twilio-Webhooks-Signature-Settings"
MAX_MEDIA: Final = 10

STATUS_MAP: Final[Mapping[str, str]] = {
    "accepted": "queued",
    "scheduled": "queued",
    "queued": "queued",
    "sending": "sent",
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "partially_delivered": "undelivered",
    "undelivered": "undelivered",
    "failed": "failed",
    "canceled": "failed",
}


#: A posted form as ``(name, value)`` pairs, in order; names may repeat (Starlette ``multi_items()``).
FormParams = Sequence[tuple[str, str]]


def public_request_url(request_url: str, public_base: str) -> str:
    """The URL Twilio signed: ``public_base`` + path + query, or ``request_url`` when no base is set."""
    if not public_base:
        return request_url
    scheme_end = request_url.find("://")
    path_start = request_url.find("/", scheme_end + 3 if scheme_end >= 0 else 0)
    path = request_url[path_start:] if path_start >= 0 else "/"
    return public_base.rstrip("/") + path


class _Params:
    """Adapter giving ``RequestValidator`` the multi-valued view it understands (``getlist``)."""

    def __init__(self, form: FormParams) -> None:
        self._values: dict[str, list[str]] = {}
        for key, value in form:
            self._values.setdefault(key, []).append(value)

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def getlist(self, key: str) -> list[str]:
        return self._values[key]


def signature_is_valid(
    *,
    url: str,
    form: FormParams,
    signature: str | None,
    settings_header: str | None,
    auth_token: str,
    webhook_secret: str = "",
) -> bool:
    """True when ``signature`` is Twilio's signature of ``url`` + ``form``. Never raises."""
    if not signature:
        return False
    algorithm = get_signature_algorithm(settings_header)
    if algorithm == HMAC_SHA1:
        secret = auth_token
    elif algorithm == HMAC_SHA256:
        secret = webhook_secret or auth_token
    else:
        return False
    try:
        return bool(RequestValidator(secret).validate(url, _Params(form), signature, algorithm=algorithm))
    except (ValueError, TypeError, UnicodeError):
        return False


def _text(form: FormParams, name: str, *, required: bool = True) -> str:
    value = next((v for k, v in form if k == name), "")
    if not value and required:
        raise MissingParameter(f"missing form field {name}")
    return value


def parse_inbound(form: FormParams, *, received_ms: int) -> InboundSms:
    """An inbound-message webhook as ``InboundSms``; raises ``MissingParameter`` / ``Validation``."""
    sid = _text(form, "MessageSid", required=False) or _text(form, "SmsMessageSid")
    raw_media = _text(form, "NumMedia", required=False) or "0"
    if not raw_media.isdigit() or int(raw_media) > MAX_MEDIA:
        raise Validation(f"NumMedia must be an integer 0..{MAX_MEDIA}, got {raw_media!r}")
    media = tuple(
        InboundMedia(
            url=_text(form, f"MediaUrl{i}"), content_type=_text(form, f"MediaContentType{i}", required=False)
        )
        for i in range(int(raw_media))
    )
    body = _text(form, "Body", required=not media)
    return InboundSms(
        provider=PROVIDER,
        provider_message_id=sid,
        from_number=normalize_e164(_text(form, "From")),
        to_number=normalize_e164(_text(form, "To")),
        text=body,
        media=media,
        received_ms=received_ms,
    )


def parse_status(form: FormParams) -> StatusUpdate | None:
    """A status callback as ``StatusUpdate``, or None for a status we do not track."""
    sid = _text(form, "MessageSid", required=False) or _text(form, "SmsSid")
    raw = (_text(form, "MessageStatus", required=False) or _text(form, "SmsStatus")).lower()
    status = STATUS_MAP.get(raw)
    if status is None:
        return None
    error: str | None = None
    code = _text(form, "ErrorCode", required=False)
    if code or status in {"failed", "undelivered"}:
        message = _text(form, "ErrorMessage", required=False)
        error = " ".join(filter(None, (f"Twilio error {code}" if code else "", message))) or raw
    return StatusUpdate(provider=PROVIDER, provider_message_id=sid, status=status, error=error)

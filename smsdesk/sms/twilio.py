"""Twilio-compatible outbound: ``TwilioProvider`` sends through the Messages REST API with httpx.

``POST {api_base}/2010-04-01/Accounts/{AccountSid}/Messages.json`` with Basic auth (account SID, auth
token) and form fields ``To``, ``From``, ``Body`` (or ``MediaUrl`` for an agent's PushUrl: an MMS) and, when a public URL is configured,
``StatusCallback={public_url}/sms/twilio/status?outbox={outbox id}``: the callback names our outbox row, so
a callback that overtakes Twilio's answer (before the message's sid is recorded) still finds its message.
``api_base`` is configurable so tests (and Twilio-compatible aggregators) can point it elsewhere; the
official client hard-codes its domain, so we only use the ``twilio`` package for webhook signatures
(``twilio_webhooks.py``).

Error policy: 2xx with a ``sid`` -> accepted; 429 and 5xx, timeouts and connection errors ->
``TemporaryFailure``; any other 4xx -> ``PermanentFailure`` carrying Twilio's ``code`` and ``message``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import httpx

from smsdesk.sms.base import OutboundSms, PermanentFailure, SendResult, TemporaryFailure
from smsdesk.sms.config import TwilioSettings
from smsdesk.sms.twilio_webhooks import STATUS_MAP

__all__ = ["TwilioProvider", "messages_url"]


def messages_url(settings: TwilioSettings) -> str:
    return f"{settings.api_base}/2010-04-01/Accounts/{settings.account_sid}/Messages.json"


def _error_text(response: httpx.Response) -> str:
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and ("message" in body or "code" in body):
        code = body.get("code")
        message = body.get("message") or "no message"
        return f"Twilio error {code}: {message}" if code else f"Twilio: {message}"
    return f"Twilio answered HTTP {response.status_code}"


class TwilioProvider:
    name = "twilio"

    def __init__(
        self, settings: TwilioSettings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._settings = settings
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                auth=httpx.BasicAuth(self._settings.account_sid, self._settings.auth_token),
                timeout=self._settings.timeout_s,
                transport=self._transport,
                headers={"Accept": "application/json"},
            )
        return self._client

    async def start(self) -> None:
        self._http()

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def _form(self, sms: OutboundSms) -> dict[str, str]:
        form = {"To": sms.to_number, "From": sms.from_number}
        if sms.media_url:
            form["MediaUrl"] = sms.media_url  # an agent's PushUrl goes out as MMS, without a Body
        else:
            form["Body"] = sms.text
        if self._settings.public_url:
            query = urlencode({"outbox": sms.outbox_id})
            form["StatusCallback"] = f"{self._settings.public_url}/sms/twilio/status?{query}"
        return form

    async def send(self, sms: OutboundSms) -> SendResult:
        try:
            response = await self._http().post(messages_url(self._settings), data=self._form(sms))
        except httpx.TimeoutException:
            raise TemporaryFailure("Twilio did not answer in time") from None
        except httpx.TransportError as exc:
            raise TemporaryFailure(f"cannot reach Twilio: {type(exc).__name__}") from None
        status = response.status_code
        if status == 429 or status >= 500:
            raise TemporaryFailure(_error_text(response))
        if status >= 400 or status < 200:
            raise PermanentFailure(_error_text(response))
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        sid = body.get("sid") if isinstance(body, dict) else None
        if not isinstance(sid, str) or not sid:
            raise TemporaryFailure(f"Twilio answered HTTP {status} without a message sid")
        raw_status = str(body.get("status") or "queued").lower()
        return SendResult(provider_message_id=sid, status=STATUS_MAP.get(raw_status, "queued"))

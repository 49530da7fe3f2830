"""Fetching the media of a Twilio MMS (``MediaUrlN``) before the message is stored (docs/providers.md).

``TwilioMediaFetcher.fetch`` GETs the URL with the account's credentials (HTTP Basic: account SID, auth
token) when the URL is on the configured ``api_base`` (``https://api.twilio.com``), and without them anywhere
else, so the auth token never leaves for another host; Twilio answers its media URL with a redirect to its
CDN, which httpx follows (dropping the credentials when the host changes). The body is read as a stream and
abandoned past ``max_bytes``; the whole fetch takes at most ``timeout_s``. Whatever goes wrong (timeout, refused connection, HTTP error, too large) gives an
``InboundMedia`` with ``error`` set and no bytes: the message is stored all the same, its media marked
unavailable. Nothing is retried: Twilio keeps the media until it is deleted, an operator can fetch it by hand.
"""

from __future__ import annotations

import asyncio
import dataclasses
from urllib.parse import urlsplit

import httpx

from smsdesk.sms.config import TwilioSettings
from smsdesk.sms.media import InboundMedia, accept

__all__ = ["TwilioMediaFetcher"]


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


class TwilioMediaFetcher:
    def __init__(
        self,
        settings: TwilioSettings,
        max_bytes: int,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._settings = settings
        self._max_bytes = max_bytes
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self._settings.timeout_s, transport=self._transport, follow_redirects=True
            )
        return self._client

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def fetch_all(self, items: tuple[InboundMedia, ...]) -> tuple[InboundMedia, ...]:
        """Every item at once (an MMS has up to 10): the webhook is answered within one ``timeout_s`` or so,
        well before Twilio gives up on it (15 s)."""
        return tuple(await asyncio.gather(*(self.fetch(item) for item in items)))

    async def fetch(self, item: InboundMedia) -> InboundMedia:
        """``item`` with its bytes, or with ``error`` saying why there are none; never raises."""
        scheme, _ = _origin(item.url)
        if scheme not in ("http", "https"):
            return dataclasses.replace(item, error="the media URL is not http(s)")
        auth = None
        if _origin(item.url) == _origin(self._settings.api_base):
            auth = httpx.BasicAuth(self._settings.account_sid, self._settings.auth_token)
        try:
            async with (
                asyncio.timeout(self._settings.timeout_s),
                self._http().stream("GET", item.url, auth=auth) as response,
            ):
                if response.status_code != 200:
                    return dataclasses.replace(
                        item, error=f"the provider answered HTTP {response.status_code}"
                    )
                declared = response.headers.get("content-type", "")
                length = response.headers.get("content-length", "")
                too_large = f"larger than {self._max_bytes} bytes (media_max_bytes)"
                if length.isdigit() and int(length) > self._max_bytes:
                    return dataclasses.replace(item, error=too_large)
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > self._max_bytes:
                        return dataclasses.replace(item, error=too_large)
                    chunks.append(chunk)
        except (httpx.TimeoutException, TimeoutError):
            return dataclasses.replace(item, error="the provider did not answer in time")
        except httpx.HTTPError as exc:
            return dataclasses.replace(item, error=f"cannot fetch the media: {type(exc).__name__}")
        # the type Twilio declared in the webhook is the one checked; the response's only when none was
        kind = item.content_type or declared
        return accept(dataclasses.replace(item, content_type=kind, data=b"".join(chunks)), self._max_bytes)

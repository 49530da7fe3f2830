"""``TwilioMediaFetcher`` against a loopback media server (a fake, not a mock): credentials only to Twilio's own
origin, the size limit (declared and streamed), failures as unavailable items, never an exception."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from smsdesk.sms.config import TwilioSettings
from smsdesk.sms.media import InboundMedia
from smsdesk.sms.twilio_media import TwilioMediaFetcher
from tests.sms.e2e_harness import basic_auth, serving
from tests.sms.images import png

SID, TOKEN = "AC0123456789abcdef0123456789abcdef", "media-token"
PICTURE = png()


class MediaServer:
    def __init__(self) -> None:
        self.auth: list[str | None] = []

        async def picture(request: Request) -> Response:
            self.auth.append(request.headers.get("authorization"))
            if request.headers.get("authorization") != basic_auth(SID, TOKEN):
                return Response(status_code=401)
            return Response(PICTURE, media_type="image/png")

        async def public(request: Request) -> Response:
            self.auth.append(request.headers.get("authorization"))
            return Response(PICTURE, media_type="image/png")

        async def chunked(request: Request) -> Response:
            async def body() -> AsyncIterator[bytes]:
                for _ in range(10):
                    yield bytes(1000)

            return StreamingResponse(body(), media_type="image/png")  # no Content-Length

        async def drip(request: Request) -> Response:
            async def body() -> AsyncIterator[bytes]:
                for _ in range(20):
                    await asyncio.sleep(0.1)
                    yield b"x"

            return StreamingResponse(body(), media_type="image/png")

        async def slow(request: Request) -> Response:
            await asyncio.sleep(1.5)
            return Response(PICTURE, media_type="image/png")

        self.app = Starlette(
            routes=[
                Route("/picture", picture),
                Route("/public", public),
                Route("/big", lambda r: Response(bytes(5000), media_type="image/png")),
                Route("/chunked", chunked),
                Route("/slow", slow),
                Route("/drip", drip),
            ]
        )


@pytest.fixture
async def server() -> AsyncIterator[tuple[MediaServer, str]]:
    media = MediaServer()
    async with serving(media.app) as url:
        yield media, url


def fetcher(api_base: str, max_bytes: int = 4000, timeout_s: float = 10.0) -> TwilioMediaFetcher:
    return TwilioMediaFetcher(TwilioSettings(SID, TOKEN, api_base=api_base, timeout_s=timeout_s), max_bytes)


async def test_twilios_media_are_fetched_with_the_account_credentials(
    server: tuple[MediaServer, str],
) -> None:
    media, url = server
    f = fetcher(url)
    try:
        got = await f.fetch(InboundMedia(url=f"{url}/picture", content_type="image/png"))
    finally:
        await f.close()
    assert (got.data, got.error, got.available) == (PICTURE, None, True)
    assert media.auth == [basic_auth(SID, TOKEN)]


async def test_the_credentials_never_go_to_another_origin(server: tuple[MediaServer, str]) -> None:
    media, url = server
    f = fetcher("https://api.twilio.com")
    try:
        public = await f.fetch(InboundMedia(url=f"{url}/public", content_type="image/png"))
        private = await f.fetch(InboundMedia(url=f"{url}/picture", content_type="image/png"))
    finally:
        await f.close()
    assert public.data == PICTURE
    assert (private.data, private.error) == (None, "the provider answered HTTP 401")
    assert media.auth == [None, None]


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/big", "larger than 4000 bytes (media_max_bytes)"),  # said so by Content-Length
        ("/chunked", "larger than 4000 bytes (media_max_bytes)"),  # found while reading
        ("/slow", "the provider did not answer in time"),
        ("/drip", "the provider did not answer in time"),  # each byte in time, the whole too late
        ("/nowhere", "the provider answered HTTP 404"),
    ],
)
async def test_failures_give_an_unavailable_item(
    server: tuple[MediaServer, str], path: str, error: str
) -> None:
    _, url = server
    f = fetcher(url, timeout_s=0.5 if path in ("/slow", "/drip") else 10.0)
    try:
        got = await f.fetch(InboundMedia(url=url + path, content_type="image/png"))
    finally:
        await f.close()
    assert (got.data, got.error, got.available) == (None, error, False)


async def test_unreachable_and_odd_urls_give_an_unavailable_item() -> None:
    f = fetcher("https://api.twilio.com")
    try:
        refused = await f.fetch(InboundMedia(url="http://127.0.0.1:9/x.png", content_type="image/png"))
        odd = await f.fetch(InboundMedia(url="file:///etc/passwd", content_type="image/png"))
    finally:
        await f.close()
    assert refused.error == "cannot fetch the media: ConnectError"
    assert odd.error == "the media URL is not http(s)"

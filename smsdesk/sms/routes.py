"""HTTP routes of the SMS providers, as plain Starlette routes the app mounts.

Thin handlers: authenticate (Twilio signature) -> parse (``twilio_webhooks`` / simulator JSON) -> call
one sink -> serialize. The acknowledgement (HTTP 200) is only written after the sink returned, i.e.
after the message is committed. Errors are GWS-shaped: ``{"statusCode": N, "statusMessage": ...}``
with HTTP 400 for bad input (N from ``smsdesk.domain.errors``) and 403 for a bad Twilio signature.

Routes:

* ``POST /sms/simulator/inbound``  JSON ``{"from", "to", "text", "messageId"?, "media"?}`` (numbers in
  E.164; ``media``: up to ``MAX_SIMULATOR_MEDIA`` items ``{"contentType", "data"}``, ``data`` in base64; the
  text may then be empty) -> ``{"statusCode":0,"messageId"}``
* ``GET  /sms/simulator/outbound?to=+1555...`` -> ``{"statusCode":0,"messages":[...]}``, oldest first
* ``GET  /simulator`` the customer-phone page (``simulator_page.html``)
* ``POST /sms/twilio/inbound`` and ``POST /sms/twilio/status``: Twilio webhooks, reply empty TwiML
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import re
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from smsdesk.api.errors import HTTP_STATUS, UnsupportedMediaType, error_response, gws_error
from smsdesk.api.params import read_bounded_body
from smsdesk.clock import Clock
from smsdesk.domain.errors import GwsError, MissingParameter, Unavailable, Validation
from smsdesk.limits import DEFAULT_MAX_JSON_DEPTH, is_json_media_type, too_deep
from smsdesk.sms.base import InboundSink, StatusSink
from smsdesk.sms.config import TwilioSettings
from smsdesk.sms.media import BASE64, InboundMedia
from smsdesk.sms.simulator import SimulatorProvider
from smsdesk.sms.twilio_media import TwilioMediaFetcher
from smsdesk.sms.twilio_webhooks import (
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    parse_inbound,
    parse_status,
    public_request_url,
    signature_is_valid,
)

__all__ = ["EMPTY_TWIML", "build_sms_routes"]

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
MAX_TEXT = 1600
MAX_BODY = 64 * 1024
MAX_SIMULATOR_MEDIA = 3

Endpoint = Callable[[Request], Awaitable[Response]]
Guard = Callable[[Request], Awaitable[None]]  # raises a GwsError to refuse the request


def _error(exc: GwsError) -> Response:
    """HTTP 400 for bad input; 401/403 for the simulator's access rule, 413/415 for a refused body; 503 with
    ``Retry-After`` when the database or the inbound backlog cannot take it now (the provider retries)."""
    if isinstance(exc, Unavailable):
        return gws_error(exc)
    status = getattr(exc, "http_status", None) or (HTTP_STATUS[exc.code] if exc.code in (3, 5, 20) else 400)
    headers = {"WWW-Authenticate": 'Basic realm="smsdesk"'} if exc.code == 20 else None
    return error_response(exc.code, exc.message, headers, http_status=status)


def _guarded(handler: Endpoint, guard: Guard | None = None) -> Endpoint:
    """Check ``guard`` first (the simulator's access rule), then map domain errors raised while parsing or by
    the sink to their GWS envelope (HTTP 400 for bad input, 413 and 415 for a refused body)."""

    async def endpoint(request: Request) -> Response:
        try:
            if guard is not None:
                await guard(request)
            return await handler(request)
        except GwsError as exc:
            return _error(exc)

    return endpoint


def _twiml() -> Response:
    return Response(EMPTY_TWIML, media_type="text/xml")


def _field(body: dict[str, Any], name: str, *, limit: int, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise MissingParameter(f"missing field {name!r}")
        return None
    if not isinstance(value, str):
        raise Validation(f"field {name!r} must be a string")
    if len(value) > limit:
        raise Validation(f"field {name!r} is longer than {limit} characters")
    return value


_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
_BASE64 = re.compile(BASE64)


def _number(body: dict[str, Any], name: str) -> str:
    """A phone number in E.164 as written (`+15551230001`: no spaces nor punctuation)."""
    value = _field(body, name, limit=40)
    assert value is not None
    if not _E164.fullmatch(value):
        raise Validation(f"field {name!r} must be a phone number in E.164, e.g. +15551230001")
    return value


def _simulator_media(body: dict[str, Any]) -> tuple[InboundMedia, ...]:
    """The phone's pictures: ``[{"contentType": "image/png", "data": "<base64>"}]``. Type and size are checked
    where every provider's are (``sms/media.py``): an item refused there stays on the message, unavailable."""
    raw = body.get("media")
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) > MAX_SIMULATOR_MEDIA:
        raise Validation(f"field 'media' must be a list of at most {MAX_SIMULATOR_MEDIA} items")
    out = []
    for item in raw:
        if not isinstance(item, dict):
            raise Validation('each media item must be an object {"contentType": ..., "data": <base64>}')
        kind = _field(item, "contentType", limit=128)
        data = item.get("data")
        if data is None or data == "":
            raise MissingParameter("a media item needs 'data', its bytes in base64")
        if not isinstance(data, str) or not _BASE64.fullmatch(data):
            raise Validation("a media item's 'data' is not valid base64")
        try:
            decoded = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise Validation("a media item's 'data' is not valid base64") from None
        assert kind is not None
        out.append(InboundMedia(content_type=kind, data=decoded))
    return tuple(out)


def _simulator_routes(
    simulator: SimulatorProvider, sink: InboundSink, guard: Guard | None, media_max_bytes: int
) -> list[BaseRoute]:
    page = resources.files("smsdesk.sms").joinpath("simulator_page.html").read_text(encoding="utf-8")
    # room for the pictures: media_max_bytes of them in all, in base64 (4 characters per 3 bytes)
    body_limit = MAX_BODY + 4 * (media_max_bytes // 3 + 1)

    async def inbound(request: Request) -> Response:
        if not is_json_media_type(request.headers.get("content-type")):
            raise UnsupportedMediaType("the body must be JSON, sent with 'Content-Type: application/json'")
        raw = await read_bounded_body(request.receive, body_limit)
        try:
            body = orjson.loads(raw or b"null")
        except orjson.JSONDecodeError:
            raise Validation("request body is not valid JSON") from None
        if too_deep(body, DEFAULT_MAX_JSON_DEPTH):
            raise Validation(f"request body nests deeper than {DEFAULT_MAX_JSON_DEPTH} levels")
        if not isinstance(body, dict):
            raise Validation('expected a JSON object {"from": ..., "to": ..., "text": ...}')
        from_number = _number(body, "from")
        to_number = _number(body, "to")
        media = _simulator_media(body)
        text = _field(body, "text", limit=MAX_TEXT, required=not media) or ""
        message_id = _field(body, "messageId", limit=64, required=False)
        provider_id, _ack = await simulator.receive(
            sink, from_number=from_number, to_number=to_number, text=text, message_id=message_id, media=media
        )
        return JSONResponse({"statusCode": 0, "messageId": provider_id})

    async def outbound(request: Request) -> Response:
        to = request.query_params.get("to")
        if not to:
            raise MissingParameter("missing query parameter 'to'")
        if not _E164.fullmatch(to):
            raise Validation("query parameter 'to' must be a phone number in E.164, e.g. +15551230001")
        messages = [m.to_json() for m in await simulator.outbound_to(to)]
        return JSONResponse({"statusCode": 0, "messages": messages})

    async def phone_page(request: Request) -> Response:
        return HTMLResponse(page)

    return [
        Route("/sms/simulator/inbound", _guarded(inbound, guard), methods=["POST"]),
        Route("/sms/simulator/outbound", _guarded(outbound, guard), methods=["GET"]),
        Route("/simulator", phone_page, methods=["GET"]),
    ]


def _twilio_routes(
    settings: TwilioSettings,
    clock: Clock,
    inbound_sink: InboundSink,
    status_sink: StatusSink,
    media: TwilioMediaFetcher | None,
) -> list[BaseRoute]:
    async def verified_form(request: Request) -> list[tuple[str, str]] | None:
        # Twilio posts application/x-www-form-urlencoded, never multipart: anything else is refused before a
        # byte of the body is read, and the form is read up to MAX_BODY bytes at most.
        media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media != "application/x-www-form-urlencoded":
            raise UnsupportedMediaType("Twilio webhooks are application/x-www-form-urlencoded")
        raw = await read_bounded_body(request.receive, MAX_BODY)
        try:
            pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=1000)
        except (UnicodeDecodeError, ValueError):
            raise Validation("the webhook's form is not valid") from None
        ok = signature_is_valid(
            url=public_request_url(str(request.url), settings.public_url),
            form=pairs,
            signature=request.headers.get(SIGNATURE_HEADER),
            settings_header=request.headers.get(SIGNATURE_SETTINGS_HEADER),
            auth_token=settings.auth_token,
            webhook_secret=settings.webhook_secret,
        )
        return pairs if ok else None

    def forbidden() -> Response:
        return JSONResponse(
            {"statusCode": 3, "statusMessage": f"invalid or missing {SIGNATURE_HEADER}"}, status_code=403
        )

    async def inbound(request: Request) -> Response:
        pairs = await verified_form(request)
        if pairs is None:
            return forbidden()
        sms = parse_inbound(pairs, received_ms=clock.now_ms())
        if sms.media:  # an MMS: its media fetched now, stored with the message (unavailable if it fails)
            fetched = await media.fetch_all(sms.media) if media is not None else sms.media
            sms = dataclasses.replace(sms, media=fetched)
        await inbound_sink(sms)
        return _twiml()

    async def status(request: Request) -> Response:
        pairs = await verified_form(request)
        if pairs is None:
            return forbidden()
        update = parse_status(pairs)
        if update is not None:
            outbox = request.query_params.get("outbox")  # set by us when sending; signed with the URL
            if outbox is not None and outbox.isdigit():
                update = dataclasses.replace(update, outbox_id=outbox)
            await status_sink(update)
        return _twiml()

    return [
        Route("/sms/twilio/inbound", _guarded(inbound), methods=["POST"]),
        Route("/sms/twilio/status", _guarded(status), methods=["POST"]),
    ]


def build_sms_routes(
    *,
    clock: Clock,
    inbound_sink: InboundSink,
    status_sink: StatusSink,
    simulator: SimulatorProvider | None = None,
    twilio: TwilioSettings | None = None,
    simulator_guard: Guard | None = None,
    twilio_media: TwilioMediaFetcher | None = None,
    media_max_bytes: int = 5_000_000,
) -> list[BaseRoute]:
    """The routes for the configured providers (SMPP has none: it is a TCP client). ``simulator_guard`` checks
    each request to the simulator's API (``smsdesk serve``: an admin's credentials); ``None``: open (demo).
    ``twilio_media`` fetches the media of Twilio's MMS (without it they are stored unavailable)."""
    routes: list[BaseRoute] = []
    if simulator is not None:
        routes += _simulator_routes(simulator, inbound_sink, simulator_guard, media_max_bytes)
    if twilio is not None:
        routes += _twilio_routes(twilio, clock, inbound_sink, status_sink, twilio_media)
    return routes

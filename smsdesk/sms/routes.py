"""HTTP routes of the SMS providers, as plain Starlette routes the app mounts.

Thin handlers: authenticate (Twilio signature) -> parse (``twilio_webhooks`` / simulator JSON) -> call
one sink -> serialize. The acknowledgement (HTTP 200) is only written after the sink returned, i.e.
after the message is committed. Errors are GWS-shaped: ``{"statusCode": N, "statusMessage": ...}``
with HTTP 400 for bad input (N from ``smsdesk.domain.errors``) and 403 for a bad Twilio signature.

Routes:

* ``POST /sms/simulator/inbound``  JSON ``{"from", "to", "text", "messageId"?}``
  -> ``{"statusCode":0,"messageId"}``
* ``GET  /sms/simulator/outbound?to=+1555...`` -> ``{"statusCode":0,"messages":[...]}``, oldest first
* ``GET  /simulator`` the customer-phone page (``simulator_page.html``)
* ``POST /sms/twilio/inbound`` and ``POST /sms/twilio/status``: Twilio webhooks, reply empty TwiML
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from smsdesk.clock import Clock
from smsdesk.domain.errors import GwsError, MissingParameter, Validation
from smsdesk.sms.base import InboundSink, StatusSink
from smsdesk.sms.config import TwilioSettings
from smsdesk.sms.simulator import SimulatorProvider
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

Endpoint = Callable[[Request], Awaitable[Response]]


def gws_error(exc: GwsError, http_status: int = 400) -> JSONResponse:
    return JSONResponse({"statusCode": exc.code, "statusMessage": exc.message}, status_code=http_status)


def _guarded(handler: Endpoint) -> Endpoint:
    """Map domain errors raised while parsing or by the sink to a GWS error with HTTP 400."""

    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except GwsError as exc:
            return gws_error(exc)

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


def _simulator_routes(simulator: SimulatorProvider, sink: InboundSink) -> list[BaseRoute]:
    page = resources.files("smsdesk.sms").joinpath("simulator_page.html").read_text(encoding="utf-8")

    async def inbound(request: Request) -> Response:
        raw = await request.body()
        if len(raw) > MAX_BODY:
            raise Validation("request body too large")
        try:
            body = json.loads(raw or b"null")
        except (ValueError, UnicodeDecodeError):
            raise Validation("request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise Validation('expected a JSON object {"from": ..., "to": ..., "text": ...}')
        from_number = _field(body, "from", limit=40)
        to_number = _field(body, "to", limit=40)
        text = _field(body, "text", limit=MAX_TEXT)
        message_id = _field(body, "messageId", limit=64, required=False)
        assert from_number is not None and to_number is not None and text is not None
        provider_id, _ack = await simulator.receive(
            sink, from_number=from_number, to_number=to_number, text=text, message_id=message_id
        )
        return JSONResponse({"statusCode": 0, "messageId": provider_id})

    async def outbound(request: Request) -> Response:
        to = request.query_params.get("to")
        if not to:
            raise MissingParameter("missing query parameter 'to'")
        messages = [m.to_json() for m in await simulator.outbound_to(to)]
        return JSONResponse({"statusCode": 0, "messages": messages})

    async def phone_page(request: Request) -> Response:
        return HTMLResponse(page)

    return [
        Route("/sms/simulator/inbound", _guarded(inbound), methods=["POST"]),
        Route("/sms/simulator/outbound", _guarded(outbound), methods=["GET"]),
        Route("/simulator", phone_page, methods=["GET"]),
    ]


def _twilio_routes(
    settings: TwilioSettings, clock: Clock, inbound_sink: InboundSink, status_sink: StatusSink
) -> list[BaseRoute]:
    async def verified_form(request: Request) -> list[tuple[str, str]] | None:
        form = await request.form()
        try:
            pairs = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
        finally:
            await form.close()
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
        await inbound_sink(parse_inbound(pairs, received_ms=clock.now_ms()))
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
) -> list[BaseRoute]:
    """The routes for the configured providers (SMPP has none: it is a TCP client)."""
    routes: list[BaseRoute] = []
    if simulator is not None:
        routes += _simulator_routes(simulator, inbound_sink)
    if twilio is not None:
        routes += _twilio_routes(twilio, clock, inbound_sink, status_sink)
    return routes

"""Harness of the end-to-end SMS tests (``test_e2e_*.py``): the whole app under uvicorn, an agent driving it
over the public GWS REST API, and a loopback fake of Twilio (REST API and webhooks).

* ``running_desk(...)`` serves ``build_app(...)`` on 127.0.0.1 with a socket bound *before* the app is built,
  so the app's own public URL (Twilio's ``StatusCallback``) can name the real port.
* ``Agent`` is one demo user talking to the desk over HTTP with Basic auth, exactly as a desktop would.
* ``FakeTwilio`` is the carrier side of Twilio: it serves ``Messages.json`` (records each send, answers as
  scripted) and, like Twilio, signs and posts inbound-message webhooks and status callbacks to the desk.
  Signatures are computed with ``twilio_sign.sign`` (the documented algorithm), independently of the
  ``twilio`` package the desk validates with.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import uvicorn
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from smsdesk.app import build_app
from smsdesk.clock import Clock, SystemClock
from smsdesk.config import Settings
from smsdesk.runtime import Runtime
from smsdesk.sms.config import SimulatorSettings, SmsSettings, TwilioSettings
from smsdesk.sms.routes import EMPTY_TWIML
from tests.sms.twilio_sign import sign

SMS_CHANNEL = "/v2/me/smssessions"
PASSWORD = "password"
ACCOUNT_SID = "AC0123456789abcdef0123456789abcdef"
AUTH_TOKEN = "e2e-auth-token"


async def wait_until(
    predicate: Callable[[], Awaitable[bool]], within_s: float = 10, what: str = "condition"
) -> None:
    """Poll ``predicate`` until it holds; fail with ``what`` after ``within_s`` seconds."""
    try:
        async with asyncio.timeout(within_s):
            while not await predicate():  # noqa: ASYNC110 - polling state behind HTTP and a store
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"timed out after {within_s}s waiting for {what}") from None


def _bound_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextlib.asynccontextmanager
async def serving(app: Starlette | FastAPI, sock: socket.socket | None = None) -> AsyncIterator[str]:
    """Serve ``app`` under uvicorn on ``sock`` (a fresh loopback socket by default); yields the base URL."""
    sock = sock or _bound_socket()
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
                raise AssertionError("uvicorn stopped before it started")
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


class Desk:
    """A running smsdesk: its base URL and the app (for reading the store as the truth)."""

    def __init__(self, url: str, app: FastAPI) -> None:
        self.url = url
        self.app = app

    @property
    def rt(self) -> Runtime:
        rt: Runtime = self.app.state.rt
        return rt

    def agent(self, name: str = "agent1") -> Agent:
        return Agent(self, name)


@contextlib.asynccontextmanager
async def running_desk(
    database: Path,
    sms: Callable[[str], SmsSettings],
    *,
    clock: Clock | None = None,
    background: bool = True,
) -> AsyncIterator[Desk]:
    """The full app on a loopback port with demo users; ``sms(base_url)`` gives its provider settings."""
    sock = _bound_socket()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = Settings(database_url=f"sqlite:///{database}", public_url=base)
    app = build_app(
        settings,
        clock=clock or SystemClock(),
        fast_hash=True,
        seed_demo=True,
        sms=sms(base),
        background=background,
    )
    async with serving(app, sock) as url:
        yield Desk(url, app)


def basic_auth(user: str, password: str = PASSWORD) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class Agent:
    """One agent (or supervisor) using the GWS REST API of a running desk, over real HTTP."""

    def __init__(self, desk: Desk, name: str) -> None:
        self.desk = desk
        self.name = name

    async def request(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=self.desk.url, timeout=10) as client:
            r = await client.request(
                method, path, json=body, headers={"Authorization": basic_auth(self.name)}
            )
        answer: dict[str, Any] = r.json()
        return answer

    async def ready(self) -> None:
        answer = await self.request("POST", "/api/v2/me/channels/sms", {"operationName": "Ready"})
        assert answer == {"statusCode": 0}, answer

    async def sessions(self) -> list[dict[str, Any]]:
        answer = await self.request("GET", "/api/v2/me/smssessions?fields=*")
        sessions: list[dict[str, Any]] = answer["smssessions"]
        return sessions

    async def offered(self, within_s: float = 10) -> dict[str, Any]:
        """Wait for the router to offer this agent a session; returns it."""
        found: list[dict[str, Any]] = []

        async def invited() -> bool:
            found[:] = [s for s in await self.sessions() if s["state"] == "Invited"]
            return bool(found)

        await wait_until(invited, within_s, f"an offer to {self.name}")
        return found[0]

    async def operation(self, session_id: str, name: str, **fields: Any) -> dict[str, Any]:
        return await self.request(
            "POST", f"/api/v2/me/smssessions/{session_id}", {"operationName": name, **fields}
        )

    async def session(self, session_id: str) -> dict[str, Any]:
        answer = await self.request("GET", f"/api/v2/me/smssessions/{session_id}")
        session: dict[str, Any] = answer["smssession"]
        return session

    async def messages(self, session_id: str) -> list[dict[str, Any]]:
        answer = await self.request("GET", f"/api/v2/me/smssessions/{session_id}/messages")
        messages: list[dict[str, Any]] = answer["messages"]
        return messages

    async def message(self, session_id: str, text: str) -> dict[str, Any]:
        """The transcript message carrying ``text`` (exactly one)."""
        (found,) = [m for m in await self.messages(session_id) if m.get("text") == text]
        return found

    async def events(self, after: int = 0) -> list[dict[str, Any]]:
        """The notifications stored for this user, in delivery order (what its CometD clients get)."""
        user = await self.desk.rt.store.get_user_by_name(self.name)
        assert user is not None
        return [
            {**e.data, "_channel": e.channel, "_id": e.id}
            for e in await self.desk.rt.store.read_events([user.id], after, 10_000)
        ]


def status_updates(events: list[dict[str, Any]]) -> list[tuple[str | None, str | None]]:
    """``(text, status)`` of each message in the ``MessagesUpdated`` notifications, in order."""
    return [
        (m.get("text"), m.get("status"))
        for e in events
        if e.get("notificationType") == "MessagesUpdated"
        for m in e["messages"]
    ]


def notices(events: list[dict[str, Any]]) -> list[str]:
    """Texts of the ``Notice`` transcript messages the user was notified of, in order."""
    return [
        str(m.get("text"))
        for e in events
        if e.get("notificationType") == "NewMessages"
        for m in e["messages"]
        if m.get("type") == "Notice"
    ]


class FakeTwilio:
    """Twilio's side of the wire, on loopback: the Messages REST API and the webhooks it posts.

    ``script`` holds ``(http_status, json_body)`` answers for the next sends; without one a send is
    accepted with a fresh ``SM…`` sid and ``status: queued``, as Twilio documents.
    """

    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.sent: list[dict[str, str]] = []
        self.refused: list[dict[str, str]] = []
        self.script: list[tuple[int, dict[str, Any]]] = []
        # a status to call back with *before* answering a send, as Twilio sometimes does (its callback
        # overtaking the REST API's answer): the desk has no sid for the message yet
        self.report_before_answer: str | None = None
        self._sids = itertools.count(1)
        # the media of the customers' MMS: path -> (content type, bytes), served with the account's credentials
        # only, through a redirect to a "CDN" path as Twilio does; ``media_fetches`` counts the requests
        self.media: dict[str, tuple[str, bytes]] = {}
        self.media_fetches = 0
        self.app = Starlette(
            routes=[
                Route("/2010-04-01/Accounts/{sid}/Messages.json", self._create, methods=["POST"]),
                Route("/2010-04-01/Accounts/{sid}/Messages/{mid}/Media/{me}", self._media, methods=["GET"]),
                Route("/cdn/{me}", self._cdn, methods=["GET"]),
            ]
        )

    async def _media(self, request: Request) -> Response:
        self.media_fetches += 1
        if request.headers.get("authorization") != basic_auth(self.account_sid, self.auth_token):
            return JSONResponse({"code": 20003, "message": "Authenticate", "status": 401}, status_code=401)
        if request.url.path not in self.media:
            return JSONResponse({"code": 20404, "message": "not found", "status": 404}, status_code=404)
        return Response(status_code=307, headers={"Location": f"/cdn/{request.path_params['me']}"})

    async def _cdn(self, request: Request) -> Response:
        me = request.path_params["me"]
        found = [v for k, v in self.media.items() if k.endswith(f"/Media/{me}")]
        if not found:
            return Response(status_code=404)
        kind, data = found[0]
        return Response(data, media_type=kind)

    def add_media(self, base_url: str, kind: str, data: bytes) -> str:
        """Keep a picture as Twilio would for an MMS; its ``MediaUrl`` (on ``base_url``, the fake's)."""
        n = next(self._sids)
        path = f"/2010-04-01/Accounts/{self.account_sid}/Messages/MM{n:032x}/Media/ME{n:032x}"
        self.media[path] = (kind, data)
        return base_url + path

    async def _create(self, request: Request) -> Response:
        if (
            request.headers.get("authorization") != basic_auth(self.account_sid, self.auth_token)
            or request.path_params["sid"] != self.account_sid
        ):
            return JSONResponse({"code": 20003, "message": "Authenticate", "status": 401}, status_code=401)
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        if self.script:
            status, body = self.script.pop(0)
            if status >= 300:
                self.refused.append(form)
                return JSONResponse(body, status_code=status)
        sid = f"SM{next(self._sids):032x}"
        self.sent.append({**form, "Sid": sid})
        if self.report_before_answer is not None and form.get("StatusCallback"):
            callback = await self.report(self.sent[-1], self.report_before_answer)
            assert callback.status_code == 200, callback.text
        reply = {"sid": sid, "status": "queued", "to": form.get("To"), "from": form.get("From")}
        return JSONResponse(
            {**reply, "body": form.get("Body"), "account_sid": self.account_sid}, status_code=201
        )

    def to(self, phone: str) -> list[str]:
        """Bodies (an MMS: its ``MediaUrl``) of the messages accepted for ``phone``, oldest first."""
        return [m.get("Body", m.get("MediaUrl", "")) for m in self.sent if m["To"] == phone]

    async def wait_sent(self, count: int, within_s: float = 10) -> list[dict[str, str]]:
        async def enough() -> bool:
            return len(self.sent) >= count

        await wait_until(enough, within_s, f"{count} message(s) sent through the fake Twilio")
        return self.sent

    async def _post_signed(self, url: str, params: list[tuple[str, str]]) -> httpx.Response:
        headers = {"X-Twilio-Signature": sign(self.auth_token, url, params)}
        async with httpx.AsyncClient(timeout=10) as client:
            return await client.post(url, data=dict(params), headers=headers)

    async def text(
        self,
        desk_url: str,
        *,
        customer: str,
        business: str,
        body: str,
        sid: str | None = None,
        media: tuple[tuple[str, str], ...] = (),
    ) -> httpx.Response:
        """The customer texts the business: Twilio's signed inbound-message webhook (captured field set);
        ``media``: an MMS's ``(MediaUrl, MediaContentType)`` pairs."""
        sid = sid or f"SM{next(self._sids):032x}"
        params = [
            ("ToCountry", "US"),
            ("SmsMessageSid", sid),
            ("NumMedia", str(len(media))),
            ("SmsSid", sid),
            ("SmsStatus", "received"),
            ("Body", body),
            ("FromCountry", "US"),
            ("To", business),
            ("NumSegments", "1"),
            ("MessageSid", sid),
            ("AccountSid", self.account_sid),
            ("From", customer),
            ("ApiVersion", "2010-04-01"),
        ]
        for i, (url, kind) in enumerate(media):
            params += [(f"MediaUrl{i}", url), (f"MediaContentType{i}", kind)]
        return await self._post_signed(f"{desk_url}/sms/twilio/inbound", params)

    async def report(self, sent: dict[str, str], status: str, error_code: str = "") -> httpx.Response:
        """Post the status callback of an accepted message to the ``StatusCallback`` URL it was sent with."""
        params = [
            ("SmsSid", sent["Sid"]),
            ("SmsStatus", status),
            ("MessageStatus", status),
            ("To", sent["To"]),
            ("MessageSid", sent["Sid"]),
            ("AccountSid", self.account_sid),
            ("From", sent["From"]),
            ("ApiVersion", "2010-04-01"),
        ]
        if error_code:
            params.insert(0, ("ErrorCode", error_code))
        return await self._post_signed(sent["StatusCallback"], params)


TWILIO_BIZ = "+15550000001"  # the business number bound to Twilio in ``Twilio.settings``
SIM_BIZ = "+15550000000"  # a second business number, bound to the simulator
TWILIO_CUST = "+15551230001"


class Twilio:
    """The loopback fake of Twilio at ``api_base`` and the desk's settings for it (the ``twilio`` and
    ``desk`` fixtures of tests/sms/conftest.py)."""

    def __init__(self, fake: FakeTwilio, api_base: str) -> None:
        self.fake, self.api_base = fake, api_base

    def settings(self, base: str) -> SmsSettings:
        """Twilio on ``TWILIO_BIZ`` with the desk's own URL as the public URL, the simulator on ``SIM_BIZ``."""
        twilio = TwilioSettings(
            ACCOUNT_SID, AUTH_TOKEN, api_base=self.api_base, public_url=base, numbers=(TWILIO_BIZ,)
        )
        return SmsSettings(simulator=SimulatorSettings(True, (SIM_BIZ,), public=True), twilio=twilio)

    async def text(self, desk: Desk, body: str, sid: str | None = None) -> None:
        r = await self.fake.text(desk.url, customer=TWILIO_CUST, business=TWILIO_BIZ, body=body, sid=sid)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("text/xml") and r.text == EMPTY_TWIML

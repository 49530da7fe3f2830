"""Authentication for REST and CometD: HTTP Basic on every request, a ``JSESSIONID`` session cookie, and CSRF
tokens (spec §9.1).

- Basic credentials are verified against the Argon2 hash, then cached for ``BASIC_TTL_S`` keyed by a digest
  of the header, so clients that send the header on every request stay fast. A ``JSESSIONID`` is cached for
  ``SESSION_TTL_S``. A cache hit does not touch the store: the cache keeps who the caller is (id, name, roles),
  not the ``User`` row with its password hash.
- Revocation, per node: disabling or deleting a user, changing its roles or its password takes effect within
  ``BASIC_TTL_S`` for cached Basic credentials and ``SESSION_TTL_S`` for a cached session, or at once where
  the action calls ``Authenticator.forget_user``. Ending the session (``forget_session``) is immediate on the
  node that ends it.
- A request with valid Basic credentials and no matching session gets a new ``JSESSIONID`` (the same one for
  repeated Basic requests without cookies, so cookie-less clients do not create a session per request).
- A request whose ``Origin`` header is neither a trusted origin (``allowed_origins``, default the public URL's)
  nor the origin of the host it is addressed to (its ``Host`` header) is refused (HTTP 403, ``statusCode`` 3)
  before its credentials are looked at: a page of another site cannot ride the cookie (or a browser's cached
  Basic credentials) into the API, CometD or its websocket (docs/security.md).
- Failed Basic logins are throttled and passwords verified off the event loop (``login_guard.py``).
- With ``csrf_enabled``, POST/PUT/DELETE/PATCH need ``X-CSRF-TOKEN`` equal to the session's token, obtained from
  the ``X-CSRF-TOKEN`` header of any GET; otherwise HTTP 403 "Missing or invalid Csrf token".
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from smsdesk.api.errors import error_response, gws_error
from smsdesk.api.login_guard import LoginGuard
from smsdesk.domain.errors import Forbidden, GwsError, NoPermission, NotAuthenticated
from smsdesk.domain.users import Principal, Role, User
from smsdesk.runtime import Runtime
from smsdesk.store.base import HttpSession

__all__ = [
    "COOKIE",
    "AuthMiddleware",
    "Authenticator",
    "admin_only",
    "authorize",
    "cookie_value",
    "guarded",
    "parse_cookies",
]

COOKIE = "JSESSIONID"
CSRF_HEADER = "X-CSRF-TOKEN"
BASIC_TTL_S = 60.0
SESSION_TTL_S = 2.0
_CACHE_MAX = 10_000
_UNSAFE = {"POST", "PUT", "DELETE", "PATCH"}
_READ_HEADERS = frozenset(
    {b"authorization", b"cookie", b"x-requested-with", b"x-csrf-token", b"origin", b"host"}
)


@dataclass(frozen=True, slots=True)
class AuthResult:
    principal: Principal  # ``principal.http_session_id`` is the session
    csrf_token: str
    new_session: bool


class _Session:
    """A JSESSIONID this node knows: who it is (the Principal carries the id) and its CSRF token."""

    __slots__ = ("csrf_token", "principal", "until")

    def __init__(self, principal: Principal, csrf_token: str, until: float) -> None:
        self.principal = principal
        self.csrf_token = csrf_token
        self.until = until


class _Credentials:
    """Basic credentials verified lately, and the session they were given (one per credentials)."""

    __slots__ = ("principal", "session_id", "until")

    def __init__(self, principal: Principal, session_id: str | None, until: float) -> None:
        self.principal = principal
        self.session_id = session_id
        self.until = until


def cookie_value(header: str, name: str) -> str | None:
    """The value of cookie ``name`` in a ``Cookie`` header (the last one if repeated), without building a
    ``SimpleCookie`` for the whole header."""
    if name not in header:
        return None
    found = None
    for part in header.split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key.strip() == name:
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            found = value
    return found


def parse_cookies(header: str) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except Exception:  # a malformed Cookie header authenticates nothing, it does not crash
        return {}
    return {k: m.value for k, m in jar.items()}


def _basic(header: str | None) -> tuple[str, str] | None:
    if not header or not header[:6].lower() == "basic ":
        return None
    try:
        raw = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise NotAuthenticated("Malformed Basic authorization header") from None
    user, sep, password = raw.partition(":")
    if not sep:
        raise NotAuthenticated("Malformed Basic authorization header")
    return user, password


class Authenticator:
    """Turns request headers and cookies into a ``Principal``. Holds small caches; construct one per process.

    Per logged-in client the caches hold one ``_Session`` and, for Basic logins, one ``_Credentials`` sharing
    its ``Principal`` (whose roles set is shared by every user with the same roles): about 0.75 KB. Passwords
    are verified by ``LoginGuard`` on worker threads, so a production-cost Argon2 verification (~0.2 s of
    CPU) does not stall the event loop, and failed logins are throttled there.
    """

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._basic: dict[bytes, _Credentials] = {}  # sha256 of the Authorization header ->
        self._sessions: dict[str, _Session] = {}
        self._roles: dict[frozenset[Role], frozenset[Role]] = {}
        self.guard = LoginGuard(rt)
        self._origins = rt.settings.trusted_origins
        self._cookie_flags = "; Secure" if rt.settings.cookie_secure else ""

    def origin_allowed(self, origin: str, host: str | None) -> bool:
        """A trusted origin, or the origin of the host the request is addressed to (same-origin pages)."""
        wanted = origin.strip().rstrip("/").lower()
        if wanted in self._origins:
            return True
        if not host:
            return False
        parts = urlsplit(wanted)
        return parts.scheme in ("http", "https") and parts.netloc == host.strip().lower()

    @property
    def cookie_flags(self) -> str:
        """Extra attributes of the cookies set: ``; Secure`` when the public URL is https."""
        return self._cookie_flags

    def _principal(self, who: User | Principal, session_id: str | None) -> Principal:
        roles = self._roles.setdefault(who.roles, who.roles)
        if isinstance(who, User):
            return Principal(who.id, who.user_name, roles, session_id)
        return Principal(who.user_id, who.user_name, roles, session_id)

    async def _verify_basic(
        self, header: str, creds: tuple[str, str], client: str | None
    ) -> tuple[Principal, str | None]:
        digest = hashlib.sha256(header.encode()).digest()
        hit = self._basic.get(digest)
        if hit and hit.until > time.monotonic():
            return hit.principal, hit.session_id
        name, password = creds
        async with self.guard.turn(client):
            had_failures = await self.guard.check(name, client)
            user = await self.rt.store.get_user_by_name(name)
            usable = user if user is not None and user.enabled else None
            ok = await self.guard.verify(usable.password_hash if usable else None, password)
            if usable is None or not ok:
                await self.guard.failed(name, client)
                raise NotAuthenticated("Invalid user name or password")
            if had_failures:
                await self.guard.succeeded(name)
        if len(self._basic) >= _CACHE_MAX:
            self._basic.clear()
        who = self._principal(usable, None)
        self._basic[digest] = _Credentials(who, None, time.monotonic() + BASIC_TTL_S)
        return who, None

    def _remember_basic_session(self, header: str, principal: Principal) -> None:
        hit = self._basic.get(hashlib.sha256(header.encode()).digest())
        if hit:
            hit.principal, hit.session_id = principal, principal.http_session_id

    async def _user(self, user_id: str) -> User | None:
        user = await self.rt.store.get_user(user_id)
        return user if user is not None and user.enabled else None

    async def _session(self, session_id: str) -> _Session | None:
        now = time.monotonic()
        hit = self._sessions.get(session_id)
        if hit and hit.until > now:
            return hit
        found = await self.rt.store.get_http_session_user(session_id)  # one statement for both
        if found is None or found[0].expires_ms <= self.rt.clock.now_ms():
            self._sessions.pop(session_id, None)
            return None
        session, user = found
        if not user.enabled:
            return None
        return self._cache_session(self._principal(user, session.id), session.csrf_token)

    def _cache_session(self, principal: Principal, csrf_token: str) -> _Session:
        if len(self._sessions) >= _CACHE_MAX:
            self._sessions.clear()
        sid = principal.http_session_id or ""
        entry = _Session(principal, csrf_token, time.monotonic() + SESSION_TTL_S)
        self._sessions[sid] = entry
        return entry

    def forget_session(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)
        for v in self._basic.values():
            if v.session_id == session_id:
                v.session_id = None

    def forget_user(self, user_id: str) -> None:
        """Drop every cached credential and session of ``user_id`` (after disabling, deleting or editing it)."""
        for sid in [sid for sid, v in self._sessions.items() if v.principal.user_id == user_id]:
            del self._sessions[sid]
        for digest in [d for d, v in self._basic.items() if v.principal.user_id == user_id]:
            del self._basic[digest]

    async def _new_session(self, user_id: str) -> HttpSession:
        now = self.rt.clock.now_ms()
        session = HttpSession(
            id=self.rt.ids.token(),
            user_id=user_id,
            csrf_token=self.rt.ids.csrf_token(),
            created_ms=now,
            expires_ms=now + self.rt.settings.http_session_ttl_s * 1000,
        )
        await self.rt.store.put_http_session(session)
        return session

    async def authenticate_request(
        self, headers: Mapping[str, str], cookies: Mapping[str, str], client: str | None = None
    ) -> AuthResult:
        origin = headers.get("origin")
        if origin is not None and not self.origin_allowed(origin, headers.get("host")):
            raise Forbidden(f"Origin {origin[:100]} is not allowed (allowed_origins, docs/security.md)")
        header = headers.get("authorization")
        creds = _basic(header)
        sid = cookies.get(COOKIE)
        found = await self._session(sid) if sid else None
        if creds is not None and header is not None:
            who, remembered = await self._verify_basic(header, creds, client)
            if found and found.principal.user_id == who.user_id:
                return AuthResult(found.principal, found.csrf_token, False)
            if remembered:
                again = await self._session(remembered)
                if again and again.principal.user_id == who.user_id:
                    return AuthResult(again.principal, again.csrf_token, True)
            session = await self._new_session(who.user_id)
            entry = self._cache_session(self._principal(who, session.id), session.csrf_token)
            self._remember_basic_session(header, entry.principal)
            return AuthResult(entry.principal, entry.csrf_token, True)
        if found:
            return AuthResult(found.principal, found.csrf_token, False)
        raise NotAuthenticated("Authentication required: send HTTP Basic credentials or a JSESSIONID cookie")

    async def authenticate(
        self, headers: Mapping[str, str], cookies: Mapping[str, str], client: str | None = None
    ) -> Principal | None:
        """For CometD handshakes and websocket upgrades: a principal, or ``None`` when not authenticated (or
        refused: an Origin not allowed, too many failed logins)."""
        try:
            return (await self.authenticate_request(headers, cookies, client)).principal
        except GwsError:
            return None


def guarded(path: str) -> bool:
    """Whether ``path`` needs authentication here: ``/api/v2/*`` but CometD (which authenticates itself)."""
    return path.startswith("/api/v2/") and not path.startswith("/api/v2/notifications")


async def authorize(
    auth: Authenticator, csrf: bool, scope: Scope, receive: Receive, send: Send
) -> list[tuple[bytes, bytes]] | None:
    """Authenticate the request of ``scope`` (and check its CSRF token): its principal goes to
    ``scope["state"]["principal"]`` and the headers its answer must carry (a new ``Set-Cookie``, the CSRF
    token on GET/HEAD) are returned; ``None`` when the refusal was answered already."""
    headers: dict[str, str] = {}
    for k, v in scope["headers"]:  # only the four headers authentication reads (names are lower case)
        if k in _READ_HEADERS:
            headers[k.decode("latin-1")] = v.decode("latin-1")
    sid = cookie_value(headers.get("cookie", ""), COOKIE)
    cookies = {COOKIE: sid} if sid is not None else {}
    client = scope.get("client")
    try:
        result = await auth.authenticate_request(headers, cookies, client[0] if client else None)
    except NotAuthenticated as exc:
        # Scripts (X-Requested-With: XMLHttpRequest) get no challenge, so browsers show no password dialog.
        scripted = headers.get("x-requested-with", "").lower() == "xmlhttprequest"
        hdrs = None if scripted else {"WWW-Authenticate": 'Basic realm="smsdesk"'}
        await error_response(exc.code, exc.message, hdrs)(scope, receive, send)
        return None
    except GwsError as exc:  # an Origin not allowed (403), too many failed logins (429 + Retry-After)
        await gws_error(exc)(scope, receive, send)
        return None
    method = scope["method"]
    if csrf and method in _UNSAFE and headers.get(CSRF_HEADER.lower()) != result.csrf_token:
        await error_response(3, "Missing or invalid Csrf token")(scope, receive, send)
        return None
    scope.setdefault("state", {})["principal"] = result.principal
    extra: list[tuple[bytes, bytes]] = []
    if result.new_session:
        cookie = (
            f"{COOKIE}={result.principal.http_session_id}; Path=/; HttpOnly; SameSite=Lax{auth.cookie_flags}"
        )
        extra.append((b"set-cookie", cookie.encode()))
    if method in ("GET", "HEAD"):
        extra.append((b"x-csrf-header", CSRF_HEADER.encode()))
        extra.append((b"x-csrf-token", result.csrf_token.encode()))
    return extra


def admin_only(auth: Authenticator) -> Callable[[Request], Awaitable[None]]:
    """A guard for endpoints only admins may use (the simulator's API in ``smsdesk serve``): Basic or the
    session cookie, the same Origin rule as the API; ``NotAuthenticated`` / ``NoPermission`` otherwise."""

    async def guard(request: Request) -> None:
        client = request.client.host if request.client else None
        result = await auth.authenticate_request(request.headers, request.cookies, client)
        if Role.ADMIN not in result.principal.roles:
            raise NoPermission("Only administrators may use the SMS simulator on this server")

    return guard


class AuthMiddleware:
    """Pure ASGI middleware guarding ``/api/v2/*`` (CometD authenticates itself with the same Authenticator).
    The hot paths get the same check from ``smsdesk.api.dispatch`` ahead of it."""

    def __init__(self, app: ASGIApp, authenticator: Authenticator, *, csrf_enabled: bool) -> None:
        self.app = app
        self.auth = authenticator
        self.csrf = csrf_enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not guarded(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        extra = await authorize(self.auth, self.csrf, scope, receive, send)
        if extra is None:
            return
        if not extra:
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)

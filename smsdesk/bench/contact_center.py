"""The contact-center load: N agents and M supervisors on CometD, customers texting at a target rate.

With ``texts_per_session`` = 1 (the default) each simulated SMS comes from a fresh customer number, so it
opens its own session:

1. the customer posts ``POST /sms/simulator/inbound`` (clock starts: *inbound*);
2. the router offers the session; the agent's CometD client receives ``StatusChange`` / ``Invited``
   (*inbound → Invited* latency);
3. the agent posts ``Accept``, then ``SendMessage`` with the text ``re <customer>`` (clock starts: *reply*),
   then ``Complete``;
4. the agent's supervisor (``Monitor``, ``AllChats``, joined on Accept) receives the ``MessageLogUpdated``
   holding that text (*reply → supervisor* latency);
5. the simulator records the outbound SMS with the server's wall-clock time; after the step a sample of
   customers' phones is read back (``GET /sms/simulator/outbound``) for the *reply → customer* latency.
   Reading the phones after the step keeps that polling out of the measured load.

With ``texts_per_session`` = k > 1 a conversation is k inbound texts: the first opens the session as above;
after the agent's reply the customer's k - 1 follow-ups (``more <customer> <i>``) go into the open session,
each taking one slot of the same open-loop rate (a slot goes to a conversation waiting for a follow-up when
there is one, round-robin, else opens a new conversation). The agent's CometD client receives each
follow-up as a ``MessageLogUpdated`` (*inbound → agent* latency) and the agent posts ``Complete`` after the
last one. Conversations still open when a step ends are completed without being counted.

Every REST call after login uses the ``JSESSIONID`` cookie, as a browser desktop does. The calls of all
users and the customers' texts go over one pool of keep-alive connections, as through a reverse proxy in
front of the server: a call that finds no idle connection opens one, and at most ``idle_connections`` idle
ones are kept (512: with 48, as in the fifth round, a connection was opened and closed again for one call in
five at 400 SMS/s, which cost both sides CPU). ``shared_connections`` = K instead caps the pool at K
connections, a call waiting for a free one: the harness of the first four rounds, with K = 48, whose cap
became the limit near saturation.
Policy of the scenario lives here; the protocol client is ``bayeux.py``, the numbers are summarised by
``stats.py``.
"""

from __future__ import annotations

import asyncio
import base64
import os
import random
import time
from collections import Counter, deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from smsdesk.bench.bayeux import CometdClient
from smsdesk.bench.http import HttpError, HttpPool
from smsdesk.bench.procstat import (
    ProcSampler,
    ProcUnavailable,
    TreeSample,
    TreeSampler,
    cpu_percent,
    per_process,
)
from smsdesk.bench.server import BenchUser, Population
from smsdesk.bench.stats import summarize

__all__ = ["ContactCenterLoad", "Login", "StepResult", "basic_header", "gather_limited", "login"]

BUSINESS = "+15550000000"
NOTIFICATIONS = "/api/v2/notifications"


def basic_header(name: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{name}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@dataclass(frozen=True, slots=True)
class Login:
    user: BenchUser
    cookie: dict[str, str]  # {"Cookie": "JSESSIONID=..."}


async def login(pool: HttpPool, user: BenchUser, password: str) -> Login:
    """One Basic-authenticated request to get the ``JSESSIONID`` cookie used afterwards."""
    r = await pool.request("GET", "/api/v2/me", headers=basic_header(user.name, password))
    if r.status != 200 or "JSESSIONID" not in r.cookies:
        raise HttpError(f"login of {user.name} failed: HTTP {r.status} {r.body[:200]!r}")
    return Login(user, {"Cookie": f"JSESSIONID={r.cookies['JSESSIONID']}"})


async def gather_limited(coros: list[Coroutine[Any, Any, Any]], limit: int) -> list[Any]:
    sem = asyncio.Semaphore(limit)

    async def one(c: Coroutine[Any, Any, Any]) -> Any:
        async with sem:
            return await c

    return await asyncio.gather(*(one(c) for c in coros))


@dataclass
class _Tracker:
    inbound_at: dict[str, float] = field(default_factory=dict)  # customer -> perf_counter at POST
    reply_at: dict[str, float] = field(default_factory=dict)
    reply_wall_ms: dict[str, float] = field(default_factory=dict)
    invited_ms: list[float] = field(default_factory=list)
    supervisor_ms: list[float] = field(default_factory=list)
    outbound_ms: list[float] = field(default_factory=list)
    invited: set[str] = field(default_factory=set)
    seen_by_supervisor: set[str] = field(default_factory=set)
    lag_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    sent: int = 0  # inbound texts, openers and follow-ups
    statistics_messages: int = 0  # /v2/statistics messages the supervisors received
    opened: int = 0  # inbound texts that open a conversation
    followup_at: dict[str, float] = field(default_factory=dict)  # follow-up text -> perf_counter at POST
    followup_ms: list[float] = field(default_factory=list)
    followups_seen: set[str] = field(default_factory=set)
    waiting: deque[str] = field(default_factory=deque)  # conversations that take a follow-up next
    to_send: dict[str, int] = field(default_factory=dict)  # customer -> follow-ups not sent yet
    to_receive: dict[str, int] = field(default_factory=dict)  # customer -> follow-ups the agent awaits
    open_paths: dict[str, tuple[Login, str]] = field(default_factory=dict)  # customer -> agent, session path


@dataclass
class StepResult:
    rate: float
    duration_s: float
    sent: int
    invited: int
    replied: int
    data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"rate": self.rate, "duration_s": self.duration_s, **self.data}


class ContactCenterLoad:
    def __init__(
        self,
        host: str,
        port: int,
        population: Population,
        *,
        transport: str = "websocket",
        idle_connections: int = 512,
        shared_connections: int = 0,
        server_pid: int | None = None,
        texts_per_session: int = 1,
        business_for: Callable[[str], str] | None = None,
    ) -> None:
        if texts_per_session < 1:
            raise ValueError("texts_per_session must be >= 1")
        if shared_connections < 0:
            raise ValueError("shared_connections must be >= 0")
        self.shared_connections = shared_connections
        self.texts_per_session = texts_per_session
        self.business_for = business_for or (lambda _customer: BUSINESS)  # the number a customer texts
        self.host, self.port = host, port
        self.population = population
        self.transport = transport
        self.pool = HttpPool(
            host, port, shared_connections or idle_connections, elastic=not shared_connections
        )
        self.clients: list[CometdClient] = []
        self.server = TreeSampler(server_pid) if server_pid else None
        self.me = ProcSampler(os.getpid())
        self.t = _Tracker()
        self._tasks: set[asyncio.Task[None]] = set()
        self._customer_prefix = f"+1{random.randint(201, 989)}"
        self._customers = 0
        self._simulator: dict[str, str] = {}  # the admin's cookie: the simulator's API is for admins in serve

    # --- setup ---------------------------------------------------------------------------------------

    async def _client(
        self,
        who: Login,
        handler: Callable[[dict[str, Any], str, float], None],
        channels: tuple[str, ...] = ("/v2/me/smssessions",),
    ) -> None:
        client = CometdClient(
            self.host,
            self.port,
            NOTIFICATIONS,
            transport=self.transport,
            headers=who.cookie,
            on_event=handler,
        )
        await client.start(*channels)
        self.clients.append(client)

    async def setup(self, *, concurrency: int = 32) -> None:
        pw = self.population.password
        if self.population.admin is not None:
            self._simulator = (await login(self.pool, self.population.admin, pw)).cookie
        agents = await gather_limited([login(self.pool, a, pw) for a in self.population.agents], concurrency)
        sups = await gather_limited(
            [login(self.pool, s, pw) for s in self.population.supervisors], concurrency
        )
        await gather_limited([self._client(a, self._agent_handler(a)) for a in agents], concurrency)
        # a supervisor's console: its sessions and the wallboard's statistics (docs/operations.md)
        watch = ("/v2/me/smssessions", "/v2/statistics")
        await gather_limited([self._client(s, self._on_supervisor_event, watch) for s in sups], concurrency)
        if sups:
            monitors = [
                self._ok(
                    "monitor",
                    sups[i % len(sups)],
                    f"/api/v2/users/{a.user.id}/channels/smssession",
                    {"operationName": "Monitor", "supervisorMonitoringMode": "AllChats"},
                )
                for i, a in enumerate(agents)
            ]
            await gather_limited(monitors, concurrency)
        ready = [self._ok("ready", a, "/api/v2/me/channels/sms", {"operationName": "Ready"}) for a in agents]
        await gather_limited(ready, concurrency)
        if self.t.errors:
            total = sum(self.t.errors.values())
            first = "; ".join(k for k, _ in self.t.errors.most_common(3))
            raise HttpError(f"setup failed: {total} errors, e.g. {first}")

    @property
    def connections(self) -> str:
        """How the harness's REST calls reach the server, for the record."""
        if self.shared_connections:
            return f"at most {self.shared_connections}"
        return f"as needed, {self.pool.size} kept idle"

    async def _ok(self, op: str, who: Login, path: str, body: dict[str, Any]) -> bool:
        try:
            r = await self.pool.request("POST", path, body, who.cookie)
            if r.status == 200 and r.json().get("statusCode") == 0:
                return True
            self.t.errors[f"{op}: HTTP {r.status} {r.body[:120].decode(errors='replace')}"] += 1
        except HttpError as exc:
            self.t.errors[f"{op}: {exc}"] += 1
        return False

    # --- the agents' and supervisors' reactions ------------------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _agent_handler(self, who: Login) -> Callable[[dict[str, Any], str, float], None]:
        def on_event(data: dict[str, Any], _channel: str, now: float) -> None:
            if data.get("messageType") == "MessageLogUpdated":
                self._on_agent_messages(data, now)
                return
            if data.get("notificationType") != "StatusChange":
                return
            session = data.get("smssession") or {}
            if session.get("state") != "Invited":
                return
            customer = (session.get("userData") or {}).get("CustomerNumber", "")
            t = self.t
            started = t.inbound_at.get(customer)
            if started is None or customer in t.invited:
                return  # a session of an earlier step, or a repeated offer
            t.invited.add(customer)
            t.invited_ms.append((now - started) * 1000)
            self._spawn(self._answer(who, str(session.get("id")), customer))

        return on_event

    async def _answer(self, who: Login, session_id: str, customer: str) -> None:
        path = f"/api/v2/me/smssessions/{session_id}"
        t = self.t
        if not await self._ok("Accept", who, path, {"operationName": "Accept"}):
            return
        t.reply_at[customer] = time.perf_counter()
        t.reply_wall_ms[customer] = time.time() * 1000
        if not await self._ok(
            "SendMessage", who, path, {"operationName": "SendMessage", "text": f"re {customer}"}
        ):
            return
        follow_ups = self.texts_per_session - 1
        if follow_ups == 0 or t is not self.t:
            await self._ok("Complete", who, path, {"operationName": "Complete"})
            return
        t.open_paths[customer] = (who, path)
        t.to_send[customer] = t.to_receive[customer] = follow_ups
        t.waiting.append(customer)

    def _on_agent_messages(self, data: dict[str, Any], now: float) -> None:
        """A follow-up reached its agent: latency, and ``Complete`` after the conversation's last one."""
        t = self.t
        for m in data.get("messages") or ():
            text = m.get("text") if isinstance(m, dict) else None
            if not isinstance(text, str) or not text.startswith("more ") or text in t.followups_seen:
                continue
            started = t.followup_at.get(text)
            if started is None:
                continue  # a text of an earlier step
            t.followups_seen.add(text)
            t.followup_ms.append((now - started) * 1000)
            customer = text.split(" ")[1]
            left = t.to_receive.get(customer, 0) - 1
            t.to_receive[customer] = left
            if left == 0:
                who, path = t.open_paths.pop(customer)
                self._spawn(self._complete(who, path))

    async def _complete(self, who: Login, path: str) -> None:
        await self._ok("Complete", who, path, {"operationName": "Complete"})

    def _on_supervisor_event(self, data: dict[str, Any], channel: str, now: float) -> None:
        if channel == "/v2/statistics":
            self.t.statistics_messages += 1
            return
        if data.get("messageType") != "MessageLogUpdated":
            return
        t = self.t
        for m in data.get("messages") or ():
            text = m.get("text") if isinstance(m, dict) else None
            if isinstance(text, str) and text.startswith("re "):
                customer = text[3:]
                started = t.reply_at.get(customer)
                if started is not None and customer not in t.seen_by_supervisor:
                    t.seen_by_supervisor.add(customer)
                    t.supervisor_ms.append((now - started) * 1000)

    # --- customers -----------------------------------------------------------------------------------

    def _next_customer(self) -> str:
        self._customers += 1
        return f"{self._customer_prefix}{self._customers % 10_000_000:07d}"

    async def _text(self, customer: str) -> None:
        t = self.t
        t.inbound_at[customer] = time.perf_counter()
        await self._post_inbound(customer, "hello", "inbound")

    async def _follow_up(self, customer: str) -> None:
        t = self.t
        index = self.texts_per_session - t.to_send[customer]
        t.to_send[customer] -= 1
        if t.to_send[customer] > 0:
            t.waiting.append(customer)
        text = f"more {customer} {index}"
        t.followup_at[text] = time.perf_counter()
        await self._post_inbound(customer, text, "follow-up")

    async def _post_inbound(self, customer: str, text: str, kind: str) -> None:
        t = self.t
        body = {"from": customer, "to": self.business_for(customer), "text": text}
        try:
            r = await self.pool.request("POST", "/sms/simulator/inbound", body, self._simulator)
            if r.status != 200:
                t.errors[f"{kind}: HTTP {r.status} {r.body[:120].decode(errors='replace')}"] += 1
        except HttpError as exc:
            t.errors[f"{kind}: {exc}"] += 1

    async def _drive(self, rate: float, duration_s: float) -> None:
        start = time.perf_counter()
        i = 0
        while i / rate < duration_s:
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            t = self.t
            t.lag_ms.append(max(0.0, time.perf_counter() - due) * 1000)
            t.sent += 1
            if t.waiting:
                self._spawn(self._follow_up(t.waiting.popleft()))
            else:
                t.opened += 1
                self._spawn(self._text(self._next_customer()))
            i += 1

    async def _drain(self, timeout_s: float) -> None:
        t = self.t
        deadline = time.perf_counter() + timeout_s
        while time.perf_counter() < deadline:
            done_invites = len(t.invited) >= t.opened - _count(t.errors, "inbound")
            done_follow_ups = len(t.followups_seen) >= len(t.followup_at) - _count(t.errors, "follow-up")
            done_replies = len(t.seen_by_supervisor) >= len(t.reply_at) or not self.population.supervisors
            if done_invites and done_follow_ups and done_replies and not self._tasks:
                return
            await asyncio.sleep(0.05)

    async def _read_phones(self, sample: int, patience_s: float) -> None:
        """Read back a sample of phones; a reply not there yet is looked for again until ``patience_s``."""
        t = self.t
        pending = list(t.reply_wall_ms)
        random.shuffle(pending)
        pending = pending[:sample]
        deadline = time.perf_counter() + patience_s

        async def one(customer: str) -> bool:
            try:
                r = await self.pool.request(
                    "GET", f"/sms/simulator/outbound?to={quote(customer)}", headers=self._simulator
                )
                texts = {m["text"]: m["timestampSeconds"] for m in r.json().get("messages", [])}
            except (HttpError, KeyError, TypeError, AttributeError) as exc:
                t.errors[f"read phone: {exc}"] += 1
                return True
            sent_ms = texts.get(f"re {customer}")
            if sent_ms is None:
                return False
            t.outbound_ms.append(max(0.0, float(sent_ms) - t.reply_wall_ms[customer]))
            return True

        while pending:
            found = await gather_limited([one(c) for c in pending], 16)
            pending = [c for c, ok in zip(pending, found, strict=True) if not ok]
            if pending and time.perf_counter() < deadline:
                await asyncio.sleep(0.5)
            elif pending:
                t.errors[f"reply not on the customer's phone within {patience_s:.0f} s"] += len(pending)
                return

    async def run_step(
        self, rate: float, duration_s: float, *, drain_s: float = 10.0, phone_sample: int = 500
    ) -> StepResult:
        if rate <= 0 or duration_s <= 0:
            raise ValueError("rate and duration must be > 0")
        self.t = t = _Tracker()
        if self.server is not None:
            self.server.reset_peak()
        s0, m0 = self._sample_server(), self.me.sample()
        opened0 = self.pool.opened
        watch = asyncio.ensure_future(self._watch_server())
        try:
            t0 = time.perf_counter()
            await self._drive(rate, duration_s)
            s1, m1 = self._sample_server(), self.me.sample()
            elapsed = m1.wall - m0.wall
            await self._drain(drain_s)
            done = time.perf_counter()
            s2 = self._sample_server()
        finally:
            watch.cancel()
        await self._read_phones(phone_sample, drain_s)
        await self._close_conversations()
        missing = t.opened - len(t.invited) - _count(t.errors, "inbound")
        if missing > 0:
            t.errors[f"no Invited within {drain_s:.0f} s after the step"] += missing
        unseen = len(t.followup_at) - len(t.followups_seen) - _count(t.errors, "follow-up")
        if unseen > 0:
            t.errors[f"follow-up not at the agent within {drain_s:.0f} s after the step"] += unseen
        delivered = len(t.invited) + len(t.followups_seen)
        lost = len(t.reply_at) - len(t.seen_by_supervisor)
        if lost > 0 and self.population.supervisors:
            t.errors[f"supervisor missed the reply within {drain_s:.0f} s"] += lost
        data: dict[str, Any] = {
            "sent": t.sent,
            "texts_per_session": self.texts_per_session,
            "connections": self.connections,
            "connections_opened": self.pool.opened - opened0,  # beyond the idle ones, during the step
            "achieved_inbound_per_s": round(t.sent / max(elapsed, duration_s), 1),
            "invited": len(t.invited),
            "follow_ups": len(t.followup_at),
            "replied": len(t.reply_at),
            "sustained_sessions_per_s": round(len(t.invited) / max(elapsed, done - t0), 1),
            "sustained_inbound_per_s": round(delivered / max(elapsed, done - t0), 1),
            "inbound_to_invited_ms": summarize(t.invited_ms).to_json(),
            "follow_up_to_agent_ms": summarize(t.followup_ms).to_json(),
            "reply_to_supervisor_ms": summarize(t.supervisor_ms).to_json(),
            "reply_to_customer_ms": summarize(t.outbound_ms).to_json(),
            "generator_lag_ms": summarize(t.lag_ms).to_json(),
            "load_cpu_percent": round(cpu_percent(m0, m1), 1),
            "statistics_messages": t.statistics_messages,
            "errors": dict(t.errors),
            "loadavg_1min_after": round(os.getloadavg()[0], 2),
            "client_errors": sum(len(c.errors) for c in self.clients),
        }
        if s0 is not None and s1 is not None and s2 is not None:
            data["server_cpu_percent"] = round(cpu_percent(s0, s1), 1)
            data["server_rss_mb"] = round(s1.rss_kb / 1024, 1)
            data["server_peak_rss_mb"] = round(s2.peak_rss_kb / 1024, 1)
            data["server_processes"] = per_process(s0, s1, self.server)
        if s0 is not None and s2 is not None and delivered:
            # the server's CPU from the first text until the last straggler, per inbound text that reached
            # its agent (an opener's whole session, Accept to Complete, is charged to the opener)
            data["server_cpu_ms_per_inbound"] = round((s2.cpu_s - s0.cpu_s) * 1000 / delivered, 2)
        return StepResult(rate, duration_s, t.sent, len(t.invited), len(t.reply_at), data)

    async def _close_conversations(self) -> None:
        """Complete the conversations the step left open, so that their agents are free for the next step."""
        t = self.t
        t.waiting.clear()
        left = list(t.open_paths.values())
        t.open_paths.clear()
        await gather_limited([self._complete(who, path) for who, path in left], 32)

    def _sample_server(self) -> TreeSample | None:
        return self.server.sample() if self.server is not None else None

    async def _watch_server(self, every_s: float = 0.5) -> None:
        """Samples the server's tree during a step, for the peak of its summed RSS (sampled, not exact)."""
        while self.server is not None:
            await asyncio.sleep(every_s)
            try:
                self.server.sample()
            except ProcUnavailable:
                return  # the server is gone: the step's own samples will say so

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*(c.close() for c in self.clients), return_exceptions=True)
        await self.pool.close()


def _count(errors: Counter[str], prefix: str) -> int:
    return sum(n for k, n in errors.items() if k.startswith(prefix))

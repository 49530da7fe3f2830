"""CometD fan-out, side by side: K websocket subscribers, publishers, deliveries/s and delivery latency.

The same client (``bayeux.py``) and the same load shape run against both servers:

* **smsdesk** — K supervisors subscribe to ``/v2/users`` (the team view every supervisor receives). A
  publisher is an agent toggling ``Ready`` / ``NotReady`` with ``POST /api/v2/me/channels/sms``: the real
  write path (agent state and the event row committed to the store, bus hint, hub catch-up read, fan-out to
  every supervisor's queue, websocket frame). Event *i* from agent *a* is correlated with toggle *i* of *a*.
* **Faye** (npm ``faye`` 1.4.3 under node, ``bench/faye_server.js``) — K clients subscribe to ``/bench``;
  a publisher is a handshaken Bayeux client posting one ``publish`` message per HTTP request, with
  ``{"p": publisher, "s": sequence, "pad": "x" * FAYE_PAD}`` as data, padded to about the size of the
  smsdesk team event (~280 bytes of JSON), so both servers write frames of about the same size. Faye keeps
  everything in memory and persists nothing; it writes one frame per message, where smsdesk writes one
  frame per client per catch-up (several events when they arrive together).

Each publisher is closed-loop (one request in flight); ``rate`` paces all publishers together, and
``rate=0`` means as fast as the server acknowledges (the throughput phase).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smsdesk.bench.bayeux import BayeuxSession, CometdClient
from smsdesk.bench.contact_center import NOTIFICATIONS, gather_limited, login
from smsdesk.bench.http import HttpConnection, HttpError, HttpPool
from smsdesk.bench.procstat import ProcSampler, TreeSampler, cpu_percent, per_process
from smsdesk.bench.server import Population
from smsdesk.bench.stats import summarize

__all__ = ["FanoutTarget", "FayeServer", "FayeTarget", "SmsdeskTarget", "run_fanout"]

BENCH_DIR = Path(__file__).resolve().parents[2] / "bench"
FAYE_PAD = 250  # filler characters in each Faye publish: its data is then about as large as smsdesk's event
Publish = Callable[[int, int], Awaitable[bool]]  # (publisher, sequence) -> acknowledged


@dataclass
class _Recorder:
    sent: dict[tuple[str, int], float] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    delivered: int = 0
    last: float = 0.0

    def arrived(self, key: tuple[str, int], now: float) -> None:
        started = self.sent.get(key)
        if started is not None:
            self.latencies.append((now - started) * 1000)
            self.delivered += 1
            self.last = max(self.last, now)


class FanoutTarget:
    """What differs between the two servers: subscribing, publishing and reading an event's key."""

    name = "?"
    pid: int | None = None

    async def subscribe(self, k: int, on_key: Callable[[tuple[str, int], float], None]) -> None:
        raise NotImplementedError

    async def publishers(self, w: int) -> list[Publish]:
        raise NotImplementedError

    def key(self, publisher: int) -> str:
        raise NotImplementedError

    def event_frames(self) -> int:
        """Frames with at least one event received so far by the subscribers."""
        clients: list[CometdClient] = getattr(self, "clients", [])
        return sum(c.event_frames for c in clients)

    async def close(self) -> None:
        raise NotImplementedError


class SmsdeskTarget(FanoutTarget):
    name = "smsdesk"

    def __init__(self, host: str, port: int, population: Population, pid: int | None) -> None:
        self.host, self.port, self.population, self.pid = host, port, population, pid
        self.pool = HttpPool(host, port, 16)
        self.clients: list[CometdClient] = []
        self._agent_ids: list[str] = []

    async def subscribe(self, k: int, on_key: Callable[[tuple[str, int], float], None]) -> None:
        sups = self.population.supervisors[:k]
        if len(sups) < k:
            raise ValueError(f"need {k} supervisors, seeded {len(sups)}")
        counters: list[dict[str, int]] = []

        def handler(seen: dict[str, int]) -> Callable[[dict[str, Any], str, float], None]:
            def on_event(data: dict[str, Any], channel: str, now: float) -> None:
                uid = data.get("userId")
                if channel == "/v2/users" and isinstance(uid, str):
                    seen[uid] = seen.get(uid, 0) + 1
                    on_key((uid, seen[uid]), now)

            return on_event

        async def one(u: Any) -> None:
            who = await login(self.pool, u, self.population.password)
            seen: dict[str, int] = {}
            counters.append(seen)
            c = CometdClient(self.host, self.port, NOTIFICATIONS, headers=who.cookie, on_event=handler(seen))
            await c.start("/v2/users")
            self.clients.append(c)

        await gather_limited([one(u) for u in sups], 32)

    async def publishers(self, w: int) -> list[Publish]:
        agents = self.population.agents[:w]
        logins = [await login(self.pool, a, self.population.password) for a in agents]
        self._agent_ids = [a.id for a in agents]
        conns = [HttpConnection(self.host, self.port) for _ in logins]

        def make(i: int) -> Publish:
            async def publish(_p: int, seq: int) -> bool:
                op = (
                    "Ready" if seq % 2 else "NotReady"
                )  # seq starts at 1: Ready first (agents start NotReady)
                r = await conns[i].request(
                    "POST", "/api/v2/me/channels/sms", {"operationName": op}, logins[i].cookie
                )
                return r.status == 200 and r.json().get("statusCode") == 0

            return publish

        return [make(i) for i in range(len(logins))]

    def key(self, publisher: int) -> str:
        return self._agent_ids[publisher]

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in self.clients), return_exceptions=True)
        await self.pool.close()


class FayeServer:
    """``node bench/faye_server.js`` on a free port; needs ``npm ci`` in ``bench/``."""

    def __init__(self) -> None:
        self._proc: asyncio.subprocess.Process | None = None
        self.port = 0

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    async def start(self) -> None:
        script = BENCH_DIR / "faye_server.js"
        if not (BENCH_DIR / "node_modules" / "faye").is_dir():
            raise FileNotFoundError(f"faye is not installed: run `npm ci` in {BENCH_DIR}")
        self._proc = await asyncio.create_subprocess_exec(
            "node", str(script), "0", cwd=BENCH_DIR, stdout=asyncio.subprocess.PIPE
        )
        assert self._proc.stdout is not None
        line = await asyncio.wait_for(self._proc.stdout.readline(), 15)
        if not line:
            raise RuntimeError("the Faye server exited before listening")
        self.port = int(json.loads(line)["port"])

    async def stop(self) -> None:
        if self._proc is not None and self._proc.returncode is None:
            self._proc.terminate()
            await self._proc.wait()


class FayeTarget(FanoutTarget):
    name = "faye"

    def __init__(self, port: int, pid: int | None) -> None:
        self.port, self.pid = port, pid
        self.clients: list[CometdClient] = []

    async def subscribe(self, k: int, on_key: Callable[[tuple[str, int], float], None]) -> None:
        def on_event(data: dict[str, Any], _channel: str, now: float) -> None:
            on_key((str(data.get("p")), int(data.get("s", -1))), now)

        async def one() -> None:
            c = CometdClient("127.0.0.1", self.port, "/faye", on_event=on_event)
            await c.start("/bench")
            self.clients.append(c)

        await gather_limited([one() for _ in range(k)], 32)

    async def publishers(self, w: int) -> list[Publish]:
        out: list[Publish] = []
        for _ in range(w):
            conn, session = HttpConnection("127.0.0.1", self.port), BayeuxSession("long-polling")
            session.receive((await conn.request("POST", "/faye", session.handshake())).json())

            async def publish(
                p: int, seq: int, conn: HttpConnection = conn, s: BayeuxSession = session
            ) -> bool:
                data = {"p": str(p), "s": seq, "pad": "x" * FAYE_PAD}
                r = await conn.request("POST", "/faye", s.publish("/bench", data))
                return r.status == 200 and all(m.get("successful") for m in r.json())

            out.append(publish)
        return out

    def key(self, publisher: int) -> str:
        return str(publisher)

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in self.clients), return_exceptions=True)


async def _phase(
    target: FanoutTarget, rec: _Recorder, pubs: list[Publish], seq: list[int], rate: float, secs: float
) -> dict[str, Any]:
    errors = 0
    first = sum(seq)
    start = time.perf_counter()
    gap = len(pubs) / rate if rate > 0 else 0.0

    async def run(i: int) -> None:
        nonlocal errors
        n = 0
        while time.perf_counter() - start < secs:
            due = start + n * gap + i * gap / len(pubs)
            if gap and due > time.perf_counter():
                await asyncio.sleep(due - time.perf_counter())
            seq[i] += 1
            rec.sent[(target.key(i), seq[i])] = time.perf_counter()
            try:
                if not await pubs[i](i, seq[i]):
                    errors += 1
            except HttpError:
                errors += 1
            n += 1

    sampler = TreeSampler(target.pid) if target.pid else None  # the server and its workers, if any
    me = ProcSampler(os.getpid())
    s0, m0 = (sampler.sample() if sampler else None), me.sample()
    frames0, delivered0 = target.event_frames(), rec.delivered
    await asyncio.gather(*(run(i) for i in range(len(pubs))))
    published = sum(seq) - first
    await asyncio.sleep(1.0)  # drain
    s1, m1 = (sampler.sample() if sampler else None), me.sample()
    span = max(rec.last, time.perf_counter() - 1.0) - start
    out: dict[str, Any] = {
        "published": published,
        "publish_per_s": round(published / secs, 1),
        "delivered": rec.delivered,
        "deliveries_per_s": round(rec.delivered / span, 1) if span > 0 else 0.0,
        "latency_ms": summarize(rec.latencies).to_json(),
        "errors": errors,
        "load_cpu_percent": round(cpu_percent(m0, m1), 1),
        "loadavg_1min_after": round(os.getloadavg()[0], 2),
    }
    frames = target.event_frames() - frames0
    out["events_per_frame"] = round((rec.delivered - delivered0) / frames, 2) if frames else 0.0
    if s0 and s1:
        out["server_cpu_percent"] = round(cpu_percent(s0, s1), 1)
        out["server_rss_mb"] = round(s1.rss_kb / 1024, 1)
        out["server_processes"] = per_process(s0, s1, sampler)
        if rec.delivered:
            out["server_cpu_us_per_delivery"] = round((s1.cpu_s - s0.cpu_s) / rec.delivered * 1e6, 1)
    return out


async def run_fanout(
    target: FanoutTarget, *, k: int, publishers: int, rate: float, duration_s: float
) -> dict[str, Any]:
    """Fixed-rate phase (latency) then an as-fast-as-acknowledged phase (throughput)."""
    recs: dict[str, _Recorder] = defaultdict(_Recorder)
    current = ["paced"]
    await target.subscribe(k, lambda key, now: recs[current[0]].arrived(key, now))
    pubs = await target.publishers(publishers)
    result: dict[str, Any] = {"server": target.name, "subscribers": k, "publishers": publishers}
    seq = [0] * len(pubs)  # sequence numbers run on across phases (smsdesk counts events per agent)
    result["paced"] = await _phase(target, recs["paced"], pubs, seq, rate, duration_s)
    current[0] = "max"
    result["max"] = await _phase(target, recs["max"], pubs, seq, 0.0, duration_s)
    expected = result["max"]["published"] * k
    result["max"]["lost"] = max(0, expected - result["max"]["delivered"])
    return result

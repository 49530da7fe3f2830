"""Server memory per idle connected agent: RSS before and after K agents log in and hold a CometD connect.

Procedure: one warm-up agent goes through the whole path first (so lazily built code paths and caches are
not charged to the others); then the server's RSS is read, K agents log in over REST (one ``GET
/api/v2/me`` with Basic credentials: an HTTP session row and the authenticator's cache entry), RSS is read
again, the K agents connect over CometD (websocket, handshake, subscribe to ``/v2/me/smssessions`` and
``/v2/me/channels``, a held ``/meta/connect``), and after a settle pause RSS is read a last time.
Reported: the delta per agent for the login and for the CometD connection, and the total. RSS includes
allocator slack, so this is the cost as the operating system sees it, not ``sys.getsizeof`` arithmetic.
RSS is the sum over the server's process tree (``procstat.TreeSampler``): with ``--workers N`` the agents
spread over the workers, and the delta is what the node as a whole grew by.
"""

from __future__ import annotations

import asyncio
from typing import Any

from smsdesk.bench.bayeux import CometdClient
from smsdesk.bench.contact_center import NOTIFICATIONS, gather_limited, login
from smsdesk.bench.http import HttpPool
from smsdesk.bench.procstat import TreeSampler, per_process
from smsdesk.bench.server import Population

__all__ = ["measure_idle_clients"]


async def measure_idle_clients(
    host: str,
    port: int,
    pid: int,
    population: Population,
    *,
    transport: str = "websocket",
    settle_s: float = 2.0,
) -> dict[str, Any]:
    agents = population.agents
    if len(agents) < 2:
        raise ValueError("need at least 2 agents (one warm-up, one measured)")
    warm, measured = agents[0], agents[1:]
    pool = HttpPool(host, port, 16)
    sampler = TreeSampler(pid)
    clients: list[CometdClient] = []

    async def connect(who: Any) -> None:
        c = CometdClient(host, port, NOTIFICATIONS, transport=transport, headers=who.cookie)
        await c.start("/v2/me/smssessions", "/v2/me/channels")
        clients.append(c)

    try:
        await connect(await login(pool, warm, population.password))
        await asyncio.sleep(settle_s)
        base = sampler.sample()
        logins = await gather_limited([login(pool, a, population.password) for a in measured], 32)
        await asyncio.sleep(settle_s)
        after_login = sampler.sample()
        await gather_limited([connect(w) for w in logins], 32)
        await asyncio.sleep(settle_s)
        after_connect = sampler.sample()
        errors = sum(len(c.errors) for c in clients)
    finally:
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
        await pool.close()
    k = len(measured)
    login_kb = (after_login.rss_kb - base.rss_kb) / k
    connect_kb = (after_connect.rss_kb - after_login.rss_kb) / k
    return {
        "clients": k,
        "transport": transport,
        "rss_before_mb": round(base.rss_kb / 1024, 1),
        "rss_after_mb": round(after_connect.rss_kb / 1024, 1),
        "kb_per_agent_login": round(login_kb, 1),
        "kb_per_agent_cometd": round(connect_kb, 1),
        "kb_per_agent_total": round(login_kb + connect_kb, 1),
        "client_errors": errors,
        "server_processes": per_process(base, after_connect, sampler),
    }

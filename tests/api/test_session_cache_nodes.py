"""Two nodes on one database: each node's session cache never answers a client from a stale session.

Node A opens the session (and caches it); node B offers it, so A's entry is stale. Every operation on A must
still see what B wrote: a refusal decided on a stale entry is decided again on the store's value, and a
write decided on a stale entry fails its version check and is retried. Also: on one node, operations after
the first reuse the session the node wrote, instead of reading it from the store.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from smsdesk.app import Worker
from smsdesk.clock import FakeClock
from tests.api.conftest import Api, accepted, count_calls, node

BIZ = "+15550000000"


async def session_id(api: Api, agent: str = "agent1") -> str:
    r = await api.get("/api/v2/me/smssessions?fields=*", user=agent)
    sessions = r.json()["smssessions"]
    assert len(sessions) == 1, sessions
    sid: str = sessions[0]["id"]
    return sid


async def texts(api: Api, sid: str) -> list[Any]:
    r = await api.get(f"/api/v2/me/smssessions/{sid}/messages")
    messages = r.json()["messages"]
    assert [m["index"] for m in messages] == sorted({m["index"] for m in messages})
    return [m.get("text") for m in messages if m["type"] == "Text"]


async def test_operations_on_a_node_whose_cached_session_is_stale(tmp_path: Path, clock: FakeClock) -> None:
    async with node(tmp_path, clock) as a, node(tmp_path, clock) as b:
        r = await a.post("/api/v2/me/channels/sms", {"operationName": "Ready"})
        assert accepted(r.json()) == {"statusCode": 0}
        await a.text("Hello")  # A writes and caches the queued session
        assert await b.route() == 1  # B offers it: A's entry is stale
        sid = await session_id(a)

        # decided on A's stale entry, Accept would be refused (agent1 is not in it): decided again on the store
        r = await a.post(f"/api/v2/me/smssessions/{sid}", {"operationName": "Accept"})
        assert accepted(r.json()) == {"statusCode": 0}
        replay = (await a.events("agent1"))[-1]["messages"]
        assert [m.get("text") for m in replay if m["type"] == "Text"] == ["Hello"]

        # B's entry (Invited) is stale: SendMessage would be refused on it
        r = await b.post(f"/api/v2/me/smssessions/{sid}", {"operationName": "SendMessage", "text": "one"})
        assert accepted(r.json()) == {"statusCode": 0}

        # the customer writes through B; A's entry (after Accept) is stale, and SendMessage is valid on it:
        # its write fails the version check and is decided again, after the customer's text
        await b.text("two")
        r = await a.post(f"/api/v2/me/smssessions/{sid}", {"operationName": "SendMessage", "text": "three"})
        assert accepted(r.json()) == {"statusCode": 0}
        assert await texts(a, sid) == ["Hello", "one", "two", "three"]
        assert await texts(b, sid) == ["Hello", "one", "two", "three"]

        r = await b.post(f"/api/v2/me/smssessions/{sid}", {"operationName": "Complete"})
        assert accepted(r.json()) == {"statusCode": 0}
        r = await a.post(f"/api/v2/me/smssessions/{sid}", {"operationName": "SendMessage", "text": "late"})
        assert r.json()["statusCode"] == 2  # refused on the store's value too: the agent completed it


async def test_a_worker_drops_its_copy_when_another_worker_writes_the_session(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Workers share the hint bus: a commit's hint names the sessions it wrote, so the other worker drops its
    older copy at once and decides on the store's value the first time, instead of after a failed write."""
    sockets = tmp_path / "workers"
    sockets.mkdir(mode=0o700)
    async with (
        node(tmp_path, clock, Worker(sockets, "a")) as a,
        node(tmp_path, clock, Worker(sockets, "b")) as b,
    ):
        await a.post("/api/v2/me/channels/sms", {"operationName": "Ready"})
        await a.text("Hello")
        assert await b.route() == 1
        sid = await session_id(a)
        r = await a.post(f"/api/v2/me/smssessions/{sid}", {"operationName": "Accept"})
        assert accepted(r.json()) == {"statusCode": 0}
        held = a.rt.session_cache.get(sid)
        assert held is not None
        await b.text("two")  # B writes the next version
        for _ in range(200):
            if a.rt.session_cache.get(sid) is None:
                break
            await asyncio.sleep(0.01)
        assert a.rt.session_cache.get(sid) is None, "the hint of B's commit did not reach A"
        commits = count_calls(a.rt.store, "commit")
        r = await a.post(f"/api/v2/me/smssessions/{sid}", {"operationName": "SendMessage", "text": "three"})
        assert accepted(r.json()) == {"statusCode": 0}
        assert len(commits) == 1  # decided once, on the store's value: no failed version check
        assert await texts(a, sid) == ["Hello", "two", "three"]


async def test_one_node_reuses_the_session_it_wrote(tmp_path: Path, clock: FakeClock) -> None:
    async with node(tmp_path, clock) as a:
        store = a.rt.store
        reads: list[str] = []
        get_session, read_messages = store.get_session, store.read_messages

        async def counting_get_session(session_id: str) -> Any:
            reads.append("session")
            return await get_session(session_id)

        async def counting_read_messages(session_id: str, *args: Any) -> Any:
            reads.append("messages")
            return await read_messages(session_id, *args)

        await a.post("/api/v2/me/channels/sms", {"operationName": "Ready"})
        await a.post(
            f"/api/v2/users/{await a.user_id('agent1')}/channels/smssession",
            {"operationName": "Monitor", "supervisorMonitoringMode": "AllChats"},
            user="supervisor1",
        )
        get_outbound = store.get_outbound

        async def counting_get_outbound(outbox_id: int) -> Any:
            reads.append("outbox row")
            return await get_outbound(outbox_id)

        await a.text("Hello")
        store.get_outbound = counting_get_outbound  # type: ignore[method-assign]
        store.get_session = counting_get_session  # type: ignore[method-assign]
        store.read_messages = counting_read_messages  # type: ignore[method-assign]
        assert await a.route() == 1
        sid = next(iter(a.rt.session_cache._open))
        for body in (
            {"operationName": "Accept"},
            {"operationName": "SendMessage", "text": "re"},
            {"operationName": "Complete"},
        ):
            r = await a.post(f"/api/v2/me/smssessions/{sid}", body)
            assert accepted(r.json()) == {"statusCode": 0}
        await (
            a.send_outbox()
        )  # the receipt: the outbox row claimed and the cached transcript say which message
        assert reads == []
        store.get_session, store.read_messages = get_session, read_messages  # type: ignore[method-assign]
        store.get_outbound = get_outbound  # type: ignore[method-assign]
        seen = [
            m.get("text")
            for e in await a.events("supervisor1")
            if e["messageType"] == "MessageLogUpdated"
            for m in e["messages"]
        ]
        assert "Hello" in seen and "re" in seen  # the supervisor joined on Accept (AllChats) and saw both
        r = await a.get(f"/api/v2/me/smssessions/{sid}/messages")
        sent = [m for m in r.json()["messages"] if m.get("text") == "re"]
        assert sent and sent[0]["status"] == "delivered"

"""The store contract: one suite, run against SQLite and PostgreSQL (the ``store`` fixture is parametrized)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy.engine import Connection

from smsdesk.domain.agents import AgentState, ChannelState
from smsdesk.domain.errors import AlreadyExists, NotFound
from smsdesk.domain.events import Notification
from smsdesk.domain.users import Role, User
from smsdesk.store.base import (
    AuditEntry,
    Change,
    ConcurrentUpdate,
    HttpSession,
    MediaRow,
    NewOutbound,
    ReferenceTaken,
    SessionRecord,
    SessionWrite,
    SubscriptionRow,
)
from smsdesk.store.retention import Purged, erase_customer_batch
from smsdesk.store.sql import SqlStore


def user(name: str, *roles: Role) -> User:
    return User(id=f"id-{name}", user_name=name, password_hash="h", roles=frozenset(roles or {Role.AGENT}))


def record(
    sid: str = "S1",
    *,
    version: int = 1,
    is_open: bool = True,
    waiting: bool = False,
    customer: str = "+15551230001",
    queued_ms: int = 0,
    members: frozenset[str] = frozenset(),
    data: dict[str, object] | None = None,
) -> SessionRecord:
    return SessionRecord(
        id=sid,
        version=version,
        is_open=is_open,
        waiting=waiting,
        queue="default",
        customer=customer,
        business="+15550000000",
        created_ms=1,
        updated_ms=2,
        queued_ms=queued_ms,
        data=data if data is not None else {"k": [1, "two", {"x": None}]},
        members=members,
    )


async def test_users_round_trip_and_unique_names(store: SqlStore) -> None:
    a = replace(user("agent1"), nickname="Ann", capacity=4, first_name="A", last_name="B", created_ms=5)
    await store.add_user(a)
    assert await store.get_user(a.id) == a
    assert await store.get_user_by_name("agent1") == a
    with pytest.raises(AlreadyExists):
        await store.add_user(replace(a, id="other"))
    await store.add_user(user("boss", Role.SUPERVISOR, Role.ADMIN))
    assert [u.user_name for u in await store.list_users()] == ["agent1", "boss"]
    await store.update_user(replace(a, enabled=False))
    assert (await store.get_user(a.id)).enabled is False  # type: ignore[union-attr]
    assert await store.delete_user(a.id) is True
    assert await store.delete_user(a.id) is False
    assert await store.get_user_by_name("agent1") is None


async def test_users_email_address_round_trips(store: SqlStore) -> None:
    a = replace(user("agent1"), email_address="ann@example.com")
    await store.add_user(a)
    assert (await store.get_user(a.id)) == a
    await store.update_user(replace(a, email_address="ann@example.org"))
    assert (await store.get_user(a.id)).email_address == "ann@example.org"  # type: ignore[union-attr]


async def test_references_count_per_user_and_a_wrong_guess_names_the_next(store: SqlStore) -> None:
    """issue 23: a user's requests are answered with referenceIds 1, 2, 3 … in commit order, whichever
    process or node decided them; a change decided with a taken one fails whole and names the next."""
    a, b = user("agent1"), user("agent2")
    await store.add_user(a)
    await store.add_user(b)
    await store.commit(Change(references=[(a.id, 1)]))
    await store.commit(Change(references=[(a.id, 2)]))
    await store.commit(Change(references=[(b.id, 1)]))
    note = Notification(a.id, "/v2/me/smssessions", {"n": 1})
    last = await store.last_event_id()
    with pytest.raises(ReferenceTaken) as taken:
        await store.commit(Change(references=[(a.id, 1)], notifications=[note]))  # another process took 1, 2
    assert (taken.value.user_id, taken.value.actual) == (a.id, 3)
    assert await store.last_event_id() == last  # nothing of that change was written
    await store.commit(Change(references=[(a.id, 3)], notifications=[note]))
    await store.update_user(replace(a, nickname="Ann"))  # a user's update leaves the count alone
    with pytest.raises(ReferenceTaken) as taken:
        await store.commit(Change(references=[(a.id, 1)]))
    assert taken.value.actual == 4
    with pytest.raises(ReferenceTaken) as taken:  # a guess ahead of the count names the next one too
        await store.commit(Change(references=[(a.id, 9)]))
    assert taken.value.actual == 4
    await store.commit(Change(references=[(a.id, 4)]))
    with pytest.raises(NotFound):
        await store.commit(Change(references=[("ghost", 1)]))


async def test_reserved_reference_blocks_share_the_users_count(store: SqlStore) -> None:
    """A process handing out referenceIds itself (``actions/references.py``) takes them in blocks from the
    same count: blocks never overlap one another nor the numbers taken one by one."""
    a = user("agent1")
    await store.add_user(a)
    await store.commit(Change(references=[(a.id, 1)]))
    assert await store.reserve_references(a.id, 32) == 33  # 2..33
    assert await store.reserve_references(a.id, 32) == 65  # 34..65
    with pytest.raises(ReferenceTaken) as taken:
        await store.commit(Change(references=[(a.id, 2)]))
    assert taken.value.actual == 66
    blocks = await asyncio.gather(*(store.reserve_references(a.id, 4) for _ in range(8)))
    assert sorted(blocks) == [69, 73, 77, 81, 85, 89, 93, 97]
    assert await store.reserve_references("ghost", 4) is None


async def test_messages_of_changes_committed_together_are_all_kept(store: SqlStore) -> None:
    """On PostgreSQL the transcript rows of a whole write group go in one statement at its end; a change
    whose row is already there fails alone (ConcurrentUpdate) and the others keep theirs."""
    await store.commit(Change(messages=[("S0", {"index": 1, "type": "Text", "text": "first"})]))
    changes = [
        Change(messages=[(f"S{i}", {"index": j, "type": "Text", "text": f"{i}.{j}"}) for j in (1, 2)])
        for i in range(12)
    ]
    results = await asyncio.gather(*(store.commit(c) for c in changes), return_exceptions=True)
    assert isinstance(results[0], ConcurrentUpdate)  # S0 index 1 was there
    assert all(isinstance(r, int) for r in results[1:])
    assert [m["text"] for m in await store.read_messages("S0")] == ["first"]
    for i in range(1, 12):
        assert [m["text"] for m in await store.read_messages(f"S{i}")] == [f"{i}.1", f"{i}.2"]


async def test_http_sessions_expire(store: SqlStore) -> None:
    await store.put_http_session(HttpSession("j1", "u1", "csrf", 1, 100))
    await store.put_http_session(HttpSession("j2", "u1", "csrf", 1, 300))
    assert await store.get_http_session("j1") == HttpSession("j1", "u1", "csrf", 1, 100)
    assert await store.delete_expired_http_sessions(200) == 1
    assert await store.get_http_session("j1") is None
    await store.delete_http_session("j2")
    assert await store.get_http_session("j2") is None


async def test_an_http_session_with_its_user_in_one_read(store: SqlStore) -> None:
    a = user("agent1")
    await store.add_user(a)
    await store.put_http_session(HttpSession("j1", a.id, "csrf", 1, 100))
    await store.put_http_session(HttpSession("j2", "ghost", "csrf", 1, 100))
    assert await store.get_http_session_user("j1") == (HttpSession("j1", a.id, "csrf", 1, 100), a)
    assert await store.get_http_session_user("j2") is None  # its user is gone
    assert await store.get_http_session_user("nope") is None


async def test_agents_upsert_and_order_by_idle(store: SqlStore) -> None:
    a = AgentState("u1", ChannelState.READY, None, 1, 50)
    b = AgentState("u2", ChannelState.NOT_READY, "Lunch", 1, 10)
    await store.commit(Change(agents=[a, b]))
    assert await store.get_agent("u1") == a
    assert await store.get_agent("u2") == b
    assert [x.user_id for x in await store.list_agents()] == ["u2", "u1"]
    await store.commit(Change(agents=[replace(a, state=ChannelState.NOT_READY, reason="Break")]))
    assert (await store.get_agent("u1")).reason == "Break"  # type: ignore[union-attr]
    await store.commit(Change(agents_idle=[("u1", 5), ("ghost", 7)]))
    got = await store.get_agent("u1")
    assert got is not None and got.idle_since_ms == 5 and got.state is ChannelState.NOT_READY
    assert await store.get_agent("nobody") is None


async def test_agents_changed_since_a_time(store: SqlStore) -> None:
    a = AgentState("u1", ChannelState.READY, None, 100, 100)
    b = AgentState("u2", ChannelState.NOT_READY, "Lunch", 200, 50)
    c = AgentState("u3", ChannelState.LOGGED_OUT, None, 10, 10)
    await store.commit(Change(agents=[a, b, c]))

    async def changed(since_ms: int) -> list[AgentState]:
        return sorted(await store.list_agents_changed(since_ms), key=lambda x: x.user_id)

    assert await changed(0) == [a, b, c]
    assert await changed(100) == [a, b]  # the bound is included
    assert await changed(101) == [b]  # channel state set at 200
    assert await changed(201) == []
    await store.commit(Change(agents_idle=[("u3", 300)]))  # an idle time counts as a change too
    assert await changed(201) == [replace(c, idle_since_ms=300)]


async def test_member_rows_follow_every_write_that_says_what_was_stored(store: SqlStore) -> None:
    r1 = replace(record("M", members=frozenset({"ag", "sup"})), load_members=frozenset({"ag"}))
    await store.commit(Change(sessions=[SessionWrite(r1, None)]))
    r2 = replace(r1, version=2, data={"k": 2})  # members unchanged
    await store.commit(Change(sessions=[SessionWrite(r2, 1, r1)]))
    assert await store.get_session("M") == r2
    assert await store.agent_loads() == {"ag": 1}
    r3 = replace(r2, version=3, members=frozenset({"ag2", "sup"}), load_members=frozenset({"ag2"}))
    await store.commit(Change(sessions=[SessionWrite(r3, 2, r2)]))
    assert await store.get_session("M") == r3
    assert await store.agent_loads() == {"ag2": 1}
    assert await store.list_member_sessions("ag") == []
    r4 = replace(r3, version=4, members=frozenset(), load_members=frozenset())
    await store.commit(Change(sessions=[SessionWrite(r4, 3, r3)]))
    assert await store.get_session("M") == r4
    assert await store.agent_loads() == {}
    # a new session without members has no rows to clear; one with members gets them
    await store.commit(Change(sessions=[SessionWrite(record("N", customer="+9"), None)]))
    assert await store.list_member_sessions("sup") == []


async def test_the_store_trusts_the_stored_members_a_write_states(store: SqlStore) -> None:
    """A stored record whose members are the record's means "already stored": the rows are not touched (the
    engine states what it read at the expected version, which the version check guarantees)."""
    r1 = record("T", members=frozenset({"u1"}))
    await store.commit(Change(sessions=[SessionWrite(r1, None)]))
    r2 = replace(r1, version=2, members=frozenset({"u2"}))
    await store.commit(Change(sessions=[SessionWrite(r2, 1, replace(r1, members=r2.members))]))
    assert [s.id for s in await store.list_member_sessions("u1")] == ["T"]  # skipped, as stated
    r3 = replace(r2, version=3)
    await store.commit(Change(sessions=[SessionWrite(r3, 2)]))  # not stated: rewritten
    assert await store.list_member_sessions("u1") == []
    assert [s.id for s in await store.list_member_sessions("u2")] == ["T"]


async def test_indexed_columns_are_written_only_when_they_change(store: SqlStore) -> None:
    """A write whose stored record has the same indexed values (open, waiting, numbers, queue time,
    offer deadline) sets only the other columns; every other column is written from the record."""
    r1 = record("I")
    await store.commit(Change(sessions=[SessionWrite(r1, None)]))
    r2 = replace(r1, version=2, data={"k": 2}, queue="other", updated_ms=77)
    await store.commit(Change(sessions=[SessionWrite(r2, 1, r1)]))
    assert await store.get_session("I") == r2
    r3 = replace(r2, version=3, waiting=True, queued_ms=5, deadline_ms=9)
    await store.commit(Change(sessions=[SessionWrite(r3, 2, r2)]))  # they changed: written
    assert await store.get_session("I") == r3
    assert [s.id for s in await store.list_waiting_sessions()] == ["I"]
    assert [s.id for s in await store.list_due_sessions(9)] == ["I"]
    # stated as unchanged (a stored record that says so): the indexed columns are left as stored
    r4 = replace(r3, version=4, waiting=False, deadline_ms=None, data={"k": 4})
    await store.commit(Change(sessions=[SessionWrite(r4, 3, replace(r3, waiting=False, deadline_ms=None))]))
    got = await store.get_session("I")
    assert got is not None and got.data == {"k": 4}
    if (
        store.dialect == "sqlite"
    ):  # an index entry is rewritten for each indexed column set: they are left out
        assert got.waiting and got.deadline_ms == 9
    else:  # PostgreSQL compares the values (no index touched when none changed): a group writes every column
        assert got == r4
    with pytest.raises(ConcurrentUpdate):  # the version is checked all the same
        await store.commit(Change(sessions=[SessionWrite(replace(r4, version=5), 3, r3)]))


async def test_session_writes_committed_together_keep_each_outcome(store: SqlStore) -> None:
    """On PostgreSQL a write group updates its sessions and their members in one statement each at its end:
    every write keeps the outcome it had statement by statement (a stale one fails alone, members follow the
    last write of each session)."""
    first = [record(f"G{i}", customer=f"+1555000{i:04d}", members=frozenset({"a", "b"})) for i in range(10)]
    await store.commit(Change(sessions=[SessionWrite(r, None) for r in first]))
    later = [
        replace(r, version=2, data={"n": i}, members=frozenset({"b", "c"}) if i % 2 else frozenset())
        for i, r in enumerate(first)
    ]
    writes = [Change(sessions=[SessionWrite(r, 1, first[i])]) for i, r in enumerate(later)]
    writes[3] = Change(sessions=[SessionWrite(replace(later[3], version=6), 5, first[3])])  # decided on v5
    results = await asyncio.gather(*(store.commit(c) for c in writes), return_exceptions=True)
    assert isinstance(results[3], ConcurrentUpdate)
    assert all(isinstance(r, int) for i, r in enumerate(results) if i != 3)
    for i, r in enumerate(later):
        got = await store.get_session(r.id)
        assert got == (first[3] if i == 3 else r)
    assert await store.agent_loads() == {}  # no load members
    assert {s.id for s in await store.list_member_sessions("c")} == {"G1", "G5", "G7", "G9"}  # G3 failed
    assert {s.id for s in await store.list_member_sessions("a")} == {"G3"}
    # two writes of one session in one transaction: the second decided on the first's version
    third = replace(later[0], version=3, members=frozenset({"d"}))
    await store.commit(
        Change(
            sessions=[SessionWrite(replace(later[0], version=3), 2, later[0]), SessionWrite(third, 3, None)]
        )
    )
    assert [s.id for s in await store.list_member_sessions("d")] == ["G0"]
    with pytest.raises(ConcurrentUpdate):  # or decided on another one: fails whole
        await store.commit(
            Change(sessions=[SessionWrite(replace(third, version=4), 3, third), SessionWrite(third, 3, None)])
        )
    assert await store.get_session("G0") == third


async def test_idle_times_and_agent_rows_written_together_keep_their_order(store: SqlStore) -> None:
    """On PostgreSQL a group's idle times wait for its end: a full agent row written after one still wins,
    one written before it does not (as statement by statement)."""
    for uid in ("x", "y"):
        await store.commit(Change(agents=[AgentState(uid, ChannelState.READY, None, 1, 1)]))
    results = await asyncio.gather(
        store.commit(Change(agents_idle=[("y", 5)])),
        store.commit(Change(agents_idle=[("x", 100), ("y", 100)])),
        store.commit(Change(agents=[AgentState("x", ChannelState.READY, None, 2, 50)])),
        store.commit(
            Change(agents=[AgentState("y", ChannelState.READY, None, 2, 60)], agents_idle=[("y", 70)])
        ),
    )
    assert all(isinstance(r, int) for r in results)
    x, y = await store.get_agent("x"), await store.get_agent("y")
    assert x is not None and x.idle_since_ms == 50
    assert y is not None and y.idle_since_ms == 70


async def test_agent_loads_count_only_load_members(store: SqlStore) -> None:
    change = Change(
        sessions=[
            SessionWrite(record("A", customer="+1", members=frozenset({"ag", "sup"})), None),
            SessionWrite(record("B", customer="+2", members=frozenset({"ag", "ag2"})), None),
        ]
    )
    change.sessions = [
        SessionWrite(replace(change.sessions[0].record, load_members=frozenset({"ag"})), None),
        SessionWrite(replace(change.sessions[1].record, load_members=frozenset({"ag", "ag2"})), None),
    ]
    await store.commit(change)
    assert await store.agent_loads() == {"ag": 2, "ag2": 1}
    got = await store.get_session("A")
    assert got is not None and got.members == {"ag", "sup"} and got.load_members == {"ag"}


async def test_latest_session_between_two_numbers(store: SqlStore) -> None:
    old = replace(record("OLD", is_open=False), created_ms=1)
    new = replace(record("NEW"), created_ms=9)
    await store.commit(Change(sessions=[SessionWrite(old, None), SessionWrite(new, None)]))
    assert (await store.latest_session("+15551230001", "+15550000000")).id == "NEW"  # type: ignore[union-attr]
    assert await store.latest_session("+1", "+2") is None


async def test_session_insert_update_with_version_check(store: SqlStore) -> None:
    r = record(members=frozenset({"u1", "u2"}))
    await store.commit(Change(sessions=[SessionWrite(r, None)]))
    got = await store.get_session("S1")
    assert got == r
    r2 = replace(r, version=2, members=frozenset({"u2"}), data={"k": 2})
    await store.commit(Change(sessions=[SessionWrite(r2, 1)]))
    assert await store.get_session("S1") == r2
    with pytest.raises(ConcurrentUpdate):
        await store.commit(Change(sessions=[SessionWrite(replace(r, version=3), 1)]))
    assert [s.id for s in await store.list_member_sessions("u2")] == ["S1"]
    assert await store.list_member_sessions("u1") == []
    assert await store.get_session("nope") is None


async def test_only_one_open_session_per_customer_and_number(store: SqlStore) -> None:
    await store.commit(Change(sessions=[SessionWrite(record("S1"), None)]))
    with pytest.raises(ConcurrentUpdate):
        await store.commit(Change(sessions=[SessionWrite(record("S2"), None)]))
    assert (await store.find_open_session("+15551230001", "+15550000000")).id == "S1"  # type: ignore[union-attr]
    closed = replace(record("S1"), version=2, is_open=False)
    await store.commit(Change(sessions=[SessionWrite(closed, 1)]))
    assert await store.find_open_session("+15551230001", "+15550000000") is None
    await store.commit(Change(sessions=[SessionWrite(record("S2"), None)]))
    assert (await store.find_open_session("+15551230001", "+15550000000")).id == "S2"  # type: ignore[union-attr]


async def test_waiting_sessions_in_queue_order(store: SqlStore) -> None:
    change = Change(
        sessions=[
            SessionWrite(record("A", waiting=True, queued_ms=30, customer="+1"), None),
            SessionWrite(record("B", waiting=True, queued_ms=10, customer="+2"), None),
            SessionWrite(record("C", waiting=False, customer="+3"), None),
        ]
    )
    await store.commit(change)
    assert [s.id for s in await store.list_waiting_sessions()] == ["B", "A"]
    assert [s.id for s in await store.list_waiting_sessions(limit=1)] == ["B"]


async def test_due_sessions_by_deadline(store: SqlStore) -> None:
    change = Change(
        sessions=[
            SessionWrite(replace(record("A", customer="+1"), deadline_ms=500), None),
            SessionWrite(replace(record("B", customer="+2"), deadline_ms=100), None),
            SessionWrite(record("C", customer="+3"), None),
        ]
    )
    await store.commit(change)
    assert [s.id for s in await store.list_due_sessions(1000)] == ["B", "A"]
    assert [s.id for s in await store.list_due_sessions(200)] == ["B"]
    assert (await store.get_session("B")).deadline_ms == 100  # type: ignore[union-attr]


async def test_messages_append_update_and_slice(store: SqlStore) -> None:
    msgs = [("S1", {"index": i, "type": "Text", "text": f"m{i}"}) for i in range(1, 6)]
    await store.commit(Change(messages=msgs))
    await store.commit(
        Change(message_updates=[("S1", {"index": 2, "type": "Text", "text": "m2", "status": "sent"})])
    )
    assert [m["index"] for m in await store.read_messages("S1")] == [1, 2, 3, 4, 5]
    assert [m["index"] for m in await store.read_messages("S1", 3, 2)] == [3, 4]
    assert (await store.read_messages("S1", 2, 1))[0]["status"] == "sent"
    assert await store.read_messages("other") == []


async def test_events_are_monotonic_and_filtered_by_user(store: SqlStore) -> None:
    assert await store.last_event_id() == 0
    last = await store.commit(
        Change(
            notifications=[
                Notification("u1", "/v2/me/channels", {"n": 1}),
                Notification("u2", "/v2/me/channels", {"n": 2}),
            ]
        )
    )
    last2 = await store.commit(Change(notifications=[Notification("u1", "/v2/me/smssessions", {"n": 3})]))
    assert last2 > last > 0
    assert await store.last_event_id() == last2
    got = await store.read_events(["u1"], 0, 10)
    assert [e.data["n"] for e in got] == [1, 3]
    assert [e.channel for e in got] == ["/v2/me/channels", "/v2/me/smssessions"]
    assert [e.data["n"] for e in await store.read_events(["u1", "u2"], got[0].id, 10)] == [2, 3]
    assert len(await store.read_events(["u1", "u2"], 0, 2)) == 2
    assert await store.read_events([], 0, 10) == []
    everyone = await store.read_all_events(0, 10)
    assert [e.data["n"] for e in everyone] == [1, 2, 3]
    assert [e.data["n"] for e in await store.read_all_events(everyone[0].id, 1)] == [2]
    assert await store.commit(Change(audit=[AuditEntry("a", "x", None, {}, 1)])) == 0


async def test_a_failed_commit_writes_nothing(store: SqlStore) -> None:
    await store.commit(Change(inbound_keys=[("sim", "m1", "S1")]))
    change = Change(
        sessions=[SessionWrite(record("S9"), None)],
        messages=[("S9", {"index": 1})],
        notifications=[Notification("u1", "/v2/me/smssessions", {})],
        outbound=[NewOutbound("sim", "+1", "+2", "hi", "S9", 1)],
        inbound_keys=[("sim", "m1", "S9")],
    )
    with pytest.raises(AlreadyExists):
        await store.commit(change)
    assert await store.get_session("S9") is None
    assert await store.read_messages("S9") == []
    assert await store.last_event_id() == 0
    assert await store.claim_outbound(10**13, 1000, 10) == []
    assert await store.get_inbound("sim", "m1") == ("S1",)
    assert await store.get_inbound("sim", "m2") is None


async def test_media_bytes_round_trip_with_their_message_and_go_with_the_session(store: SqlStore) -> None:
    picture = bytes(range(256)) * 40  # every byte value: stored as bytes, not text
    await store.commit(
        Change(
            sessions=[SessionWrite(record("S1", is_open=False), None)],
            messages=[("S1", {"index": 1, "type": "Text", "text": "", "media": [{"id": "m1"}]})],
            media=[MediaRow("m1", "S1", "image/png", picture, 7)],
        )
    )
    assert await store.get_media("m1") == MediaRow("m1", "S1", "image/png", picture, 7)
    assert await store.get_media("m2") is None
    with pytest.raises(AlreadyExists):  # a failed commit writes no media either
        await store.commit(
            Change(
                inbound_keys=[("sim", "x", "S1"), ("sim", "x", "S1")],
                media=[MediaRow("m2", "S1", "image/png", b"x", 8)],
            )
        )
    assert await store.get_media("m2") is None
    assert await erase_customer_batch(store, "+15551230001", 10) == Purged(sessions=1)
    assert await store.get_media("m1") is None


async def test_outbox_rows_carry_a_push_urls_media_url(store: SqlStore) -> None:
    url = "https://example.com/p.png"
    await store.commit(Change(outbound=[NewOutbound("twilio", "+1", "+2", url, "S1", 3, media_url=url)]))
    (row,) = await store.claim_outbound(10**13, 1000, 10)
    assert (row.text, row.media_url) == (url, url)
    assert (await store.get_outbound(row.id)) == row


async def test_opt_outs(store: SqlStore) -> None:
    assert await store.is_opted_out("+15551230001") is False
    await store.commit(Change(opt_outs=[("+15551230001", True)]))
    assert await store.is_opted_out("+15551230001") is True
    await store.commit(Change(opt_outs=[("+15551230001", False)]))
    assert await store.is_opted_out("+15551230001") is False


async def test_outbox_claim_lease_retry_and_final_states(store: SqlStore) -> None:
    await store.commit(Change(outbound=[NewOutbound("sim", "+1", "+2", f"t{i}", "S1", i) for i in range(3)]))
    first = await store.claim_outbound(1000, 500, 2)
    assert [o.text for o in first] == ["t0", "t1"] and all(o.attempts == 1 for o in first)
    assert [o.text for o in await store.claim_outbound(1000, 500, 10)] == ["t2"]
    assert await store.claim_outbound(1200, 500, 10) == []  # leased
    await store.mark_outbound_sent(first[0].id, "SM1", 1300)
    await store.mark_outbound_retry(first[1].id, 5000, "busy")
    again = await store.claim_outbound(2000, 500, 10)
    assert [o.text for o in again] == ["t2"]  # lease expired; t1 waits for its retry time
    await store.mark_outbound_sent(again[0].id, "SM2", 2100)
    retry = await store.claim_outbound(5000, 500, 10)
    assert [(o.text, o.attempts, o.error) for o in retry] == [("t1", 2, "busy")]
    await store.mark_outbound_failed(retry[0].id, "rejected")
    assert (await store.get_outbound(retry[0].id)).status == "failed"  # type: ignore[union-attr]
    sent = await store.find_outbound_by_provider_id("sim", "SM1")
    assert sent is not None and sent.status == "sent" and sent.text == "t0"
    assert await store.find_outbound_by_provider_id("sim", "nope") is None


async def test_a_change_marks_outbox_rows_sent_with_what_else_it_writes(store: SqlStore) -> None:
    await store.commit(Change(outbound=[NewOutbound("sim", "+1", "+2", "t0", "S1", 1)]))
    (row,) = await store.claim_outbound(1000, 500, 10)
    await store.commit(Change(outbound_sent=[(row.id, "SM9")], opt_outs=[("+2", False)]))
    sent = await store.find_outbound_by_provider_id("sim", "SM9")
    assert sent is not None and sent.id == row.id and sent.status == "sent"
    assert await store.claim_outbound(10**13, 500, 10) == []  # never sent again
    failing = Change(outbound_sent=[(row.id, "SM10")], inbound_keys=[("sim", "dup", None)] * 2)
    with pytest.raises(AlreadyExists):  # all or nothing
        await store.commit(failing)
    assert (await store.get_outbound(row.id)).provider_message_id == "SM9"  # type: ignore[union-attr]


async def test_concurrent_claims_never_hand_out_a_row_twice(store: SqlStore) -> None:
    await store.commit(Change(outbound=[NewOutbound("sim", "+1", "+2", f"t{i}") for i in range(20)]))
    batches = await asyncio.gather(*(store.claim_outbound(1000, 10_000, 5) for _ in range(6)))
    ids = [o.id for b in batches for o in b]
    assert len(ids) == len(set(ids)) == 20


async def test_stale_changes_in_one_burst_fail_alone_and_the_rest_commits(store: SqlStore) -> None:
    """Writes arriving together (one PostgreSQL group: their claims checked at once) with stale versions and
    referenceIds among them: each stale one fails with its own error, every other one commits, in order."""

    def rec(sid: str, **kw: Any) -> SessionRecord:
        return record(sid, customer=f"+1555000{sid[1:]}", **kw)

    a, b = user("agent1"), user("agent2")
    await store.add_user(a)
    await store.add_user(b)
    await store.commit(Change(sessions=[SessionWrite(rec("S1"), None), SessionWrite(rec("S2"), None)]))
    await store.commit(Change(references=[(a.id, 1)]))
    changes = [
        Change(sessions=[SessionWrite(rec("S1", version=2), 1)], references=[(a.id, 2)]),
        Change(sessions=[SessionWrite(rec("S1", version=2, data={"late": 1}), 1)]),  # stale now
        Change(references=[(a.id, 2)]),  # taken by the first
        Change(sessions=[SessionWrite(rec("S1", version=3), 2)], references=[(a.id, 3)]),
        Change(sessions=[SessionWrite(rec("S3"), None), SessionWrite(rec("S2", version=2), 1)]),
        Change(sessions=[SessionWrite(rec("S3", version=2), 1)], references=[(b.id, 1)]),
        Change(references=[(b.id, 5)]),
    ]
    results = await asyncio.gather(*(store.commit(c) for c in changes), return_exceptions=True)
    assert [type(r).__name__ for r in results] == [
        "int",
        "ConcurrentUpdate",
        "ReferenceTaken",
        "int",
        "int",
        "int",
        "ReferenceTaken",
    ]
    assert (results[2].actual, results[6].actual) == (3, 2)  # type: ignore[union-attr]
    assert [(await store.get_session(s)).version for s in ("S1", "S2", "S3")] == [3, 2, 2]  # type: ignore[union-attr]
    await store.commit(Change(references=[(a.id, 4), (b.id, 2)]))


async def test_concurrent_updates_of_one_session_one_wins(store: SqlStore) -> None:
    await store.commit(Change(sessions=[SessionWrite(record(), None)]))
    results = await asyncio.gather(
        *(
            store.commit(Change(sessions=[SessionWrite(replace(record(), version=2, data={"w": i}), 1)]))
            for i in range(4)
        ),
        return_exceptions=True,
    )
    assert sum(1 for r in results if isinstance(r, ConcurrentUpdate)) == 3
    assert (await store.get_session("S1")).version == 2  # type: ignore[union-attr]


async def test_subscriptions_and_audit(store: SqlStore) -> None:
    await store.commit(
        Change(
            subscriptions_put=[
                SubscriptionRow("sup1", "ag1", {"mode": "Monitor"}),
                SubscriptionRow("sup2", "ag1", {"mode": "Coach"}),
                SubscriptionRow("sup1", "ag2", {"mode": "BargeIn"}),
            ],
            audit=[AuditEntry("sup1", "Monitor", "ag1", {"mode": "Monitor"}, 10)],
        )
    )
    await store.commit(
        Change(
            subscriptions_put=[SubscriptionRow("sup1", "ag1", {"mode": "Coach"})],
            audit=[AuditEntry("sup1", "Coach", "ag1", {}, 11)],
        )
    )
    assert [(s.supervisor_id, s.data["mode"]) for s in await store.list_subscriptions(agent_id="ag1")] == [
        ("sup1", "Coach"),
        ("sup2", "Coach"),
    ]
    assert [s.agent_id for s in await store.list_subscriptions(supervisor_id="sup1")] == ["ag1", "ag2"]
    await store.commit(Change(subscriptions_delete=[("sup1", "ag1")]))
    assert [s.agent_id for s in await store.list_subscriptions(supervisor_id="sup1")] == ["ag2"]
    audit = await store.list_audit()
    assert [a.action for a in audit] == ["Coach", "Monitor"]
    assert [a.action for a in await store.list_audit(before_id=audit[0].id)] == ["Monitor"]


async def test_outbox_audit_and_message_updates_committed_together(store: SqlStore) -> None:
    """On PostgreSQL a group inserts its outbox rows and audit entries and applies its message updates in one
    statement each at its end: the outbox keeps the changes' order, a message written and updated in one
    group shows the update."""
    await store.commit(Change(messages=[("M", {"index": 1, "text": "a"})]))
    changes = [
        Change(
            outbound=[NewOutbound("simulator", "+1", "+2", f"o{i}.{j}") for j in range(2)],
            audit=[AuditEntry(f"sup{i}", "Monitor", "ag", {"i": i}, i)],
            messages=[("M", {"index": i + 2, "text": f"m{i}"})],
            message_updates=[("M", {"index": i + 1, "text": f"m{i - 1}!" if i else "a!"})],
        )
        for i in range(8)
    ]
    assert all(isinstance(r, int) for r in await asyncio.gather(*(store.commit(c) for c in changes)))
    claimed = await store.claim_outbound(10**13, 1000, 100)
    assert [o.text for o in claimed] == [f"o{i}.{j}" for i in range(8) for j in range(2)]
    assert sorted(a.actor_id for a in await store.list_audit()) == [f"sup{i}" for i in range(8)]
    texts = [m["text"] for m in await store.read_messages("M")]
    assert texts == ["a!", *(f"m{i}!" for i in range(7)), "m7"]


async def test_leases_one_holder_at_a_time(store: SqlStore) -> None:
    assert await store.acquire_lease("router", "node-a", 1000, 5000) is True
    assert await store.acquire_lease("router", "node-b", 2000, 5000) is False
    assert await store.acquire_lease("router", "node-a", 3000, 5000) is True  # renewal
    assert await store.acquire_lease("router", "node-b", 7999, 5000) is False
    assert await store.acquire_lease("router", "node-b", 8000, 5000) is True  # expired: taken over
    assert await store.acquire_lease("other", "node-a", 8000, 5000) is True
    results = await asyncio.gather(*(store.acquire_lease("race", f"n{i}", 0, 5000) for i in range(5)))
    assert sum(results) == 1


async def test_presence_rows_keep_the_latest_sighting_per_user_across_nodes(store: SqlStore) -> None:
    assert await store.presence_last_seen() == {}
    await store.beat_presence("node-a", {"u1", "u2"}, 1000)
    await store.beat_presence("node-b", {"u1"}, 1500)
    await store.beat_presence("node-a", {"u1"}, 2000)  # u2's client on node-a is gone: its row stays at 1000
    await store.beat_presence("node-a", set(), 9999)  # nothing to write
    assert await store.presence_last_seen() == {"u1": 2000, "u2": 1000}
    assert await store.prune_presence(1600) == 2  # node-a's u2 and node-b's u1
    assert await store.presence_last_seen() == {"u1": 2000}


async def test_skills_are_set_replaced_and_removed(store: SqlStore) -> None:
    assert await store.list_skills() == {}
    await store.set_skill("u1", "billing", 3)
    await store.set_skill("u1", "spanish", 5)
    await store.set_skill("u2", "billing", 1)
    await store.set_skill("u1", "billing", 4)  # replaced
    assert await store.list_skills() == {"u1": {"billing": 4, "spanish": 5}, "u2": {"billing": 1}}
    assert await store.list_skills("u2") == {"u2": {"billing": 1}}
    assert await store.list_skills("nobody") == {}
    assert await store.delete_skill("u1", "spanish") is True
    assert await store.delete_skill("u1", "spanish") is False
    await store.delete_user_skills("u1")
    assert await store.list_skills() == {"u2": {"billing": 1}}


async def test_standard_responses_are_added_listed_replaced_and_deleted(store: SqlStore) -> None:
    from smsdesk.domain.responses import StandardResponse

    assert await store.list_responses() == []
    hello = StandardResponse("r1", "Hello", "greetings", "Hi {customerNumber}, I am {agentNickname}", 1000)
    bye = StandardResponse("r2", "Bye", "closing", "Thanks, goodbye", 1001)
    await store.add_response(hello)
    await store.add_response(bye)
    assert await store.list_responses() == [bye, hello]  # by category, then name
    assert await store.get_response("r1") == hello
    assert await store.get_response("nope") is None
    changed = replace(hello, text="Hello again", updated_ms=2000)
    assert await store.update_response(changed) is True
    assert await store.get_response("r1") == changed
    assert await store.update_response(replace(hello, id="nope")) is False
    assert await store.delete_response("r2") is True
    assert await store.delete_response("r2") is False
    assert await store.list_responses() == [changed]


async def test_contact_notes_are_kept_per_customer_number_oldest_first(store: SqlStore) -> None:
    from smsdesk.domain.notes import ContactNote

    assert await store.list_notes("+15550001") == []
    second = ContactNote("n2", "+15550001", "u2", "bob", "called back", 2000)
    first = ContactNote("n1", "+15550001", "u1", "alice", "prefers mornings", 1000)
    other = ContactNote("n3", "+15550002", "u1", "alice", "another customer", 1500)
    for note in (second, first, other):
        await store.add_note(note)
    assert await store.list_notes("+15550001") == [first, second]
    assert await store.list_notes("+15550002") == [other]


async def test_json_reads_back_across_encoders(store: SqlStore) -> None:
    """Rows written by SQLAlchemy's JSON type (the stdlib encoder) read back, and ours read back through it."""
    from sqlalchemy import insert, select

    from smsdesk.store import tables as t

    data: dict[str, object] = {
        "text": "café ✓ \u2028",
        "n": [1, 2.5, -3, None, True],
        "deep": {"a": {"b": []}},
    }
    old = record("OLD", customer="+1", members=frozenset({"u1"}), data=data)

    def write_old(conn: Connection) -> None:
        values = {c.name: getattr(old, c.name, None) for c in t.sms_sessions.c}  # milestones: none
        conn.execute(insert(t.sms_sessions).values(values))
        conn.execute(insert(t.session_members).values(session_id="OLD", user_id="u1", counts=False))

    await store.run_write(write_old)
    assert await store.get_session("OLD") == old
    new = record("NEW", customer="+2", data=data)
    await store.commit(Change(sessions=[SessionWrite(new, None)], messages=[("NEW", {"index": 1, **data})]))

    def read_back(conn: Connection) -> list[object]:
        c = t.sms_sessions.c
        return [
            conn.execute(select(c.data).where(c.id == "NEW")).scalar_one(),
            conn.execute(select(t.messages.c.data)).scalar_one(),
        ]

    assert await store.run_write(read_back) == [data, {"index": 1, **data}]
    assert await store.read_messages("NEW") == [{"index": 1, **data}]


async def test_event_data_reads_back_as_data_and_as_wire_ready_json(store: SqlStore) -> None:
    """An event's JSON text, when the store hands it over (``StoredEvent.json``), is strict JSON of the same
    data, whichever encoder wrote the row; a row the stdlib wrote with ``NaN`` is handed over decoded."""
    import math

    import orjson
    from sqlalchemy import insert

    from smsdesk.store import tables as t

    data: dict[str, object] = {"text": 'café ✓ \u2028 "q"', "n": [1, 2.5, -3, None, True], "deep": {"a": []}}
    await store.commit(Change(notifications=[Notification("u1", "/v2/me/channels", data)]))
    rows: list[dict[str, object]] = [{"user_id": "u1", "channel": "/v2/old", "data": data, "created_ms": 1}]
    if store.dialect == "sqlite":  # PostgreSQL's json type refuses NaN
        rows.append(
            {"user_id": "u1", "channel": "/v2/nan", "data": {"x": math.nan, "big": 2**70}, "created_ms": 1}
        )

    def write_old(conn: Connection) -> None:  # SQLAlchemy's JSON type: the stdlib encoder
        for row in rows:
            conn.execute(insert(t.events).values(row))

    await store.run_write(write_old)
    events = await store.read_all_events(0, 10)
    assert [e.data for e in events[:2]] == [data, data]
    for event in events:
        if event.json is not None:
            assert orjson.loads(event.json) == event.data
    if store.dialect == "sqlite":
        assert events[0].json is not None  # ours: handed over as stored
        nan = events[2]
        assert nan.json is None and math.isnan(nan.data["x"]) and nan.data["big"] == 2**70


async def test_session_members_join_leave_and_change_load(store: SqlStore) -> None:
    r = replace(record(members=frozenset({"ag", "sup"})), load_members=frozenset({"ag"}))
    await store.commit(Change(sessions=[SessionWrite(r, None)]))
    steps = [
        (frozenset({"ag", "sup"}), frozenset({"ag"})),  # unchanged
        (frozenset({"ag", "sup"}), frozenset()),  # the agent's load no longer counts it
        (frozenset({"ag", "ag2"}), frozenset({"ag", "ag2"})),  # sup leaves, ag2 joins, both count
        (frozenset(), frozenset()),  # everyone leaves
        (frozenset({"sup"}), frozenset()),
    ]
    for version, (members, load) in enumerate(steps, start=2):
        r2 = replace(r, version=version, members=members, load_members=load)
        await store.commit(Change(sessions=[SessionWrite(r2, version - 1)]))
        got = await store.get_session("S1")
        assert got is not None and got.members == members and got.load_members == load
        assert await store.agent_loads() == {u: 1 for u in load}
    assert [s.id for s in await store.list_member_sessions("sup")] == ["S1"]
    assert await store.list_member_sessions("ag") == []

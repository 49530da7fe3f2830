"""The history search and the statistics' reads as contracts: the same answers on SQLite (FTS5) and
PostgreSQL (full-text search), from what ``Store.commit`` wrote."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from smsdesk.store.base import Change, Milestones, SessionRecord, SessionWrite
from smsdesk.store.history import SessionSearch, index_messages, search_sessions, search_words
from smsdesk.store.sql import SqlStore
from smsdesk.store.statistics import read_live, read_minutes

MIN = 60_000
T0 = 1_700_000_040_000 - 1_700_000_040_000 % MIN


def rec(
    sid: str,
    customer: str,
    created: int,
    *,
    queue: str = "default",
    agent: str | None = "a1",
    parties: str | None = ",a1,",
    is_open: bool = False,
    milestones: dict[str, Any] | None = None,
) -> SessionRecord:
    m = Milestones(agent_id=agent, parties=parties, **(milestones or {}))
    return SessionRecord(
        id=sid,
        version=1,
        is_open=is_open,
        waiting=False,
        queue=queue,
        customer=customer,
        business="+15550000000",
        created_ms=created,
        updated_ms=created,
        queued_ms=created,
        data={"id": sid},
        milestones=m,
    )


def text(index: int, words: str, visibility: str = "All") -> dict[str, Any]:
    return {"index": index, "type": "Text", "text": words, "visibility": visibility, "from": {}}


async def put(store: SqlStore, r: SessionRecord, *texts: dict[str, Any]) -> None:
    await store.commit(Change(sessions=[SessionWrite(r, None)], messages=[(r.id, t) for t in texts]))


async def ids(store: SqlStore, **kw: Any) -> list[str]:
    await index_messages(store)  # SQLite indexes in batches, off the write path
    found, _ = await search_sessions(store, SessionSearch(**kw))
    return [r.id for r in found]


async def seed(store: SqlStore) -> None:
    await put(store, rec("A", "+15551230001", T0), text(1, "My parcel is LATE"), text(2, "Sorry about that"))
    await put(store, rec("B", "+15551230001", T0 + MIN, agent="a2", parties=",a2,s1,"), text(1, "parcel ok"))
    await put(store, rec("C", "+15551230002", T0 + 2 * MIN, queue="sales"), text(1, "late fee?"))
    # a coaching whisper is not part of the conversation with the customer
    await put(store, rec("D", "+15551230003", T0 + 3 * MIN), text(1, "refund", "Agents"))


async def test_filters_and_order(store: SqlStore) -> None:
    await seed(store)
    assert await ids(store) == ["D", "C", "B", "A"]  # newest first
    assert await ids(store, customer="+15551230001") == ["B", "A"]
    assert await ids(store, customer="+15551230001", from_ms=T0 + MIN) == ["B"]
    assert await ids(store, to_ms=T0 + MIN) == ["A"]
    assert await ids(store, queue="sales") == ["C"]
    assert await ids(store, agent_id="a2") == ["B"]


async def test_full_text_is_whole_words_any_case_all_of_them(store: SqlStore) -> None:
    await seed(store)
    assert await ids(store, words=("parcel",)) == ["B", "A"]
    assert await ids(store, words=("parcel", "late")) == ["A"]
    assert await ids(store, words=("late",)) == ["C", "A"]
    assert await ids(store, words=("par",)) == []  # whole words
    assert await ids(store, words=("refund",)) == []  # not a text the customer saw
    assert await ids(store, words=("parcel",), customer="+15551230002") == []
    assert await ids(store, words=tuple(search_words("LATE, 'fee'?"))) == ["C"]


async def test_an_agents_search_is_theirs_or_their_current_customers(store: SqlStore) -> None:
    await seed(store)
    assert await ids(store, party="a2") == ["B"]
    assert await ids(store, party="s1") == ["B"]
    assert await ids(store, party="a2", customers=("+15551230001",)) == ["B", "A"]


async def test_paging(store: SqlStore) -> None:
    await seed(store)
    first, more = await search_sessions(store, SessionSearch(limit=3))
    assert [r.id for r in first] == ["D", "C", "B"] and more
    rest, more = await search_sessions(store, SessionSearch(limit=3, offset=3))
    assert [r.id for r in rest] == ["A"] and not more


async def test_a_receipt_keeps_the_text_searchable_and_an_edit_follows(store: SqlStore) -> None:
    await seed(store)
    receipt = {**text(1, "My parcel is LATE"), "status": "delivered"}
    await store.commit(Change(message_updates=[("A", receipt)]))
    assert await ids(store, words=("parcel", "late")) == ["A"]
    await store.commit(Change(message_updates=[("A", text(1, "all good"))]))
    assert await ids(store, words=("late",)) == ["C"]
    assert await ids(store, words=("good",)) == ["A"]


async def test_the_statistics_minutes_and_live_reads(store: SqlStore) -> None:
    ms = {"offered_ms": T0, "accepted_ms": T0 + 30_000, "ended_ms": T0 + MIN + 5_000}
    await put(
        store, rec("A", "+1", T0, milestones={**ms, "first_reply_ms": T0 + 40_000, "reply_wait_ms": 9000})
    )
    late = {"offered_ms": T0, "accepted_ms": T0 + 90_000}
    await put(store, rec("B", "+2", T0, milestones=late))
    gone = {"offered_ms": T0 + MIN, "ended_ms": T0 + MIN + 1000}
    await put(store, rec("C", "+3", T0 + MIN, milestones=gone, agent=None))
    waiting = replace(rec("W", "+4", T0, is_open=True, milestones={"offered_ms": T0}), waiting=True)
    await put(store, waiting)
    rows = await read_minutes(store, T0)
    q0, q1 = rows.queues[T0]["default"], rows.queues[T0 + MIN]["default"]
    assert (q0.offered, q0.accepted, q0.accepted_in_sl, q0.wait_ms) == (3, 1, 1, 30_000)
    assert (q0.replies, q0.reply_wait_ms) == (1, 9000)
    assert (q1.offered, q1.accepted, q1.wait_ms, q1.completed, q1.handle_ms, q1.abandoned) == (
        1,
        1,
        90_000,
        1,
        35_000,
        1,
    )
    ended = T0 + MIN + 5000
    quarter = ended - ended % 900_000
    assert (rows.agents[quarter]["a1"].handled, rows.agents[quarter]["a1"].handle_ms) == (1, 35_000)
    assert T0 + MIN not in (await read_minutes(store, T0, T0 + MIN)).queues
    live = await read_live(store)
    assert (live["default"].waiting, live["default"].oldest_queued_ms) == (1, T0)


async def test_purge_and_erase_batches(store: SqlStore) -> None:
    from smsdesk.domain.events import Notification
    from smsdesk.store.retention import erase_customer_batch, purge_events_batch, purge_sessions_batch

    await seed(store)  # A, B (+15551230001), C, D: closed, ended at None (legacy: updated_ms = created)
    ended = rec("E", "+15551230004", T0, milestones={"ended_ms": T0 + 5 * MIN})
    await put(store, ended, text(1, "ended later"))
    note = Notification("u1", "/v2/me/smssessions", {"userData": {"CustomerNumber": "+15551230001"}})
    await store.commit(Change(notifications=[note, Notification("u1", "/x", {"k": 1})]))
    assert await purge_sessions_batch(store, T0 + MIN + 1, 1) == 1  # A (B was at T0 + MIN)
    assert await purge_sessions_batch(store, T0 + MIN + 1, 5) == 1  # B; E ended after the cutoff
    assert await ids(store) == ["D", "C", "E"]
    assert await ids(store, words=("parcel",)) == []
    assert await store.read_messages("A") == []
    erased = await erase_customer_batch(store, "+15551230002", 10)
    assert erased.sessions == 1 and await ids(store) == ["D", "E"]
    named = await erase_customer_batch(store, "+15551230001", 10)
    assert (named.sessions, named.events) == (0, 1)
    assert [e.channel for e in await store.read_all_events(0, 10)] == ["/x"]
    assert await purge_events_batch(store, 2**62, 10) == 1


async def test_messages_deleted_or_changed_before_indexing_leave_the_index_sound(store: SqlStore) -> None:
    from sqlalchemy import text as sql

    from smsdesk.store.retention import erase_customer_batch

    await put(store, rec("A", "+15551230001", T0), text(1, "early words"))
    await ids(store)  # indexed
    await put(store, rec("B", "+15551230002", T0 + MIN), text(1, "fresh words"))  # not yet
    await store.commit(Change(message_updates=[("B", text(1, "edited words"))]))
    await erase_customer_batch(store, "+15551230002", 10)  # gone before the indexer saw it
    assert await ids(store, words=("words",)) == ["A"]
    assert await ids(store, words=("fresh",)) == [] and await ids(store, words=("edited",)) == []
    if store.dialect == "sqlite":
        await store.run_write(
            lambda c: c.execute(sql("INSERT INTO messages_fts(messages_fts) VALUES ('integrity-check')"))
        )

"""The per-node session cache: newest version wins, closed sessions apart, bounded; transcripts follow commits."""

from __future__ import annotations

from dataclasses import replace

from smsdesk.actions.session_cache import CachedSession, SessionCache, apply_messages, cache_hints
from smsdesk.bus.messages import EventsAdvanced
from smsdesk.domain.outcome import Context, random_participant_id, random_session_id
from smsdesk.domain.system import open_session
from smsdesk.store.base import SessionRecord

CTX = Context("http://x", random_participant_id, random_session_id)


def entry(sid: str, version: int, *, is_open: bool = True) -> CachedSession:
    out = open_session(
        customer_number="+15551230001",
        business_number="+15550000000",
        queue="q",
        text="hi",
        now_ms=1,
        ctx=CTX,
    )
    rec = SessionRecord(sid, version, is_open, False, "q", "+1", "+2", 1, 1, 1, out.session.to_json())
    return CachedSession(rec, out.session, None)


def test_an_older_version_never_replaces_a_newer_one() -> None:
    cache = SessionCache()
    cache.put(entry("s", 3))
    cache.put(entry("s", 2))
    got = cache.get("s")
    assert got is not None and got.record.version == 3
    cache.put(entry("s", 4))
    got = cache.get("s")
    assert got is not None and got.record.version == 4


def test_open_sessions_are_bounded_least_recently_used_first_out() -> None:
    cache = SessionCache(max_entries=2, max_closed=0)
    cache.put(entry("a", 1))
    cache.put(entry("b", 1))
    assert cache.get("a") is not None  # "a" used: "b" is now the oldest
    cache.put(entry("c", 1))
    assert cache.get("b") is None and cache.get("a") is not None and cache.get("c") is not None


def test_ended_sessions_do_not_push_out_open_ones() -> None:
    cache = SessionCache(max_entries=2, max_closed=1)
    cache.put(entry("a", 1))
    cache.put(entry("b", 1))
    cache.put(entry("x", 1, is_open=False))
    cache.put(entry("y", 1, is_open=False))
    assert cache.get("a") is not None and cache.get("b") is not None
    assert cache.get("x") is None and cache.get("y") is not None
    cache.put(entry("a", 2, is_open=False))  # a session that ends moves to the ended ones
    assert len(cache) == 2 and cache.get("y") is None
    cache.drop("a")
    assert cache.get("a") is None


def test_apply_messages_appends_this_sessions_messages_and_replaces_updates_by_index() -> None:
    before = ({"index": 0, "text": "hi"}, {"index": 1, "text": "re"})
    after = apply_messages(
        before,
        "s",
        [("s", {"index": 2, "text": "new"}), ("other", {"index": 0, "text": "elsewhere"})],
        [("s", {"index": 1, "text": "re", "status": "delivered"})],
    )
    assert after == (
        {"index": 0, "text": "hi"},
        {"index": 1, "text": "re", "status": "delivered"},
        {"index": 2, "text": "new"},
    )
    assert apply_messages(before, "s", [], []) == before


def test_a_cached_entry_keeps_its_identity_for_the_engine() -> None:
    e = entry("s", 1)
    cache = SessionCache()
    cache.put(e)
    with_transcript = replace(e, transcript=({"index": 0},))
    cache.put(with_transcript)
    got = cache.get("s")
    assert got is not None and got.session is e.session and got.transcript == ({"index": 0},)


def test_a_version_written_elsewhere_drops_only_older_entries() -> None:
    cache = SessionCache()
    cache.put(entry("old", 2))
    cache.put(entry("same", 3))
    cache.put(entry("ended", 1, is_open=False))
    cache.written_elsewhere("old", 3)
    cache.written_elsewhere("same", 3)  # this process's own commit, heard back: kept
    cache.written_elsewhere("ended", 2)
    cache.written_elsewhere("unknown", 9)
    assert cache.get("old") is None and cache.get("ended") is None
    got = cache.get("same")
    assert got is not None and got.record.version == 3


async def test_the_bus_hint_of_another_process_commit_drops_the_stale_entries() -> None:
    cache = SessionCache()
    cache.put(entry("a", 1))
    cache.put(entry("b", 1))
    on_hint = cache_hints(cache)
    await on_hint(EventsAdvanced.of(10, ["u"], [("a", 2)]).to_wire())
    await on_hint(EventsAdvanced.of(11, ["u"]).to_wire())  # no sessions: nothing to drop
    await on_hint({"type": "events_advanced", "last_event_id": 12, "sessions": "bad"})  # ignored
    await on_hint({"type": "events_advanced", "last_event_id": 13, "sessions": [["b", "2"], ["b"], 5]})
    await on_hint({"type": "resync"})
    assert cache.get("a") is None
    assert cache.get("b") is not None

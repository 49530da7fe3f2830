"""Contract of the store's cluster tables (``store/cluster.py``), on SQLite and PostgreSQL."""

from __future__ import annotations

from smsdesk.store.base import Change, NewOutbound
from smsdesk.store.cluster import ClientRecord
from smsdesk.store.sql import SqlStore


def record(client_id: str = "c1", *, user: str = "u1", key: str = "k", seen: int = 1_000) -> ClientRecord:
    return ClientRecord(client_id, user, key, True, frozenset({"/a"}), 1, 5, 10, seen)


async def test_a_client_is_put_read_subscribed_and_positioned(store: SqlStore) -> None:
    assert await store.get_cometd_client("c1") is None
    await store.put_cometd_client(record())
    assert await store.get_cometd_client("c1") == record()
    assert await store.set_cometd_subscriptions("c1", frozenset({"/a", "/b/**"}), 1) is True
    assert await store.set_cometd_subscriptions("c1", frozenset(), 1) is False  # read at an older version
    got = await store.get_cometd_client("c1")
    assert got is not None and got.subscriptions == {"/a", "/b/**"} and got.version == 2
    await store.record_cometd_positions([("c1", 42, 2_000), ("nobody", 1, 1)])
    got = await store.get_cometd_client("c1")
    assert got is not None and (got.position, got.seen_ms, got.gone) == (42, 2_000, False)


async def test_the_client_to_resume_is_the_latest_gone_or_expired_one_of_the_user_and_key(
    store: SqlStore,
) -> None:
    await store.put_cometd_client(record("old", seen=1_000))
    await store.put_cometd_client(record("live", seen=9_000))
    await store.put_cometd_client(record("other-key", key="x", seen=1_500))
    await store.put_cometd_client(record("other-user", user="u2", seen=1_500))
    assert (await store.find_cometd_resume("u1", "k", 500)) is None  # nobody expired, nobody gone
    found = await store.find_cometd_resume("u1", "k", 5_000)
    assert found is not None and found.client_id == "old"
    await store.end_cometd_client("live")
    found = await store.find_cometd_resume("u1", "k", 500)
    assert found is not None and found.client_id == "live" and found.gone
    await store.record_cometd_positions([("live", 99, 9_500)])  # a gone client is not moved any more
    assert (await store.get_cometd_client("live")).position == 10  # type: ignore[union-attr]
    assert await store.set_cometd_subscriptions("live", frozenset(), 1) is False
    await store.end_cometd_clients_of("u2")
    assert (await store.get_cometd_client("other-user")).gone  # type: ignore[union-attr]
    await store.delete_cometd_client("live")
    assert await store.get_cometd_client("live") is None
    assert await store.purge_cometd_clients(1_200) == 1
    assert await store.get_cometd_client("old") is None


async def test_what_a_provider_sent_to_a_number(store: SqlStore) -> None:
    def out(to: str, text: str, provider: str = "simulator") -> NewOutbound:
        return NewOutbound(provider=provider, from_number="+15550000000", to_number=to, text=text)

    await store.commit(
        Change(
            outbound=[
                out("+1", "a"),
                out("+2", "b"),
                out("+1", "c"),
                out("+1", "d", "twilio"),
                out("+1", "e"),
            ]
        )
    )
    rows = await store.claim_outbound(now_ms=10**13, lease_ms=1_000, limit=10)
    for row in rows:
        if row.text != "e":  # "e" stays pending: not shown
            await store.mark_outbound_sent(row.id, f"P-{row.text}", 1)
    sent = await store.list_sent_to("simulator", "+1", 10)
    assert [(s.text, s.provider_message_id, s.to_number) for s in sent] == [
        ("a", "P-a", "+1"),
        ("c", "P-c", "+1"),
    ]
    assert [s.text for s in await store.list_sent_to("simulator", "+1", 1)] == [
        "c"
    ]  # the latest, oldest first

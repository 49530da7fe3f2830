"""Failed logins counted in the store (``store/login_failures.py``): a contract test, on SQLite and PostgreSQL."""

from __future__ import annotations

from smsdesk.store.login_failures import LoginFailures
from smsdesk.store.sql import SqlStore

WINDOW = 300_000


async def test_failures_count_per_key_within_a_window(store: SqlStore) -> None:
    f = LoginFailures(store)
    assert await f.current(["user:a", "addr:1"], 1_000, WINDOW) == {}
    for _ in range(3):
        await f.record(["user:a", "addr:1"], 1_000, WINDOW)
    await f.record(["user:b", "addr:1"], 2_000, WINDOW)
    assert await f.current(["user:a", "addr:1"], 2_000, WINDOW) == {
        "user:a": (3, WINDOW - 1_000),
        "addr:1": (4, WINDOW - 1_000),
    }
    assert await f.current(["user:b"], 2_000, WINDOW) == {"user:b": (1, WINDOW)}


async def test_a_window_ends_and_a_new_one_starts_counting_afresh(store: SqlStore) -> None:
    f = LoginFailures(store)
    await f.record(["user:a"], 0, WINDOW)
    await f.record(["user:a"], 1, WINDOW)
    assert await f.current(["user:a"], WINDOW, WINDOW) == {}  # ended
    await f.record(["user:a"], WINDOW + 5, WINDOW)
    assert await f.current(["user:a"], WINDOW + 5, WINDOW) == {"user:a": (1, WINDOW)}


async def test_clearing_a_key_leaves_the_others(store: SqlStore) -> None:
    f = LoginFailures(store)
    await f.record(["user:a", "addr:1"], 0, WINDOW)
    await f.clear("user:a")
    assert await f.current(["user:a", "addr:1"], 10, WINDOW) == {"addr:1": (1, WINDOW - 10)}

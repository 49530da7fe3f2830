"""referenceIds handed out from blocks (``actions/references.py``): unique per user across processes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from smsdesk.actions.references import ReferenceBlocks
from smsdesk.domain.errors import NotFound


class Counts:
    """The store's per-user count, as ``SqlStore.reserve_references`` keeps it."""

    def __init__(self, *users: str) -> None:
        self.count = dict.fromkeys(users, 0)
        self.calls = 0

    async def reserve_references(self, user_id: str, count: int) -> int | None:
        self.calls += 1
        await asyncio.sleep(0)  # another process may take a block meanwhile
        if user_id not in self.count:
            return None
        self.count[user_id] += count
        return self.count[user_id]


async def test_a_process_hands_out_its_block_in_order_and_takes_another_when_used_up() -> None:
    store = Counts("a", "b")
    blocks = ReferenceBlocks(store, block=3)
    assert [await blocks.take("a") for _ in range(4)] == [1, 2, 3, 4]
    assert await blocks.take("b") == 1
    assert store.calls == 3  # a: 1..3 and 4..6; b: 1..3


async def test_processes_never_hand_out_the_same_number_to_a_user() -> None:
    store = Counts("a")
    processes = [ReferenceBlocks(store, block=4) for _ in range(3)]

    async def requests(blocks: ReferenceBlocks) -> list[int]:
        return [await blocks.take("a") for _ in range(10)]

    taken = await asyncio.gather(*(requests(p) for p in processes))
    every = [n for numbers in taken for n in numbers]
    assert len(set(every)) == 30
    for numbers in taken:
        assert numbers == sorted(numbers)  # increasing within a process


async def test_an_unknown_user_is_not_found_and_a_block_holds_one_at_least() -> None:
    with pytest.raises(NotFound):
        await ReferenceBlocks(Counts()).take("ghost")
    with pytest.raises(ValueError):
        ReferenceBlocks(Counts(), block=0)


def test_a_worker_process_or_postgresql_takes_blocks_one_process_on_sqlite_guesses(tmp_path: Path) -> None:
    """Several processes answering one user (worker processes, nodes on PostgreSQL) take referenceIds in
    blocks; one process alone on SQLite keeps the exact count (docs/sessions.md, "referenceId")."""
    from smsdesk.app import Worker, build_app, build_runtime
    from smsdesk.config import Settings

    settings = Settings(database_url=f"sqlite:///{tmp_path / 'r.db'}")
    assert build_runtime(settings, fast_hash=True).reference_blocks is None
    alone = build_app(settings, fast_hash=True, background=False)
    assert alone.state.rt.reference_blocks is None
    worker = build_app(settings, fast_hash=True, background=False, worker=Worker(tmp_path, "w1"))
    assert isinstance(worker.state.rt.reference_blocks, ReferenceBlocks)

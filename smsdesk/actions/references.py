"""referenceIds handed out by this process from blocks it takes from the store (docs/sessions.md, "referenceId").

Used where several processes write one PostgreSQL database. Each process takes a user's referenceIds
``BLOCK`` at a time (``SqlStore.reserve_references``: one short statement, committed at once) and answers
that user's requests with them in order. The alternative, the user's next number checked and taken inside
the request's transaction, locked the user's row for the whole write group it joined: an agent working
several sessions, with requests on two workers at once, made the second worker's group wait for the first's
(750 lock waits in an 8 s benchmark step, sessions/s capped near 200). A number is unique per user for good
and increasing within a process; across processes they interleave, and a request refused after its number
was taken, or a process that stops, leaves gaps.
"""

from __future__ import annotations

from typing import Protocol

from smsdesk.domain.errors import NotFound

__all__ = ["ReferenceBlocks", "ReferenceSource"]


class ReferenceSource(Protocol):
    async def reserve_references(self, user_id: str, count: int) -> int | None: ...


class ReferenceBlocks:
    BLOCK = 32

    def __init__(self, source: ReferenceSource, block: int = BLOCK) -> None:
        if block < 1:
            raise ValueError("a block holds at least one referenceId")
        self._source = source
        self._block = block
        self._left: dict[str, tuple[int, int]] = {}  # user id -> (next to hand out, last of the block)

    async def take(self, user_id: str) -> int:
        """The user's next referenceId from this process's block, taking a new block when it is used up."""
        following, last = self._left.get(user_id, (1, 0))
        if following > last:
            top = await self._source.reserve_references(user_id, self._block)
            if top is None:
                raise NotFound(f"User {user_id} not found")
            following, last = top - self._block + 1, top
        self._left[user_id] = (following + 1, last)
        return following

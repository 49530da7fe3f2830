"""The sessions this node wrote last, reused by the next operation on the same session instead of a store read.

An entry is the record this node committed (with its ``Session`` value and, when known, the whole stored
transcript at that version). The engine uses an entry only under the session's lock, and every session write
carries the version it was decided on, so an entry made stale by another node costs one failed write: the
engine drops it, reloads from the store and decides again. A refusal decided on an entry (a ``GwsError``) is
never answered from it either: the engine reloads and decides once more on what the store holds.

At most ``max_entries`` open sessions are kept (least recently used first out), and the last ``max_closed``
ended ones apart, so a stream of finished sessions cannot push out the open ones (a delivery receipt often
comes after the agent completed the session).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from smsdesk.bus.messages import EventsAdvanced
from smsdesk.domain.sessions import Session
from smsdesk.store.base import SessionRecord

__all__ = ["CachedSession", "SessionCache", "apply_messages", "cache_hints", "reference_hints"]

Transcript = tuple[Mapping[str, Any], ...]


@dataclass(frozen=True, slots=True)
class CachedSession:
    record: SessionRecord
    session: Session
    transcript: Transcript | None  # every stored message at ``record.version``, or None if not read


def apply_messages(
    transcript: Transcript,
    session_id: str,
    added: Sequence[tuple[str, Mapping[str, Any]]],
    updated: Sequence[tuple[str, Mapping[str, Any]]],
) -> Transcript:
    """``transcript`` after a commit that added and replaced (by ``index``) messages of ``session_id``."""
    replaced = {int(m["index"]): m for sid, m in updated if sid == session_id}
    out = [replaced.get(int(m["index"]), m) for m in transcript] if replaced else list(transcript)
    out.extend(m for sid, m in added if sid == session_id)
    return tuple(out)


class SessionCache:
    def __init__(self, max_entries: int = 1000, max_closed: int = 200) -> None:
        self.max_entries = max_entries
        self.max_closed = max_closed
        self._open: OrderedDict[str, CachedSession] = OrderedDict()
        self._closed: OrderedDict[str, CachedSession] = OrderedDict()

    def __len__(self) -> int:
        return len(self._open) + len(self._closed)

    def get(self, session_id: str) -> CachedSession | None:
        for entries in (self._open, self._closed):
            entry = entries.get(session_id)
            if entry is not None:
                entries.move_to_end(session_id)
                return entry
        return None

    def put(self, entry: CachedSession) -> None:
        """Keep ``entry`` unless the one held is newer (a late writer lost a race)."""
        sid = entry.record.id
        held = self.get(sid)
        if held is not None and held.record.version > entry.record.version:
            return
        self.drop(sid)
        entries, limit = (
            (self._open, self.max_entries) if entry.record.is_open else (self._closed, self.max_closed)
        )
        if limit <= 0:
            return
        entries[sid] = entry
        while len(entries) > limit:
            entries.popitem(last=False)

    def drop(self, session_id: str) -> None:
        self._open.pop(session_id, None)
        self._closed.pop(session_id, None)

    def written_elsewhere(self, session_id: str, version: int) -> None:
        """Another process committed ``version`` of the session: an older entry would only cost a failed
        write, so drop it now (an entry at that version or newer is this process's own and stays)."""
        entry = self._open.get(session_id)
        if entry is not None:
            if entry.record.version < version:
                del self._open[session_id]
            return
        entry = self._closed.get(session_id)
        if entry is not None and entry.record.version < version:
            del self._closed[session_id]


def reference_hints(answered: Callable[[str, int], None]) -> Callable[[dict[str, Any]], Awaitable[None]]:
    """A bus handler for ``EVENTS_TOPIC``: the referenceIds other processes answered users' requests with, so
    that this process guesses each user's next one right (``Runtime.reference_answered``; a wrong guess costs
    the request a second decision, docs/sessions.md "referenceId")."""

    async def on_hint(wire: dict[str, Any]) -> None:
        refs = wire.get("refs")
        if not isinstance(refs, list) or wire.get("type") != EventsAdvanced.NAME:
            return
        for pair in refs:
            if isinstance(pair, list) and len(pair) == 2:
                user_id, reference_id = pair
                if isinstance(user_id, str) and type(reference_id) is int:
                    answered(user_id, reference_id)

    return on_hint


def cache_hints(cache: SessionCache) -> Callable[[dict[str, Any]], Awaitable[None]]:
    """A bus handler for ``EVENTS_TOPIC``: the sessions other processes wrote leave this process's cache."""

    async def on_hint(wire: dict[str, Any]) -> None:
        # read in place, not through ``EventsAdvanced.from_wire``: every hint comes here (the notification hub
        # parses and logs bad ones), and the pairs that are not well formed are only skipped
        sessions = wire.get("sessions")
        if not isinstance(sessions, list) or wire.get("type") != EventsAdvanced.NAME:
            return
        for pair in sessions:
            if isinstance(pair, list) and len(pair) == 2:
                session_id, version = pair
                if isinstance(session_id, str) and type(version) is int:
                    cache.written_elsewhere(session_id, version)

    return on_hint

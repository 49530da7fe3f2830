"""What a routing pass does for the sessions it cannot place (docs/routing.md): queue order and overflow,
business hours, and the waiting customer's auto-replies. Used by ``Router.route_waiting`` only when any of it
is configured (``WaitingRules.active``); otherwise a pass does none of this.

- Order: higher-priority queues first, the longest waiting first within one (``serving_order``).
- Overflow: a session past its queue's ``overflow_after_s`` moves to ``overflow_to`` (``Overflow``).
- Business hours: a session whose queue is closed now (``is_open``) is not offered and does not overflow: it
  waits for the opening; its customer gets ``closed_reply`` once (``{opens}``: the next opening).
- Place in line: a session no agent could take in this pass gets ``queue_reply`` once (``{position}`` among
  the sessions waiting in its queue, ``{wait}``: the median wait of the sessions offered in the last hour by
  this router; "a few minutes" when it has none).
Replies go out as a ``Text`` from the system through the outbox like any reply; an opted-out number gets
nothing (the reply is recorded as given, so it is not tried again)."""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime

from smsdesk.actions.engine import apply_command, run_on_session
from smsdesk.config import Settings
from smsdesk.domain.errors import GwsError
from smsdesk.domain.hours import describe_wait, is_open, median_wait, next_opening, render
from smsdesk.domain.outcome import Outcome
from smsdesk.domain.routing import overflow_due, serving_order
from smsdesk.domain.sessions import Phase, Session
from smsdesk.domain.system import AutoReply
from smsdesk.runtime import Runtime
from smsdesk.store.base import SessionRecord

__all__ = ["WaitingRules"]

Entry = tuple[SessionRecord, Session]
HOUR_MS = 3_600_000


class WaitingRules:
    def __init__(self, rt: Runtime, target_queue: Callable[[Session], str]) -> None:
        self.rt = rt
        self.target_queue = target_queue
        self._waits: deque[tuple[int, int]] = deque(maxlen=10_000)  # (offered at, waited) ms

    @staticmethod
    def active(settings: Settings) -> bool:
        return bool(settings.queues or settings.hours or settings.queue_reply or settings.closed_reply)

    def sort(
        self, queued: list[Entry], now_ms: int
    ) -> tuple[list[Entry], list[tuple[SessionRecord, str]], list[Entry]]:
        """The sessions to place (in order), those to move to their overflow queue, those whose queue is
        closed now."""
        settings = self.rt.settings
        keep: list[Entry] = []
        moves: list[tuple[SessionRecord, str]] = []
        closed: list[Entry] = []
        for rec, session in queued:
            name = self.target_queue(session)
            hours = settings.hours_of(name)
            if hours is not None and not is_open(hours, now_ms):
                closed.append((rec, session))
                continue
            q = settings.queue(name)
            if (
                session.phase is Phase.QUEUED
                and q.overflow_to is not None
                and overflow_due(rec.queued_ms, now_ms, q.overflow_after_s)
            ):
                moves.append((rec, q.overflow_to))
            else:
                keep.append((rec, session))
        keep.sort(
            key=lambda e: serving_order(settings.queue(self.target_queue(e[1])).priority, e[0].queued_ms)
        )
        return keep, moves, closed

    def offered(self, queued_ms: int, now_ms: int) -> None:
        """A session waiting since ``queued_ms`` was offered: its wait counts toward the estimate."""
        self._waits.append((now_ms, max(0, now_ms - queued_ms)))

    def estimate_ms(self, now_ms: int) -> int | None:
        while self._waits and self._waits[0][0] < now_ms - HOUR_MS:
            self._waits.popleft()
        return median_wait([w for _, w in self._waits])

    def replies(
        self, keep: list[Entry], placed: set[str], closed: list[Entry], now_ms: int
    ) -> list[Awaitable[bool]]:
        """The auto-replies this pass owes: ``closed_reply`` to sessions of closed queues, ``queue_reply`` to
        those no agent took."""
        settings = self.rt.settings
        out: list[Awaitable[bool]] = []
        if settings.closed_reply:
            for rec, session in closed:
                if session.phase is Phase.QUEUED and "closed" not in session.auto_replies:
                    hours = settings.hours_of(self.target_queue(session))
                    opens = next_opening(hours, now_ms) if hours is not None else None
                    out.append(self._send(rec, session, "closed", _closed_text(settings.closed_reply, opens)))
        if settings.queue_reply:
            wait = describe_wait(self.estimate_ms(now_ms))
            position: dict[str, int] = {}
            for rec, session in keep:
                if rec.id in placed or session.phase is not Phase.QUEUED:
                    continue
                name = self.target_queue(session)
                position[name] = position.get(name, 0) + 1
                if "queue" not in session.auto_replies:
                    text = render(settings.queue_reply, position=position[name], wait=wait)
                    out.append(self._send(rec, session, "queue", text))
        return out

    async def _send(self, rec: SessionRecord, session: Session, kind: str, text: str) -> bool:
        opted_out = await self.rt.store.is_opted_out(session.customer_number)

        async def decide(current: Session) -> Outcome:
            return apply_command(self.rt, current, AutoReply(kind, None if opted_out else text))

        try:
            await run_on_session(self.rt, rec.id, decide, seen=rec)
        except GwsError:
            return False  # offered, closed or already answered meanwhile
        if not opted_out:
            self.rt.wake_outbox()
        return True


def _closed_text(template: str, opens: datetime | None) -> str:
    return render(template, opens=opens)

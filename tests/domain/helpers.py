"""Builders for domain tests: deterministic ids, a driver that keeps the transcript, short-hands."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from smsdesk.domain.operations import Operation
from smsdesk.domain.outcome import Context, Outcome
from smsdesk.domain.participants import SupervisionMode
from smsdesk.domain.sessions import Session
from smsdesk.domain.system import Offer, SupervisorJoin, open_session
from smsdesk.domain.transitions import Command, UserOperation, apply

BASE = "http://127.0.0.1:8080"
T0 = 1_700_000_000_000


def make_ctx() -> Context:
    pids = itertools.count(1)
    sids = itertools.count(1)
    return Context(
        base_uri=BASE,
        new_participant_id=lambda: f"{next(pids):016X}",
        new_session_id=lambda: f"0000Na9B26EF{next(sids):04d}",
    )


@dataclass
class Driver:
    """Applies commands, keeps the session and the transcript like the caller would."""

    ctx: Context = field(default_factory=make_ctx)
    now: int = T0
    session: Session | None = None
    transcript: list[dict[str, Any]] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    references: dict[str, int] = field(default_factory=dict)  # user -> last referenceId answered

    def open(self, text: str = "Hello", queue: str = "sales") -> Outcome:
        out = open_session(
            customer_number="+15551230001",
            business_number="+15559990000",
            queue=queue,
            text=text,
            customer_nickname="PersonP",
            now_ms=self.now,
            ctx=self.ctx,
        )
        return self._keep(out)

    def do(self, command: Command) -> Outcome:
        assert self.session is not None
        self.now += 1000
        return self._keep(apply(self.session, command, now_ms=self.now, ctx=self.ctx))

    def op(
        self, user: str, operation: Operation | str, params: Mapping[str, Any] | None = None, **kw: Any
    ) -> Outcome:
        op = operation if isinstance(operation, Operation) else Operation(operation)
        transcript = tuple(self.transcript) if op is Operation.ACCEPT else ()
        kw.setdefault("reference_id", self.references.get(user, 0) + 1)  # as the store counts them per user
        out = self.do(UserOperation(user, op, dict(params or {}), transcript, **kw))
        if out.reference is not None:
            self.references[user] = out.reference[1]
        return out

    def offer_accept(self, agent: str) -> Outcome:
        self.do(Offer(agent, agent.title()))
        return self.op(agent, Operation.ACCEPT, {"nickname": agent.title()})

    def join(self, supervisor: str, mode: SupervisionMode) -> Outcome:
        return self.do(SupervisorJoin(supervisor, supervisor.title(), mode, tuple(self.transcript)))

    def _keep(self, out: Outcome) -> Outcome:
        self.session = out.session
        self.transcript.extend(out.messages)
        self.outcomes.append(out)
        return out

    @property
    def s(self) -> Session:
        assert self.session is not None
        return self.session


def notes_for(out: Outcome, user: str) -> list[dict[str, Any]]:
    return [dict(n.data) for n in out.notifications if n.user_id == user]


def kinds(out: Outcome) -> list[tuple[str, str]]:
    return [(n.user_id, n.data["notificationType"]) for n in out.notifications]

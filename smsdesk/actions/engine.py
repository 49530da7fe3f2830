"""The session engine: load → decide (pure domain) → persist atomically → publish after commit.

``run_on_session`` is the one place where an SMS session changes. It serialises operations on a session inside
this process (a lock per session) and across processes (optimistic version check in the store, retried), so two
agents accepting at once cannot both win. Around the domain's ``Outcome`` it adds what only the I/O layer
knows: supervisor joins for monitoring subscriptions when an agent accepts, the provider of each outbound SMS,
the opt-out block, the audit of supervision, and the record columns the store indexes on.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from smsdesk.actions.session_cache import CachedSession, apply_messages
from smsdesk.config import Settings
from smsdesk.domain.errors import Forbidden, GwsError, InUse, InvalidState, NotFound
from smsdesk.domain.outcome import Context, Outcome, UserDataLimits, random_participant_id
from smsdesk.domain.participants import ParticipantRole, UserState
from smsdesk.domain.sessions import Phase, Session
from smsdesk.domain.supervision import MonitoringSubscription, plan_joins
from smsdesk.domain.transitions import Command, apply
from smsdesk.logs import session_id as session_id_var
from smsdesk.metrics import ACCEPTS, OFFER_TIMEOUTS, OFFERS
from smsdesk.runtime import Runtime
from smsdesk.store.base import (
    NO_MILESTONES,
    AuditEntry,
    Change,
    ConcurrentUpdate,
    Milestones,
    NewOutbound,
    ReferenceTaken,
    SessionRecord,
    SessionWrite,
)

__all__ = [
    "Decide",
    "SessionLocks",
    "apply_command",
    "context",
    "load_session",
    "next_reference",
    "persist_outcome",
    "require_not_opted_out",
    "require_reopenable",
    "run_on_session",
    "stored_message",
    "stored_transcript",
    "to_record",
]

_RETRIES = 8
_TO_PHONE = frozenset({"Text", "PushUrl"})

Decide = Callable[[Session], Awaitable[Outcome]]


@dataclass
class SessionLocks:
    """One asyncio lock per session id, dropped when nobody holds or waits for it."""

    _locks: dict[str, tuple[asyncio.Lock, int]] = field(default_factory=dict)

    async def __call__(self, session_id: str, body: Callable[[], Awaitable[Outcome]]) -> Outcome:
        held = self._locks.get(session_id)
        lock, users = held if held is not None else (asyncio.Lock(), 0)
        self._locks[session_id] = (lock, users + 1)
        try:
            async with lock:
                return await body()
        finally:
            lock, users = self._locks[session_id]
            if users <= 1:
                del self._locks[session_id]
            else:
                self._locks[session_id] = (lock, users - 1)


def context(rt: Runtime) -> Context:
    return Context(
        base_uri=rt.settings.base_url,
        new_participant_id=random_participant_id,
        new_session_id=rt.ids.session_id,
        disposition_key=rt.settings.disposition_key,
        offer_timeout_ms=int(rt.settings.offer_timeout_s * 1000),
        transfer_keeps_disposition=rt.settings.transfer_keeps_disposition,
        user_data_limits=user_data_limits(rt.settings),
        queues=rt.settings.queue_names,
    )


def user_data_limits(settings: Settings) -> UserDataLimits:
    """The ``userdata_*`` settings (docs/security.md)."""
    return UserDataLimits(
        settings.userdata_max_keys,
        settings.userdata_max_key_length,
        settings.userdata_max_value_length,
        settings.userdata_max_bytes,
    )


def next_reference(rt: Runtime, user_id: str) -> int:
    """The referenceId ``user_id``'s next request is answered with, as this process expects it: the store
    checks it when the request commits (``ReferenceTaken`` then names the right one, and the request is decided
    again); a process that never saw the user guesses 1. A user's requests are decided one at a time in a
    process (``check_session_operation`` holds the user's lock: an agent chats in several sessions at once,
    and two requests decided together would guess the same number); the other processes learn each number
    from the commit's hint (``reference_hints``)."""
    return rt.next_references.get(user_id, 1)


def apply_command(rt: Runtime, session: Session, command: Command) -> Outcome:
    return apply(session, command, now_ms=rt.clock.now_ms(), ctx=context(rt))


async def load_session(rt: Runtime, session_id: str) -> tuple[Session, SessionRecord]:
    rec = await rt.store.get_session(session_id)
    if rec is None:
        raise NotFound(f"SMS session '{session_id}' not found")
    return Session.from_json(rec.data), rec


def _entry_of(rt: Runtime, session_id: str, state: Session | SessionRecord) -> CachedSession | None:
    """The cache entry holding exactly ``state`` (the value being decided on), if any."""
    entry = rt.session_cache.get(session_id)
    if entry is not None and (entry.session is state or entry.record is state):
        return entry
    return None


async def stored_transcript(
    rt: Runtime, session_id: str, state: Session | SessionRecord
) -> tuple[Mapping[str, Any], ...]:
    """The stored transcript of the session as ``state`` (the value being decided on) has it: from the
    session cache when this node knows it, else read once and remembered for the rest of the operation."""
    entry = _entry_of(rt, session_id, state)
    if entry is not None and entry.transcript is not None:
        return entry.transcript
    messages = tuple(await rt.store.read_messages(session_id))
    if entry is not None:
        rt.session_cache.put(dataclasses.replace(entry, transcript=messages))
    return messages


async def stored_message(rt: Runtime, session: Session, index: int) -> Mapping[str, Any] | None:
    """Message ``index`` of the session's stored transcript (as ``session`` has it), or None."""
    entry = _entry_of(rt, session.id, session)
    if entry is not None and entry.transcript is not None:
        return next((m for m in entry.transcript if m.get("index") == index), None)
    found = await rt.store.read_messages(session.id, index, 1)
    return found[0] if found and found[0].get("index") == index else None


def _waiting(s: Session) -> bool:
    if s.phase is Phase.QUEUED:
        return True
    p = s.pending
    return p is not None and p.target_queue is not None and p.participant_id is None


def _agent_texted(messages: Sequence[Mapping[str, Any]]) -> bool:
    """An agent's (or a supervisor's) text for the customer's phone is among ``messages``."""
    for m in messages:
        if m.get("type") in _TO_PHONE and m.get("visibility") == "All":
            frm = m.get("from")
            if isinstance(frm, Mapping) and frm.get("type") == "Agent":
                return True
    return False


def milestones(
    s: Session, m: Milestones, *, waiting: bool, is_open: bool, now_ms: int, agent_texted: bool
) -> Milestones:
    """The statistics' milestones after this write (docs/operations.md): each is set once, when first
    reached; ``agent_id`` follows the owner."""
    owner = m.agent_id
    parties = m.parties or ","
    for p in s.participants:
        user_id = p.user_id
        if not user_id:
            continue
        if p.role is ParticipantRole.OWNER and not p.terminal:
            owner = user_id
        if f",{user_id}," not in parties:
            parties = f"{parties}{user_id},"
    offered = m.offered_ms if m.offered_ms is not None else (now_ms if waiting else None)
    accepted = m.accepted_ms
    if accepted is None and s.phase is Phase.ACTIVE and offered is not None:
        accepted = now_ms
    first_reply, reply_wait = m.first_reply_ms, m.reply_wait_ms
    if first_reply is None and agent_texted and s.received_ms:
        first_reply, reply_wait = now_ms, max(0, now_ms - s.received_ms)
    # a reopened session (a transfer from LeftChat) ends again later, and counts then
    ended = None if is_open else (m.ended_ms if m.ended_ms is not None else now_ms)
    new = Milestones(
        owner, offered, accepted, first_reply, reply_wait, ended, parties if parties != "," else None
    )
    return m if new == m else new


def to_record(
    s: Session,
    prev: SessionRecord | None,
    now_ms: int,
    offer_timeout_ms: int,
    messages: Sequence[Mapping[str, Any]] = (),
) -> SessionRecord:
    waiting = _waiting(s)
    if waiting and not (prev is not None and prev.waiting and prev.queue == s.queue):
        queued_ms = now_ms  # waiting from now, or moved to another queue (overflow): its wait starts again
    else:
        queued_ms = prev.queued_ms if prev is not None else now_ms
    members: set[str] = set()  # users holding the session (not Completed/Revoked)
    load: set[str] = set()  # the agents among them
    first_invited: int | None = None  # the oldest offer to an agent still Invited
    for p in s.participants:
        user_id = p.user_id
        if user_id is None or p.terminal:
            continue
        if user_id:
            members.add(user_id)
        if not p.is_supervisor:
            if user_id:
                load.add(user_id)
            if p.state is UserState.INVITED and (first_invited is None or p.since_ms < first_invited):
                first_invited = p.since_ms
    phase = s.phase
    is_open = phase is Phase.QUEUED or phase is Phase.OFFERED or phase is Phase.ACTIVE
    before = prev.milestones if prev is not None else NO_MILESTONES
    texted = before.first_reply_ms is None and _agent_texted(messages)
    return SessionRecord(
        id=s.id,
        version=(prev.version + 1) if prev else 1,
        is_open=is_open,
        waiting=waiting,
        queue=s.queue,
        customer=s.customer_number,
        business=s.business_number,
        created_ms=s.created_ms,
        updated_ms=now_ms,
        queued_ms=queued_ms,
        data=s.to_json(),
        members=frozenset(members),
        deadline_ms=None if first_invited is None else first_invited + offer_timeout_ms,
        load_members=frozenset(load),
        milestones=milestones(
            s, before, waiting=waiting, is_open=is_open, now_ms=now_ms, agent_texted=texted
        ),
    )


async def _with_supervisor_joins(
    rt: Runtime, prev: SessionRecord | None, out: Outcome, change: Change
) -> Outcome:
    """The monitored agent accepted: supervisors subscribed to them join now (spec §7, the Monitor page)."""
    agent_id = out.accepted_by
    if agent_id is None:
        return out
    p = out.session.for_user(agent_id)
    if p is None or not p.is_agent:
        return out
    rows = await rt.store.list_subscriptions(agent_id=agent_id)
    if not rows:
        return out
    subs = [MonitoringSubscription.from_json(r.data) for r in rows]
    stored = await stored_transcript(rt, out.session.id, prev) if prev is not None else ()
    plan = plan_joins(subs, agent_id=agent_id, session=out.session, transcript=[*stored, *out.messages])
    now = rt.clock.now_ms()
    for join in plan.joins:
        # each joiner's replay includes the supervisors who joined just before it
        join = dataclasses.replace(join, transcript=(*stored, *out.messages))
        out = out.then(apply_command(rt, out.session, join))
        details = {"mode": join.mode.value, "sessionId": out.session.id, "via": "subscription"}
        change.audit.append(AuditEntry(join.supervisor_id, "JoinSession", agent_id, details, now))
    for sub in plan.ended:
        change.subscriptions_delete.append((sub.supervisor_id, sub.agent_id))
        details = {"mode": sub.mode.value, "reason": "NextChat used"}
        change.audit.append(AuditEntry(sub.supervisor_id, "MonitoringEnded", sub.agent_id, details, now))
    return out


async def require_not_opted_out(rt: Runtime, number: str) -> None:
    """The opt-out block: nothing goes to a number that replied STOP (``Forbidden``, statusCode 3)."""
    if await rt.store.is_opted_out(number):
        raise Forbidden(
            f"The customer {number} has opted out of SMS (replied STOP); nothing can be sent until they text START"
        )


async def _outbound(rt: Runtime, out: Outcome) -> list[NewOutbound]:
    if not out.outbound_sms:
        return []
    first = out.outbound_sms[0]
    await require_not_opted_out(rt, first.to)
    provider = outbound_provider(rt, out.session.provider, first.sender)
    return [
        NewOutbound(provider, o.sender, o.to, o.text, o.session_id, o.index, o.media_url)
        for o in out.outbound_sms
    ]


def outbound_provider(rt: Runtime, came_in_on: str, business_number: str) -> str:
    """The provider a reply leaves through: the one the conversation came in on (else the one bound to the
    business number). Never another one: with no route the reply is refused (``InvalidState``, statusCode 2)
    and nothing is stored, rather than handed to a provider that does not reach the customer."""
    try:
        provider = came_in_on or rt.provider_name_for(business_number)
    except NotFound:
        provider = ""
    if not provider or not rt.provider_available(provider):
        via = f"came in through {came_in_on!r}, which" if came_in_on else f"is on {business_number}, which"
        raise InvalidState(
            f"No SMS route to this customer: the conversation {via} no configured SMS provider serves; "
            "the message was not sent"
        )
    return provider


async def require_reopenable(rt: Runtime, s: Session) -> None:
    """An ended session may be reopened (Transfer from LeftChat) only while the customer has no newer open one:
    the store allows one open session per customer and business number."""
    other = await rt.store.find_open_session(s.customer_number, s.business_number)
    if other is not None and other.id != s.id:
        raise InvalidState(
            f"The customer has a newer SMS session ({other.id}) open: this one cannot be reopened; Complete it"
        )


async def persist_outcome(
    rt: Runtime, prev: SessionRecord | None, out: Outcome, extra: Change | None = None
) -> Outcome:
    """Write ``out`` (plus ``extra``) in one transaction; raises ``ConcurrentUpdate`` if the session moved."""
    change = extra or Change()
    out = await _with_supervisor_joins(rt, prev, out, change)
    now = rt.clock.now_ms()
    record = to_record(out.session, prev, now, int(rt.settings.offer_timeout_s * 1000), out.messages)
    if record.is_open and prev is not None and not prev.is_open:
        await require_reopenable(rt, out.session)  # else the unique index answers a misleading "busy"
    change.sessions.append(SessionWrite(record, prev.version if prev else None, prev))
    change.messages.extend((out.session.id, m) for m in out.messages)
    change.notifications.extend(out.notifications)
    change.outbound.extend(await _outbound(rt, out))
    change.agents_idle.extend((uid, now) for uid in dict.fromkeys(out.freed))
    if out.reference is not None and rt.reference_blocks is None:  # a guess, checked by the store
        change.references.append(out.reference)
    await rt.commit(change)
    if out.reference is not None:
        rt.reference_answered(*out.reference)
    _count(prev, record, now)
    _remember(rt, prev, record, out.session, change)
    if record.waiting or out.freed:
        rt.wake_router()
    if change.outbound:
        rt.wake_outbox()
    return out


def _count(prev: SessionRecord | None, record: SessionRecord, now: int) -> None:
    """The metrics of offers, accepts and offers not answered in time (RONA)."""
    before = prev.deadline_ms if prev is not None else None
    after = record.deadline_ms
    if after is not None and before is None:
        OFFERS.inc()
    elif before is not None and after != before and now >= before:
        OFFER_TIMEOUTS.inc()
    if record.milestones.accepted_ms is not None and (prev is None or prev.milestones.accepted_ms is None):
        ACCEPTS.inc()


def _remember(
    rt: Runtime, prev: SessionRecord | None, record: SessionRecord, session: Session, change: Change
) -> None:
    """Cache what was just committed, with the transcript when the one before it was known."""
    if prev is None:
        known: tuple[Mapping[str, Any], ...] | None = ()
    else:
        entry = _entry_of(rt, record.id, prev)
        known = entry.transcript if entry is not None else None
    transcript = None
    if known is not None:
        transcript = apply_messages(known, record.id, change.messages, change.message_updates)
    rt.session_cache.put(CachedSession(record, session, transcript))


async def run_on_session(
    rt: Runtime,
    session_id: str,
    decide: Decide,
    *,
    extra: Callable[[], Change] | None = None,
    seen: SessionRecord | None = None,
) -> Outcome:
    """Run ``decide`` on the current session and persist its outcome, retrying on concurrent updates.

    The session comes from this node's session cache when it holds it (or from ``seen``, a record the caller
    has just read, when newer), else from the store. A decision on a cached value that fails (a stale
    version, or a refusal) is dropped and taken again on the store's value, so nobody is answered from a
    stale cache.
    """

    async def attempt() -> Outcome:
        reuse = True
        for _ in range(_RETRIES):
            entry = rt.session_cache.get(session_id) if reuse else None
            if reuse and seen is not None and (entry is None or entry.record.version < seen.version):
                entry = CachedSession(seen, Session.from_json(seen.data), None)
                rt.session_cache.put(entry)
            cached = entry is not None
            if entry is None:
                session, rec = await load_session(rt, session_id)
                entry = CachedSession(rec, session, None)
                rt.session_cache.put(entry)
            try:
                out = await decide(entry.session)
                return await persist_outcome(rt, entry.record, out, extra() if extra else None)
            except ReferenceTaken as taken:  # the session was right: decide again with the user's referenceId
                rt.next_references[taken.user_id] = taken.actual
            except ConcurrentUpdate:
                rt.session_cache.drop(session_id)
                reuse = False
                await asyncio.sleep(0)
            except GwsError:
                if not cached:
                    raise
                rt.session_cache.drop(session_id)  # refused on a cached value: decide again on the store's
                reuse = False
        raise InUse(f"SMS session '{session_id}' is busy; try again")

    token = session_id_var.set(session_id)  # the logs of this operation name its session (smsdesk/logs.py)
    try:
        return await rt.session_locks(session_id, attempt)
    finally:
        session_id_var.reset(token)

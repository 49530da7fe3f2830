"""The working copy of one transition: shared moves, the SMS rule and per-recipient notifications.

A ``Change`` lives for one ``apply`` call only (no module state). Transitions in
``smsdesk/domain/transitions.py`` and ``smsdesk/domain/system.py`` call its moves, then ``finish`` diffs the
session before and after *for each user* and emits exactly what that user may see:

1. ``StatusChange`` when the user's own state changed;
2. ``ParticipantsUpdated`` when the user just started holding the session, or when the participants or
   capabilities it sees changed (a Monitor supervisor joining changes nothing an agent sees, so agents get
   nothing);
3. ``PropertiesUpdated`` when userData changed;
4. ``MessageLogUpdated`` with the replayed transcript (on Accept/join) plus the new messages it may see.

The SMS rule (``post``): a message becomes an outbound SMS only if it is a ``Text`` or ``PushUrl`` with
visibility ``All`` that is not from the customer, while the customer is still in the session (not opted
out). ``Agents``/``Supervisors`` messages, typing notifications, notices and custom notices never reach the
phone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from smsdesk.domain.capabilities import capabilities
from smsdesk.domain.errors import InvalidState, Validation
from smsdesk.domain.events import Notification
from smsdesk.domain.outcome import CHANNEL, Context, OutboundSms, Outcome, RouteRequest
from smsdesk.domain.participants import Kind, Participant, UserState, Visibility
from smsdesk.domain.sessions import Phase, Session
from smsdesk.domain.views import (
    error_notification,
    message,
    message_log_updated,
    offer_view,
    participants_view,
    state_change,
    visible_messages,
)

__all__ = ["Change"]

_TO_PHONE = frozenset({"Text", "PushUrl"})


class Change:
    def __init__(
        self, before: Session, *, now_ms: int, ctx: Context, actor: Participant | None = None
    ) -> None:
        self.before = before
        self.session = before.evolve(updated_ms=now_ms)
        self.now_ms = now_ms
        self.ctx = ctx
        self.actor_id = None if actor is None else actor.participant_id
        self.messages: list[dict[str, Any]] = []
        self.replays: dict[str, Sequence[Mapping[str, Any]]] = {}
        self.outbound: list[OutboundSms] = []
        self.route: RouteRequest | None = None
        self.freed: list[str] = []
        self.busied: list[str] = []
        self.response: dict[str, Any] = {}
        self.errors: list[tuple[str, str, int | None]] = []  # (participant id, errorMessage, referenceId)
        self.reference_id: int | None = None
        self.reference: tuple[str, int] | None = None  # (user id, referenceId) the store must count
        self.quiet_actor = False
        self.accepted_by: str | None = None
        self.properties_touched = False

    # -- participants ---------------------------------------------------------------------------------

    def get(self, participant_id: str) -> Participant:
        p = self.session.by_id(participant_id)
        assert p is not None, participant_id
        return p

    def add(self, p: Participant) -> Participant:
        self.session = self.session.with_participant(p)
        if p.is_agent and p.user_id is not None:
            self.busied.append(p.user_id)
        return p

    def add_user(self, user_id: str, nickname: str, **fields: Any) -> Participant:
        """A new agent-type participant for ``user_id``, who must not be in the session already."""
        if not user_id:
            raise Validation("A user id is required")
        existing = self.session.for_user(user_id)
        if existing is not None and not existing.terminal:
            raise InvalidState(f"User {user_id} is already in this session")
        p = Participant(
            participant_id=self.ctx.new_participant_id(),
            kind=Kind.AGENT,
            user_id=user_id,
            nickname=nickname.strip() or user_id,
            since_ms=self.now_ms,
            **fields,
        )
        return self.add(p)

    def set_state(self, p: Participant, state: UserState, **changes: Any) -> Participant:
        current = self.get(p.participant_id)
        new = replace(current, state=state, since_ms=self.now_ms, **changes)
        self.session = self.session.with_participant(new)
        if current.is_agent and not current.terminal and new.terminal and current.user_id is not None:
            self.freed.append(current.user_id)
        return new

    def depart(self, p: Participant, state: UserState) -> Participant:
        """``p`` stops chatting: a ``ParticipantLeft`` with its visibility if it was Chatting."""
        current = self.get(p.participant_id)
        if current.state is UserState.CHATTING:
            self.post("ParticipantLeft", current, current.visibility)
        return self.set_state(current, state)

    # -- transcript -----------------------------------------------------------------------------------

    def text(self, value: object, key: str = "text", *, may_be_empty: bool = False) -> str:
        """A non-empty string within the configured length: any text that enters the transcript (with
        ``may_be_empty`` also an empty or blank one: a customer's MMS of pictures alone)."""
        if may_be_empty and isinstance(value, str) and not value.strip():
            return value
        if not isinstance(value, str) or not value.strip():
            raise Validation(f"'{key}' must be a non-empty string")
        if len(value) > self.ctx.max_text_length:
            raise Validation(f"'{key}' is longer than {self.ctx.max_text_length} characters")
        return value

    def post(
        self,
        type_: str,
        sender: Participant | Mapping[str, Any],
        visibility: Visibility,
        *,
        text: str | None = None,
        url: str | None = None,
        notice_text: str | None = None,
        media: Sequence[Mapping[str, Any]] = (),
    ) -> dict[str, Any]:
        index = self.session.next_index
        msg = message(
            index=index,
            type_=type_,
            sender=sender,
            visibility=visibility,
            now_ms=self.now_ms,
            base_uri=self.ctx.base_uri,
            text=text,
            url=url,
            notice_text=notice_text,
            media=media,
        )
        self.session = self.session.evolve(next_index=index + 1)
        self.messages.append(msg)
        from_customer = isinstance(sender, Participant) and sender.kind is Kind.CUSTOMER
        reachable = self.session.customer.state is UserState.CHATTING
        if visibility is Visibility.ALL and type_ in _TO_PHONE and not from_customer and reachable:
            body = text if text is not None else url
            assert body is not None
            s = self.session
            media_url = url if type_ == "PushUrl" else None  # MMS where the provider can (docs/providers.md)
            self.outbound.append(
                OutboundSms(s.id, index, s.customer_number, s.business_number, body, media_url)
            )
        return msg

    # -- session-wide moves ---------------------------------------------------------------------------

    def withdraw_pending(self) -> None:
        pend = self.session.pending
        if pend is not None and pend.participant_id is not None:
            invitee = self.get(pend.participant_id)
            if invitee.state is UserState.INVITED:
                self.set_state(invitee, UserState.REVOKED)
        self.session = self.session.evolve(pending=None)

    def supersede_pending(self, by: str) -> None:
        """The asker of the pending invitation asked for another (``by``): the first is withdrawn, and its
        asker hears so through an Error quoting that request's ``referenceId``."""
        pend = self.session.pending
        if pend is None:
            return
        invitee = None if pend.participant_id is None else self.session.by_id(pend.participant_id)
        whom = pend.target_queue if invitee is None else (invitee.nickname or invitee.user_id)
        self.errors.append(
            (
                pend.by_participant_id,
                f"Request failed: {pend.kind.value} to {whom}: replaced by {by}",
                pend.reference_id,
            )
        )
        self.withdraw_pending()

    def request_route(self) -> None:
        s = self.session
        self.route = RouteRequest(s.queue, None, s.excluded, s.lar_agent_id)

    def requeue(self, queue: str) -> None:
        """Place the session in ``queue``: every other user still in it is Revoked (spec §7.1)."""
        if self.session.customer.state is not UserState.CHATTING:
            raise InvalidState(
                "The customer has left this SMS session: it cannot be queued again; Complete it"
            )
        self._revoke_everyone()
        self.session = self.session.evolve(queue=queue, phase=Phase.QUEUED, excluded=())
        self.request_route()

    def _revoke_everyone(self) -> None:
        self.withdraw_pending()
        for p in list(self.session.users()):
            if not p.terminal:
                self.depart(p, UserState.REVOKED)

    def end_for_customer(self) -> None:
        """The sole agent left: the customer's side is over; holders wrap up (phase Ended)."""
        self.withdraw_pending()
        self.session = self.session.evolve(phase=Phase.ENDED)

    def close_if_no_agent(self) -> None:
        """Once no agent holds the session it is completed: supervisors Revoked, phase Closed."""
        if any(p.is_agent and p.holding for p in self.session.participants):
            return
        self._revoke_everyone()
        customer = self.session.customer
        if customer.state is UserState.CHATTING:
            self.set_state(customer, UserState.COMPLETED)
        self.session = self.session.evolve(phase=Phase.CLOSED)

    def decline(self, p: Participant, state: UserState) -> None:
        """An Invited user said no (Reject) or lost the offer (timeout/withdrawal): find someone else."""
        self.set_state(p, state)
        pend = self.session.pending
        if p.is_supervisor:
            return
        if pend is not None and pend.participant_id == p.participant_id:
            if pend.target_queue is None:
                self.session = self.session.evolve(pending=None)
                answer = "rejected" if state is UserState.COMPLETED else "did not accept"
                what = f"{pend.kind.value} to {p.nickname or p.user_id}"
                self.errors.append(
                    (pend.by_participant_id, f"Request failed: {what}: {answer}", pend.reference_id)
                )
                return
            assert p.user_id is not None
            excluded = (*self.session.excluded, p.user_id)
            self.session = self.session.evolve(pending=replace(pend, participant_id=None), excluded=excluded)
            self.route = RouteRequest(pend.target_queue, pend.kind, excluded)
        elif self.session.phase is Phase.OFFERED:
            assert p.user_id is not None
            self.session = self.session.evolve(
                phase=Phase.QUEUED, excluded=(*self.session.excluded, p.user_id)
            )
            self.request_route()

    def answer_with_reference(self, user_id: str, reference_id: int | None) -> None:
        """The request of ``user_id`` is answered with ``reference_id`` (the store's next one for that user),
        and so are the notifications it causes that user (spec §5). Without one (a pure test), the session's
        own counter numbers it."""
        if reference_id is None:
            reference_id = self.session.next_reference_id
            self.session = self.session.evolve(next_reference_id=reference_id + 1)
        else:
            self.reference = (user_id, reference_id)
        self.reference_id = reference_id
        self.response["referenceId"] = reference_id

    # -- result ---------------------------------------------------------------------------------------

    def finish(self) -> Outcome:
        after = self.session
        users = list(after.users())
        users.sort(key=lambda p: p.participant_id != self.actor_id)  # the caller first, then join order
        notes: list[Notification] = []
        for p in users:
            if self.quiet_actor and p.participant_id == self.actor_id:
                continue
            notes += [Notification(p.user_id or "", CHANNEL, data) for data in self._for(p)]
        for participant_id, text, reference_id in self.errors:
            asker = after.by_id(participant_id)
            if asker is not None and asker.user_id and not asker.terminal:
                data = error_notification(after, text, self.ctx.base_uri, reference_id)
                notes.append(Notification(asker.user_id, CHANNEL, data))
        return Outcome(
            session=after,
            messages=tuple(self.messages),
            notifications=tuple(notes),
            outbound_sms=tuple(self.outbound),
            route=self.route,
            freed=tuple(self.freed),
            busied=tuple(self.busied),
            response=dict(self.response),
            accepted_by=self.accepted_by,
            reference=self.reference,
        )

    def _for(self, p: Participant) -> list[dict[str, Any]]:
        before, after, base = self.before, self.session, self.ctx.base_uri
        prev = before.by_id(p.participant_id)
        ref = self.reference_id if p.participant_id == self.actor_id else None
        caps = capabilities(after, p)
        out: list[dict[str, Any]] = []
        state_changed = prev is None or prev.state is not p.state
        if state_changed:
            offer = offer_view(after, p, self.ctx.offer_timeout_ms)
            out.append(state_change("StatusChange", after, p, caps, base, ref, offer))
        if not p.holding:
            return out
        was_holding = prev is not None and prev.holding
        if not was_holding:
            out.append(state_change("ParticipantsUpdated", after, p, caps, base, ref))
        elif not state_changed and prev is not None and not _same_cast(before, after):
            seen_before = (participants_view(before, prev, base), capabilities(before, prev))
            if seen_before != (participants_view(after, p, base), caps):
                out.append(state_change("ParticipantsUpdated", after, p, caps, base, ref))
        if was_holding and (self.properties_touched or before.user_data != after.user_data):
            out.append(state_change("PropertiesUpdated", after, p, caps, base, ref))
        shown = visible_messages([*self.replays.get(p.participant_id, ()), *self.messages], p)
        if shown:
            out.append(message_log_updated(after, shown, base, ref))
        return out


def _same_cast(before: Session, after: Session) -> bool:
    """The same participants and pending invitation (the very same values): nobody's participant list or
    capabilities can differ, as both depend on nothing else (a text, a delivery status, userData)."""
    return before.participants is after.participants and before.pending is after.pending

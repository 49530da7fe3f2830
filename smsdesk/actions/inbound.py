"""SMS from providers: the inbound sink (customer texts) and the status sink (delivery receipts).

Inbound rules:
- Idempotent: the (provider, provider message id) pair is stored in the same transaction as the message, so a
  provider retry never creates a duplicate; the adapter acknowledges only after this returns.
- A text from a customer with an open session to the same business number is appended to it; otherwise a new
  session is opened in the queue mapped to that number (``number_queues``) and routed.
- STOP/UNSUBSCRIBE/... opt the number out: confirmed once by SMS (a repeated STOP is not confirmed again), the
  open session is closed for agents, and later sends to that number are refused. START/UNSTOP/YES opt back in,
  confirmed only if the number was opted out. HELP gets a help reply.
  Keyword texts are still stored in the open session's transcript when there is one.
- An MMS's media are stored with the message, in its transaction (``actions/media.py``): the bytes in the
  ``media`` table, the message's ``media`` list naming them. An item the adapter could not fetch, or one refused
  (type, size), is listed unavailable; the text is stored all the same.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from smsdesk.actions.engine import apply_command, context, persist_outcome, run_on_session, stored_message
from smsdesk.actions.media import PreparedMedia, prepare_media
from smsdesk.domain.errors import AlreadyExists, InvalidState, Unavailable
from smsdesk.domain.events import Notification
from smsdesk.domain.outcome import CHANNEL, Outcome
from smsdesk.domain.sessions import Session
from smsdesk.domain.system import CloseSession, DeliveryStatus, InboundText, open_session
from smsdesk.domain.views import session_path, session_uri
from smsdesk.metrics import SMS_INBOUND, SMS_RECEIPTS
from smsdesk.runtime import Runtime
from smsdesk.sms.base import InboundAck, InboundSms, StatusUpdate
from smsdesk.sms.keywords import Keyword, classify
from smsdesk.store.base import Change, ConcurrentUpdate, NewOutbound, SessionRecord

__all__ = [
    "HELP_REPLY",
    "OPT_IN_REPLY",
    "OPT_OUT_REPLY",
    "receive_message_status",
    "receive_sms",
    "receive_status",
]

OPT_OUT_REPLY = "You have been unsubscribed and will receive no more messages. Reply START to resubscribe."
OPT_IN_REPLY = "You have been resubscribed. Reply STOP to unsubscribe."
HELP_REPLY = "Text us your question and an agent will answer. Reply STOP to unsubscribe."


def _ack_id(sms: InboundSms) -> str:
    return f"{sms.provider}:{sms.provider_message_id}"


def _reply(rt: Runtime, sms: InboundSms, text: str) -> NewOutbound:
    """An automatic answer (opt-out, opt-in, help) leaves through the provider the text came in on."""
    return NewOutbound(sms.provider, sms.to_number, sms.from_number, text)


async def receive_sms(rt: Runtime, sms: InboundSms) -> InboundAck:
    """The inbound sink: returns only after the message is committed (or known to be a duplicate).

    A duplicate is found by the commit itself (the (provider, message id) key is unique), not by a read
    before it: a provider retry is rare, a read per message is not.

    At most ``settings.inbound_backlog`` messages are being stored at once in this process: beyond that the
    message is refused at once with ``Unavailable`` (HTTP 503 + ``Retry-After``; the provider retries), so an
    overload queues a bounded number of requests, not an ever-growing one (docs/deployment.md, "Overload").
    """
    if rt.inbound_in_flight >= rt.settings.inbound_backlog:
        raise Unavailable("Too many inbound messages are waiting to be stored; retry shortly")
    rt.inbound_in_flight += 1
    try:
        return await _receive(rt, sms)
    finally:
        rt.inbound_in_flight -= 1


async def _receive(rt: Runtime, sms: InboundSms) -> InboundAck:
    keyword = classify(sms.text)
    media = prepare_media(rt, sms.media)
    try:
        for _ in range(8):
            try:
                await _store_inbound(rt, sms, keyword, media)
                SMS_INBOUND.inc(sms.provider, "received")
                return InboundAck(_ack_id(sms))
            except ConcurrentUpdate:
                continue  # a session was opened or changed meanwhile: read again
        raise ConcurrentUpdate("inbound SMS could not be stored after retries")
    except AlreadyExists:
        SMS_INBOUND.inc(sms.provider, "duplicate")
        return InboundAck(_ack_id(sms), duplicate=True)


def _keyword_change(
    rt: Runtime, sms: InboundSms, keyword: Keyword | None, session_id: str | None, *, opted_out: bool
) -> Change:
    """Opt-out and opt-in are confirmed only when they change something: a second STOP gets no second
    confirmation, and a "Yes" answering an agent's question (YES opts in) gets no resubscribe notice."""
    change = Change(inbound_keys=[(sms.provider, sms.provider_message_id, session_id)])
    if keyword is Keyword.OPT_OUT:
        change.opt_outs.append((sms.from_number, True))
        if not opted_out:
            change.outbound.append(_reply(rt, sms, OPT_OUT_REPLY))
    elif keyword is Keyword.OPT_IN:
        change.opt_outs.append((sms.from_number, False))
        if opted_out:
            change.outbound.append(_reply(rt, sms, OPT_IN_REPLY))
    elif keyword is Keyword.HELP:
        change.outbound.append(_reply(rt, sms, HELP_REPLY))
    return change


async def _store_inbound(rt: Runtime, sms: InboundSms, keyword: Keyword | None, media: PreparedMedia) -> None:
    opted_out = await rt.store.is_opted_out(sms.from_number)
    # one open session at most per pair of numbers: when the latest is open it is that one; only when the
    # latest is closed may an older one be open (reopened by a Transfer)
    last = await rt.store.latest_session(sms.from_number, sms.to_number)
    rec = (
        last
        if last is None or last.is_open
        else await rt.store.find_open_session(sms.from_number, sms.to_number)
    )
    if rec is None:
        if keyword is not None or opted_out:
            # a keyword, or any text from an opted-out number, opens no conversation
            change = _keyword_change(rt, sms, keyword, None, opted_out=opted_out)
            await rt.commit(change)
            if change.outbound:
                rt.wake_outbox()
            return
        await _open(rt, sms, last, media)
        return

    async def decide(session: Session) -> Outcome:
        out = apply_command(rt, session, InboundText(sms.text, media.entries))
        if keyword is Keyword.OPT_OUT:
            out = out.then(apply_command(rt, out.session, CloseSession("opted_out")))
        return out

    def extra() -> Change:
        change = _keyword_change(rt, sms, keyword, rec.id, opted_out=opted_out)
        change.media.extend(media.rows(rec.id, rt.clock.now_ms()))
        return change

    await run_on_session(rt, rec.id, decide, extra=extra, seen=rec)


def _lar_agent(last: SessionRecord | None) -> str | None:
    """Last-agent routing across sessions: the agent saved with saveLAR in this customer's last session."""
    if last is None:
        return None
    lar = last.data.get("larAgentId")
    return lar if isinstance(lar, str) else None


async def _open(rt: Runtime, sms: InboundSms, last: SessionRecord | None, media: PreparedMedia) -> None:
    lar = _lar_agent(last)
    out = open_session(
        customer_number=sms.from_number,
        business_number=sms.to_number,
        queue=rt.settings.queue_for(sms.to_number),
        text=sms.text,
        now_ms=rt.clock.now_ms(),
        ctx=context(rt),
        media=media.entries,
    )
    session = replace(
        out.session,
        user_data={**out.session.user_data, **_user_data(sms, out.session)},
        lar_agent_id=lar,
        provider=sms.provider,  # the replies leave through it (docs/providers.md)
    )
    out = replace(out, session=session)
    change = _keyword_change(rt, sms, None, session.id, opted_out=False)
    change.media.extend(media.rows(session.id, rt.clock.now_ms()))
    await persist_outcome(rt, None, out, change)


def _user_data(sms: InboundSms, session: Session) -> dict[str, str]:
    return {
        "CustomerNumber": sms.from_number,
        "BusinessNumber": sms.to_number,
        "ContactId": sms.from_number,
        "Queue": session.queue,
        "Provider": sms.provider,
        "InteractionId": session.id,
    }


_RANK = {"queued": 0, "accepted": 0, "sending": 1, "sent": 2, "delivered": 3, "failed": 4, "undelivered": 4}


async def receive_status(rt: Runtime, update: StatusUpdate) -> None:
    """A delivery receipt (or our outbox's final failure), shown on the transcript message.

    The stored message gets a ``status`` field; agents and supervisors in the session get a
    ``MessageLogUpdated`` notification with ``notificationType: "MessagesUpdated"`` carrying the updated
    message (an smsdesk extension, docs/sessions.md). A failure also adds an agents-only ``Notice``.
    A status never moves backwards (a late "sent" after "delivered" is ignored). The message is read and
    compared inside the session's write (lock and version check), so two receipts racing each other (a
    callback overtaking the provider's own answer) cannot overwrite a later status with an earlier one.
    """
    SMS_RECEIPTS.inc(update.provider, update.status)
    row = None
    if update.outbox_id is not None and update.outbox_id.isdigit():
        row = await rt.store.get_outbound(int(update.outbox_id))
    elif update.provider_message_id:
        row = await rt.store.find_outbound_by_provider_id(update.provider, update.provider_message_id)
    if row is None or row.session_id is None or row.message_index is None:
        return  # a keyword confirmation, or a receipt for something we do not know: nothing to show
    await receive_message_status(rt, row.session_id, row.message_index, update.status, update.error)


async def receive_message_status(
    rt: Runtime,
    session_id: str,
    index: int,
    status: str,
    error: str | None = None,
    *,
    sent: tuple[int, str] | None = None,
) -> bool:
    """``receive_status`` once the message is known: message ``index`` of session ``session_id``. With
    ``sent`` (outbox id, provider message id), the outbox row is marked sent in the same transaction. True
    once committed; False when the session refused the status (nothing was written)."""
    status = status.strip().lower()
    updated: list[dict[str, Any]] = []
    recipients: list[str] = []

    async def decide(session: Session) -> Outcome:
        updated.clear()
        found = await stored_message(rt, session, index)
        if found is None:
            return Outcome(session=session)
        message = dict(found)
        if _RANK.get(status, -1) < _RANK.get(str(message.get("status", "queued")), 0):
            return Outcome(session=session)
        message["status"] = status
        if error:
            message["statusDetail"] = error
        updated.append(message)
        recipients[:] = dict.fromkeys(p.user_id for p in session.users() if p.user_id and not p.terminal)
        if status in ("failed", "undelivered"):
            return apply_command(rt, session, DeliveryStatus(index, status, error or ""))
        return Outcome(session=session)

    def extra() -> Change:
        change = Change(outbound_sent=[sent] if sent else [])
        if updated:
            data = {
                "messageType": "MessageLogUpdated",
                "notificationType": "MessagesUpdated",
                "messages": updated,
                "smssessionUri": session_uri(rt.settings.base_url, session_id),
                "smssessionPath": session_path(session_id),
            }
            change.message_updates.append((session_id, updated[0]))
            change.notifications.extend(Notification(u, CHANNEL, data) for u in recipients)
        return change

    try:
        await run_on_session(rt, session_id, decide, extra=extra)
    except InvalidState:
        return False
    return True

"""Agents leaving with work (docs/routing.md, "Agents leaving with work").

``release_agent`` takes back what an agent holds: every offer pending to them is withdrawn (``Revoked``; the
session is routed again at once, without them while anybody else is available), and with ``chats`` every
session they are in goes on without them — the last agent's session goes back to its queue with its
transcript, supervisors ``Revoked`` (``RemoveUser``, the same rule as deleting the user). Used at
EndContactCenterSession (offers only: a logged-out agent's chats are taken once they are absent past the
presence grace) and by the presence rule (offers and chats). A NotReady agent keeps everything."""

from __future__ import annotations

from smsdesk.actions.engine import apply_command, run_on_session
from smsdesk.domain.errors import GwsError, InvalidState
from smsdesk.domain.outcome import Outcome
from smsdesk.domain.participants import UserState
from smsdesk.domain.sessions import Session
from smsdesk.domain.system import RemoveUser, WithdrawOffer
from smsdesk.runtime import Runtime

__all__ = ["release_agent"]


async def release_agent(rt: Runtime, user_id: str, *, chats: bool) -> int:
    """Withdraw ``user_id``'s pending offers (and with ``chats``, take their sessions back); returns how many
    sessions changed. A session changed meanwhile by someone else is decided again on its new version; one
    that no longer concerns the agent is left alone."""
    changed = 0
    for rec in await rt.store.list_member_sessions(user_id):
        p = Session.from_json(rec.data).for_user(user_id)
        if p is None or p.terminal or (p.state is not UserState.INVITED and not chats):
            continue

        async def decide(session: Session) -> Outcome:
            q = session.for_user(user_id)
            if q is None or q.terminal or (q.state is not UserState.INVITED and not chats):
                raise InvalidState("nothing of theirs to take back")  # changed meanwhile
            if q.state is UserState.INVITED:
                return apply_command(rt, session, WithdrawOffer(user_id))
            return apply_command(rt, session, RemoveUser(user_id))

        try:
            await run_on_session(rt, rec.id, decide, seen=rec)
            changed += 1
        except GwsError:
            pass  # accepted, closed or taken meanwhile: nothing of theirs to take back
    return changed

"""Contact notes, smsdesk's extension (docs/api.md, "Contact notes"): ``GET``/``POST
/api/v2/contacts/{number}/notes``. Notes are about a customer number, written by agents and supervisors, and
never sent to the customer. A supervisor or admin reads and writes any number's notes; an agent those of a
customer they are or were a participant with (an offer included) in one of that customer's latest
``HISTORY_SESSIONS`` sessions: a number they have not seen is not found (statusCode 6), as for a session."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from typing import Any

from smsdesk.domain.errors import NotFound, Validation
from smsdesk.domain.notes import ContactNote, parse_note_text
from smsdesk.domain.users import Principal
from smsdesk.runtime import Runtime

__all__ = ["HISTORY_SESSIONS", "MAX_NOTES", "check_add_note", "contact_notes"]

HISTORY_SESSIONS = 500
MAX_NOTES = 1000  # per customer number
_NUMBER = re.compile(r"^\+[1-9][0-9]{1,14}$")


def _number(raw: str) -> str:
    number = raw
    if not _NUMBER.fullmatch(number):
        raise Validation("The customer number must be in E.164 (+ and 2-15 digits)")
    return number


async def _require_contact(rt: Runtime, principal: Principal, number: str) -> None:
    if principal.is_supervisor:
        return
    for doc in await rt.store.customer_session_docs(number, HISTORY_SESSIONS):
        for p in doc.get("participants", ()):
            if isinstance(p, Mapping) and p.get("userId") == principal.user_id:
                return
    raise NotFound(f"Contact '{number}' not found")


async def contact_notes(rt: Runtime, principal: Principal, raw_number: str) -> list[dict[str, Any]]:
    number = _number(raw_number)
    await _require_contact(rt, principal, number)
    return [n.view() for n in await rt.store.list_notes(number)]


async def check_add_note(
    rt: Runtime, principal: Principal, raw_number: str, body: Mapping[str, Any]
) -> dict[str, Any]:
    number = _number(raw_number)
    text = parse_note_text(body)
    await _require_contact(rt, principal, number)
    if len(await rt.store.list_notes(number)) >= MAX_NOTES:
        raise Validation(f"At most {MAX_NOTES} notes per contact")
    user = await rt.store.get_user(principal.user_id)
    author = user.display_name if user is not None else principal.user_name
    note = ContactNote(secrets.token_hex(8), number, principal.user_id, author, text, rt.clock.now_ms())
    await rt.store.add_note(note)
    return note.view()

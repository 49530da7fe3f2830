"""Contact notes (docs/api.md, "Contact notes"): what agents and supervisors write about a customer number,
never sent to the customer. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from smsdesk.domain.errors import MissingParameter, Validation

__all__ = ["MAX_NOTE_TEXT", "ContactNote", "parse_note_text"]

MAX_NOTE_TEXT = 2000


@dataclass(frozen=True)
class ContactNote:
    id: str
    customer_number: str
    author_id: str
    author_name: str
    text: str
    created_ms: int

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "customerNumber": self.customer_number,
            "authorId": self.author_id,
            "authorName": self.author_name,
            "text": self.text,
            "createdMs": self.created_ms,
        }


def parse_note_text(body: Mapping[str, Any]) -> str:
    text = body.get("text")
    if text is None:
        raise MissingParameter("Missing parameter 'text'")
    if not isinstance(text, str) or not text.strip():
        raise Validation("'text' must be a non-empty string")
    if len(text) > MAX_NOTE_TEXT:
        raise Validation(f"'text' must be at most {MAX_NOTE_TEXT} characters")
    return text

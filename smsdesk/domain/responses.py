"""Standard responses (canned answers, docs/api.md "Standard responses"): the value, its checks, the search and
the placeholders filled when an agent inserts one. Pure: no I/O."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from smsdesk.domain.errors import MissingParameter, Validation

__all__ = [
    "MAX_CATEGORY",
    "MAX_NAME",
    "MAX_RESPONSE_TEXT",
    "StandardResponse",
    "fill",
    "matches",
    "parse_response",
]

MAX_NAME = 100
MAX_CATEGORY = 100
MAX_RESPONSE_TEXT = 2000
_PLACEHOLDER = re.compile(r"\{(agentNickname|agentFirstName|customerNumber|userData\.([^{}]{1,100}))\}")


@dataclass(frozen=True)
class StandardResponse:
    id: str
    name: str
    category: str
    text: str
    updated_ms: int = 0

    def view(self, base_url: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "category": self.category,
            "text": self.text,
            "uri": f"{base_url}/api/v2/responses/{self.id}",
        }


def _field(body: Mapping[str, Any], key: str, limit: int, *, empty_ok: bool = False) -> str:
    value = body.get(key)
    if value is None:
        raise MissingParameter(f"Missing parameter '{key}'")
    if not isinstance(value, str):
        raise Validation(f"'{key}' must be a string")
    if not empty_ok and not value.strip():
        raise Validation(f"'{key}' must not be empty")
    if len(value) > limit:
        raise Validation(f"'{key}' must be at most {limit} characters")
    return value


def parse_response(body: Mapping[str, Any], response_id: str, now_ms: int) -> StandardResponse:
    """``{"name", "category", "text"}`` of ``POST``/``PUT /api/v2/responses``, kept as written; ``category``
    may be missing or empty (no category), the others hold more than spaces."""
    return StandardResponse(
        id=response_id,
        name=_field(body, "name", MAX_NAME),
        category=(
            _field(body, "category", MAX_CATEGORY, empty_ok=True) if body.get("category") is not None else ""
        ),
        text=_field(body, "text", MAX_RESPONSE_TEXT),
        updated_ms=now_ms,
    )


def matches(response: StandardResponse, words: Iterable[str], category: str | None) -> bool:
    """Every word (case-insensitive) in the name, category or text; the category, when given, equal to it
    (case-insensitive)."""
    if category is not None and response.category.casefold() != category.strip().casefold():
        return False
    hay = f"{response.name}\n{response.category}\n{response.text}".casefold()
    return all(w.casefold() in hay for w in words)


def fill(
    text: str, *, nickname: str, first_name: str, customer_number: str, user_data: Mapping[str, Any]
) -> str:
    """The placeholders replaced: ``{agentNickname}``, ``{agentFirstName}``, ``{customerNumber}``,
    ``{userData.KEY}`` (a missing key is replaced by nothing; a value that is not a string by its JSON-ish
    text). Anything else in braces stays as written."""

    def one(m: re.Match[str]) -> str:
        name = m.group(1)
        if name == "agentNickname":
            return nickname
        if name == "agentFirstName":
            return first_name
        if name == "customerNumber":
            return customer_number
        value = user_data.get(m.group(2))
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    return _PLACEHOLDER.sub(one, text)

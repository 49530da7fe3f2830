"""Identifier generators. Constructed objects (not globals) so tests can make them deterministic."""

from __future__ import annotations

import secrets
import uuid

from smsdesk.domain.outcome import random_string

__all__ = ["IdGenerator"]

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class IdGenerator:
    """User ids are 32 hex digits (GWS style); SMS session ids are 16 characters like ``0000Na9B26EF002X``."""

    def user_id(self) -> str:
        return uuid.uuid4().hex

    def session_id(self) -> str:
        return random_string(_ALPHABET, 16)

    def participant_id(self) -> str:
        return secrets.token_hex(8).upper()

    def token(self) -> str:
        return secrets.token_urlsafe(24)

    def csrf_token(self) -> str:
        return str(uuid.uuid4())

"""E.164 phone-number normalisation (pure). Policy: accept what ``phonenumbers`` calls *possible*.

Demo numbers such as ``+1 555 123 0001`` are possible but not *valid* (no carrier owns them), so
validating with ``is_valid_number`` would reject the simulator's own numbers. We therefore accept any
possible number and reject the rest with an error naming the input.
"""

from __future__ import annotations

import functools

import phonenumbers

from smsdesk.domain.errors import Validation

__all__ = ["InvalidNumber", "normalize_e164", "try_normalize_e164"]

CACHE_SIZE = 2048  # numbers normalised lately, kept with their answer


class InvalidNumber(Validation):
    """A phone number that cannot be parsed or cannot possibly exist."""

    def __init__(self, number: str, reason: str) -> None:
        super().__init__(f"invalid phone number {number!r}: {reason}")
        self.number = number


def normalize_e164(raw: object, *, default_region: str | None = None) -> str:
    """Return ``raw`` as E.164 (``+15551230001``) or raise ``InvalidNumber``.

    ``default_region`` (ISO 3166 alpha-2, e.g. ``"GB"``) is used for numbers written without ``+``.
    SMPP addresses with TON=international and Vonage ``msisdn`` lack the ``+``: callers prepend it.
    """
    if not isinstance(raw, str):
        raise InvalidNumber(repr(raw), "expected a string")
    text = raw.strip()
    if not text:
        raise InvalidNumber(raw, "empty")
    if len(text) > 40:
        raise InvalidNumber(text[:40] + "...", "too long")
    e164, reason = _e164(text, default_region)
    if reason:
        raise InvalidNumber(raw, reason)
    return e164


@functools.lru_cache(maxsize=CACHE_SIZE)
def _e164(text: str, default_region: str | None) -> tuple[str, str]:
    """``(E.164, "")`` or ``("", why not)``. A parse costs ~15 us; customers text the same numbers again and
    again (and the business numbers are few), so the latest ``CACHE_SIZE`` answers are kept (~0.3 KB each)."""
    try:
        parsed = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as exc:
        return "", _parse_reason(exc)
    if not phonenumbers.is_possible_number(parsed):
        return "", "not a possible number (wrong length for its country)"
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)), ""


def try_normalize_e164(raw: object, *, default_region: str | None = None) -> str | None:
    """Like ``normalize_e164`` but returns None instead of raising."""
    try:
        return normalize_e164(raw, default_region=default_region)
    except InvalidNumber:
        return None


def _parse_reason(exc: phonenumbers.NumberParseException) -> str:
    reasons = {
        phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: (
            "unknown country code (write it in international form, starting with +)"
        ),
        phonenumbers.NumberParseException.NOT_A_NUMBER: "not a phone number",
        phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
        phonenumbers.NumberParseException.TOO_SHORT_NSN: "too short",
        phonenumbers.NumberParseException.TOO_LONG: "too long",
    }
    return reasons.get(exc.error_type, "cannot be parsed")

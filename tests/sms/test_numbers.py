from __future__ import annotations

import re

import pytest

from smsdesk.domain.errors import Validation
from smsdesk.sms.numbers import CACHE_SIZE, InvalidNumber, normalize_e164, try_normalize_e164


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+1 (555) 123-0001", None, "+15551230001"),  # possible, not valid: demo numbers must work
        ("+15550000000", None, "+15550000000"),
        ("07700 900123", "GB", "+447700900123"),
        (" +44 20 7183 8750 ", None, "+442071838750"),
    ],
)
def test_possible_numbers_are_normalised(raw: str, region: str | None, expected: str) -> None:
    assert normalize_e164(raw, default_region=region) == expected


@pytest.mark.parametrize("raw", ["15551230001", "+1555", "hello", "", "+999 1234", "+1" + "5" * 50])
def test_impossible_numbers_name_the_input(raw: str) -> None:
    with pytest.raises(InvalidNumber) as info:
        normalize_e164(raw)
    assert isinstance(info.value, Validation)
    assert info.value.code == 10
    assert "invalid phone number" in info.value.message


def test_non_string_and_try_variant() -> None:
    with pytest.raises(InvalidNumber, match="expected a string"):
        normalize_e164(15551230001)
    assert try_normalize_e164("nope") is None
    assert try_normalize_e164("+15551230001") == "+15551230001"


def test_a_repeated_number_is_not_parsed_again_and_answers_the_same() -> None:
    from smsdesk.sms.numbers import _e164

    first = normalize_e164(" +44 7700 900123 ")
    hits = _e164.cache_info().hits
    assert normalize_e164("+44 7700 900123") == first == "+447700900123"
    assert _e164.cache_info().hits == hits + 1
    for _ in range(2):  # a refusal is remembered too, and still names the input as written
        with pytest.raises(InvalidNumber, match=re.escape("'  +1 55 ': not a possible number")):
            normalize_e164("  +1 55 ")
    assert _e164.cache_info().maxsize == CACHE_SIZE

"""Business hours and auto-reply texts (pure; docs/routing.md, "Waiting customers")."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsdesk.domain.errors import InvalidState
from smsdesk.domain.hours import Hours, describe_wait, is_open, next_opening, parse_range, render
from smsdesk.domain.sessions import Session
from smsdesk.domain.system import AutoReply, Offer
from tests.domain.helpers import Driver

PARIS = ZoneInfo("Europe/Paris")
WEEKDAYS = ((540, 1020),)  # 09:00-17:00
OFFICE = Hours(PARIS, (WEEKDAYS,) * 5 + ((), ()), frozenset({date(2026, 12, 25)}))


def ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def test_ranges() -> None:
    assert parse_range("09:00-17:30") == (540, 1050)
    assert parse_range("00:00-24:00") == (0, 1440)
    for bad in ("9-17", "17:00-09:00", "09:00-25:00", "09:60-10:00", "x", "09:00-09:00"):
        with pytest.raises(ValueError):
            parse_range(bad)


def test_open_in_the_queues_time_zone_and_closed_on_holidays() -> None:
    assert is_open(OFFICE, ms(datetime(2026, 12, 3, 9, 0, tzinfo=PARIS)))  # Thursday 09:00 Paris
    assert is_open(OFFICE, ms(datetime(2026, 12, 3, 8, 30, tzinfo=UTC)))  # 09:30 in Paris (UTC+1)
    assert not is_open(OFFICE, ms(datetime(2026, 12, 3, 7, 30, tzinfo=UTC)))  # 08:30 in Paris
    assert not is_open(OFFICE, ms(datetime(2026, 12, 3, 17, 0, tzinfo=PARIS)))  # the end is excluded
    assert not is_open(OFFICE, ms(datetime(2026, 12, 5, 12, 0, tzinfo=PARIS)))  # Saturday
    assert not is_open(OFFICE, ms(datetime(2026, 12, 25, 12, 0, tzinfo=PARIS)))  # a holiday (Friday)
    summer = ms(datetime(2026, 7, 1, 7, 30, tzinfo=UTC))  # 09:30 in Paris (UTC+2)
    assert is_open(OFFICE, summer)


def test_next_opening_skips_nights_weekends_and_holidays() -> None:
    friday_evening = ms(datetime(2026, 12, 4, 18, 0, tzinfo=PARIS))
    assert next_opening(OFFICE, friday_evening) == datetime(2026, 12, 7, 9, 0, tzinfo=PARIS)
    christmas_eve = ms(datetime(2026, 12, 24, 20, 0, tzinfo=PARIS))
    assert next_opening(OFFICE, christmas_eve) == datetime(2026, 12, 28, 9, 0, tzinfo=PARIS)
    never = Hours(PARIS, ((),) * 7)
    assert next_opening(never, friday_evening) is None


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 3 * 366 * 86_400_000))
def test_next_opening_is_open_and_nothing_opens_before_it(offset: int) -> None:
    now = ms(datetime(2025, 1, 1, tzinfo=UTC)) + offset
    opening = next_opening(OFFICE, now)
    assert opening is not None and ms(opening) > now
    assert is_open(OFFICE, ms(opening))
    if not is_open(OFFICE, now):  # closed until then: every minute in between is closed too (sampled)
        t = now
        while t < ms(opening):
            assert not is_open(OFFICE, t)
            t += 3 * 3_600_000


def test_reply_texts() -> None:
    assert describe_wait(None) == "a few minutes"
    assert describe_wait(20_000) == "less than a minute"
    assert describe_wait(60_000) == "1 minute"
    assert describe_wait(125_000) == "2 minutes"
    assert describe_wait(3 * 3_600_000) == "3 hours"
    text = "You are number {position} in line; we usually answer within {wait}."
    assert (
        render(text, position=3, wait="2 minutes")
        == "You are number 3 in line; we usually answer within 2 minutes."
    )
    opens = datetime(2026, 12, 7, 9, 0, tzinfo=PARIS)
    assert render("Closed; back {opens}. {other}", opens=opens) == "Closed; back Monday 09:00. {other}"
    assert render("back {opens}") == "back soon"


def test_an_auto_reply_is_sent_once_per_kind_and_only_while_queued() -> None:
    d = Driver()
    d.open()
    out = d.do(AutoReply("queue", "You are number 1 in line"))
    assert [o.text for o in out.outbound_sms] == ["You are number 1 in line"]
    assert d.s.auto_replies == ("queue",)
    assert Session.from_json(d.s.to_json()) == d.s
    with pytest.raises(InvalidState, match="already had its 'queue' auto-reply"):
        d.do(AutoReply("queue", "again"))
    out = d.do(AutoReply("closed", None))  # an opted-out number: recorded, nothing sent
    assert list(out.outbound_sms) == []
    assert d.s.auto_replies == ("queue", "closed")
    d.do(Offer("alice", "Alice"))
    with pytest.raises(InvalidState):
        d.do(AutoReply("other", "x"))

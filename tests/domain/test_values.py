"""The fast paths of the value objects give what the plain library calls give."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsdesk.domain.participants import Kind, ParticipantRole, UserState, Visibility
from smsdesk.domain.sessions import Phase, Session
from smsdesk.domain.views import format_timestamp, visible_messages
from tests.domain.test_session_json import rich


def _reference_timestamp(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S.") + f"{ms % 1000:03d}+0000"


@given(st.integers(min_value=-(10**12), max_value=10**14))
def test_format_timestamp_is_the_datetime_text(ms: int) -> None:
    assert format_timestamp(ms) == _reference_timestamp(ms)


def test_format_timestamp_examples() -> None:
    assert format_timestamp(0) == "1970-01-01 00:00:00.000+0000"
    assert format_timestamp(-1) == "1969-12-31 23:59:59.999+0000"
    assert format_timestamp(951_868_799_999) == "2000-02-29 23:59:59.999+0000"
    assert format_timestamp(1_700_000_000_123) == "2023-11-14 22:13:20.123+0000"


_NAMES = st.text(alphabet="abcxyz_0123", min_size=1, max_size=5)
_CHANGES = st.fixed_dictionaries(
    {},
    optional={
        "queue": _NAMES,
        "phase": st.sampled_from(Phase),
        "next_index": st.integers(0, 99),
        "updated_ms": st.integers(0, 10**13),
        "user_data": st.dictionaries(st.text(max_size=3), st.integers()),
        "lar_agent_id": st.none() | _NAMES,
        "pending": st.none(),
        "excluded": st.lists(_NAMES).map(tuple),
    },
)


@given(_CHANGES)
def test_evolve_is_dataclasses_replace(changes: dict[str, object]) -> None:
    s = rich()
    new = s.evolve(**changes)
    assert new == dataclasses.replace(s, **changes)  # type: ignore[arg-type]
    assert new is not s and type(new) is Session
    assert s == rich()  # the original is untouched
    assert Session.from_json(new.to_json()) == new


def test_evolve_refuses_an_unknown_field() -> None:
    with pytest.raises(TypeError, match="nextIndex"):
        rich().evolve(nextIndex=3)


def test_participant_states_and_visibility_lookup() -> None:
    customer = rich().customer
    expected = {
        UserState.INVITED: (True, False, False),
        UserState.CHATTING: (True, True, False),
        UserState.LEFT_CHAT: (False, True, False),
        UserState.COMPLETED: (False, False, True),
        UserState.REVOKED: (False, False, True),
    }
    for state, flags in expected.items():
        p = dataclasses.replace(customer, state=state)
        assert (p.present, p.holding, p.terminal) == flags
    assert customer.kind is Kind.CUSTOMER and customer.role is ParticipantRole.CUSTOMER
    shown = visible_messages([{"visibility": v.value, "n": i} for i, v in enumerate(Visibility)], customer)
    assert shown == [{"visibility": "All", "n": 0}]

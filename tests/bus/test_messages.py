from __future__ import annotations

import pytest

from smsdesk.bus.messages import BusMessageError, EventsAdvanced, Resync, parse_message


def test_events_advanced_round_trip() -> None:
    msg = EventsAdvanced.of(5, ["b", "a", "a"])
    assert msg.to_wire() == {"type": "events_advanced", "last_event_id": 5, "user_ids": ["a", "b"]}
    assert parse_message(msg.to_wire()) == msg


def test_events_advanced_carries_the_sessions_written_only_when_there_are_some() -> None:
    msg = EventsAdvanced.of(7, ["a"], [("S1", 3), ("S2", 1)])
    wire = msg.to_wire()
    assert wire["sessions"] == [["S1", 3], ["S2", 1]]
    assert parse_message(wire) == msg
    assert "sessions" not in EventsAdvanced.of(7, ["a"]).to_wire()


def test_resync_round_trip() -> None:
    assert parse_message(Resync().to_wire()) == Resync()


@pytest.mark.parametrize(
    "wire",
    [
        [],
        "x",
        {},
        {"type": "nope"},
        {"type": "events_advanced"},
        {"type": "events_advanced", "last_event_id": -1},
        {"type": "events_advanced", "last_event_id": True},
        {"type": "events_advanced", "last_event_id": "3"},
        {"type": "events_advanced", "last_event_id": 3, "user_ids": "u1"},
        {"type": "events_advanced", "last_event_id": 3, "user_ids": [1]},
        {"type": "events_advanced", "last_event_id": 3, "sessions": {"S1": 1}},
        {"type": "events_advanced", "last_event_id": 3, "sessions": [["S1"]]},
        {"type": "events_advanced", "last_event_id": 3, "sessions": [["S1", "2"]]},
        {"type": "events_advanced", "last_event_id": 3, "sessions": [["S1", True]]},
        {"type": "events_advanced", "last_event_id": 3, "sessions": [[1, 2]]},
    ],
)
def test_bad_messages_give_a_clear_error(wire: object) -> None:
    with pytest.raises(BusMessageError):
        parse_message(wire)

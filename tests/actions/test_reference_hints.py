"""The referenceIds a commit answered travel in its hint, so that every process guesses a user's next one right
(a wrong guess costs the request a second decision: docs/sessions.md, "referenceId")."""

from __future__ import annotations

import pytest

from smsdesk.actions.session_cache import reference_hints
from smsdesk.bus.messages import BusMessageError, EventsAdvanced
from smsdesk.notify.hub import _Outgoing


def test_a_hint_carries_the_highest_reference_of_each_user_of_the_turn() -> None:
    out = _Outgoing()
    out.add(5, ["u1"], [("S1", 2)], [("u1", 7)])
    out.add(6, ["u2"], [], [("u1", 9), ("u2", 1)])
    out.add(7, ["u1"], [], [("u1", 8)])
    wire = out.hint().to_wire()
    assert sorted(map(tuple, wire["refs"])) == [("u1", 9), ("u2", 1)]
    assert sorted(EventsAdvanced.from_wire(wire).refs) == [("u1", 9), ("u2", 1)]
    assert "refs" not in EventsAdvanced.of(1, ["u1"]).to_wire()


def test_bad_refs_are_a_bus_message_error() -> None:
    with pytest.raises(BusMessageError, match="refs"):
        EventsAdvanced.from_wire({"type": "events_advanced", "last_event_id": 1, "refs": [["u1", "x"]]})


async def test_the_handler_moves_each_guess_past_what_was_answered_elsewhere() -> None:
    answered: list[tuple[str, int]] = []
    handler = reference_hints(lambda user, ref: answered.append((user, ref)))
    await handler(
        {"type": "events_advanced", "last_event_id": 3, "user_ids": [], "refs": [["u1", 4], ["u2", 1]]}
    )
    await handler({"type": "events_advanced", "last_event_id": 4, "user_ids": []})  # none: nothing
    await handler({"type": "events_advanced", "last_event_id": 5, "refs": [["u3", "x"], "junk"]})  # skipped
    assert answered == [("u1", 4), ("u2", 1)]


def test_the_runtime_expects_the_reference_after_the_highest_answered(tmp_path: object) -> None:
    from smsdesk.app import build_runtime
    from smsdesk.config import Settings

    rt = build_runtime(Settings(database_url="sqlite://"), fast_hash=True)
    assert rt.next_references.get("u1", 1) == 1
    rt.reference_answered("u1", 4)
    rt.reference_answered("u1", 2)  # an older hint arriving late changes nothing
    assert rt.next_references["u1"] == 5

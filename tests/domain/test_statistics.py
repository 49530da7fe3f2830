"""The statistics' pure parts: windows, views, day starts in a time zone, what changed."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from smsdesk.domain.statistics import (
    AgentFigures,
    MinuteSums,
    QueueLive,
    changed_entries,
    day_start_ms,
    queue_view,
    window_view,
)


def test_a_window_divides_only_what_it_counted() -> None:
    empty = window_view(MinuteSums())
    assert empty["averageWaitSeconds"] is None and empty["serviceLevel"] is None
    s = MinuteSums(offered=4, accepted=3, accepted_in_sl=2, wait_ms=45_000, completed=2, handle_ms=61_000)
    s.add(MinuteSums(abandoned=1, replies=2, reply_wait_ms=5_000))
    view = window_view(s)
    assert (view["offered"], view["accepted"], view["abandoned"]) == (4, 3, 1)
    assert view["averageWaitSeconds"] == 15.0 and view["averageHandleSeconds"] == 30.5
    assert view["averageFirstResponseSeconds"] == 2.5 and view["serviceLevel"] == 0.5  # 2 of 3 + 1


def test_agents_by_state_in_a_queue() -> None:
    def a(state: str, sessions: int) -> AgentFigures:
        return AgentFigures(f"{state}{sessions}", "x", state, None, 0, sessions, 3)

    agents = [a("Ready", 0), a("Ready", 2), a("NotReady", 1), a("NotReady", 0), a("LoggedOut", 0)]
    view = queue_view("q", QueueLive(2, 1_000), agents, MinuteSums(), MinuteSums(), 62_500)
    assert (view["agentsReady"], view["agentsBusy"], view["agentsNotReady"]) == (1, 2, 1)
    assert (view["waiting"], view["longestWaitSeconds"], view["oldestWaitingSince"]) == (2, 61, 1_000)


def test_today_starts_at_local_midnight_also_on_a_dst_day() -> None:
    paris = ZoneInfo("Europe/Paris")
    # 2026-03-29 is 23 hours long in Paris; 12:00 UTC that day
    noon = 1_774_785_600_000
    assert day_start_ms(noon, paris) == 1_774_738_800_000  # 2026-03-28 23:00 UTC
    assert day_start_ms(noon, ZoneInfo("UTC")) == 1_774_742_400_000


def test_changed_entries() -> None:
    before = {"a": {"x": 1}, "b": {"x": 2}}
    after = {"a": {"x": 1}, "b": {"x": 3}, "c": {"x": 4}}
    assert changed_entries(before, after) == ([{"x": 3}, {"x": 4}], [])
    assert changed_entries(after, {"a": {"x": 1}}) == ([], ["b", "c"])

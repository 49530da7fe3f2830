"""Business hours and the waiting customer's auto-replies (docs/routing.md, "Waiting customers"). Pure: the
time zone comes in as a ``tzinfo``, the time as epoch milliseconds.

``Hours``: a weekly schedule (per weekday, opening ranges in minutes of the local day; an end of 24:00 runs to
midnight), and holidays (local dates when the queue stays closed all day). ``is_open`` says whether a queue
takes sessions now; ``next_opening`` when it opens next (None: never, within a year). The replies are
templates with ``{position}``, ``{wait}`` (an estimate in words) and ``{opens}`` (the next opening, local
time)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

__all__ = [
    "DAYS",
    "Hours",
    "describe_wait",
    "is_open",
    "median_wait",
    "next_opening",
    "parse_range",
    "render",
]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_MS = 86_400_000


def parse_range(text: str) -> tuple[int, int]:
    """``"09:00-17:30"`` as minutes of the day ``(540, 1050)``; ``24:00`` is the end of the day."""
    try:
        start, end = (part.strip() for part in text.split("-"))
        lo, hi = _minutes(start), _minutes(end)
    except ValueError:
        raise ValueError(f"'{text}' is not a range like 09:00-17:30") from None
    if not 0 <= lo < hi <= 24 * 60:
        raise ValueError(f"'{text}': the range must start before it ends, within one day")
    return lo, hi


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    if not (h.isdigit() and m.isdigit() and len(m) == 2):
        raise ValueError(hhmm)
    minutes = int(h) * 60 + int(m)
    if int(m) > 59 or minutes > 24 * 60:
        raise ValueError(hhmm)
    return minutes


@dataclass(frozen=True)
class Hours:
    tz: tzinfo
    weekly: tuple[tuple[tuple[int, int], ...], ...]  # 7 days from Monday: (start, end) minutes
    holidays: frozenset[date] = frozenset()


def _local(hours: Hours, now_ms: int) -> datetime:
    return datetime.fromtimestamp(now_ms / 1000, hours.tz)


def is_open(hours: Hours, now_ms: int) -> bool:
    local = _local(hours, now_ms)
    if local.date() in hours.holidays:
        return False
    minute = local.hour * 60 + local.minute
    return any(lo <= minute < hi for lo, hi in hours.weekly[local.weekday()])


def next_opening(hours: Hours, now_ms: int) -> datetime | None:
    """The next local time the schedule opens, after ``now_ms`` (None if it never does within a year)."""
    local = _local(hours, now_ms)
    day = local.date()
    for offset in range(367):
        d = day + timedelta(days=offset)
        if d in hours.holidays:
            continue
        for lo, _hi in sorted(hours.weekly[d.weekday()]):
            start = datetime(d.year, d.month, d.day, lo // 60, lo % 60, tzinfo=hours.tz)
            if start > local:
                return start
    return None


def describe_wait(ms: int | None) -> str:
    """``"2 minutes"``, ``"1 minute"``, ``"less than a minute"``; None (no figure): ``"a few minutes"``."""
    if ms is None:
        return "a few minutes"
    minutes = round(ms / 60_000)
    if minutes < 1:
        return "less than a minute"
    if minutes < 120:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{round(minutes / 60)} hours"


def median_wait(waits_ms: Sequence[int]) -> int | None:
    if not waits_ms:
        return None
    ordered = sorted(waits_ms)
    return ordered[len(ordered) // 2]


def render(template: str, *, position: int = 0, wait: str = "", opens: datetime | None = None) -> str:
    """Fill a reply template; unknown ``{names}`` are left as they are."""
    opens_text = opens.strftime("%A %H:%M") if opens is not None else "soon"
    values = {"position": str(position), "wait": wait, "opens": opens_text}
    out = template
    for key, value in values.items():
        out = out.replace("{" + key + "}", value)
    return out

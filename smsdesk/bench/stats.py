"""Latency summaries and the rate-sweep verdict: pure functions over lists of milliseconds.

Percentiles use the nearest-rank method on the sorted sample (no interpolation), so a p99 is always a
latency that was really observed. ``highest_passing_rate`` is the policy for "the highest rate at which
p99 stays under the limit": steps are judged in increasing rate order and the sweep's answer is the last
step that passed before the first failure (a pass above a failure is noise, not capacity).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Summary", "highest_passing_rate", "percentile", "summarize"]


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted, non-empty sequence; ``q`` in [0, 100]."""
    if not sorted_values:
        raise ValueError("percentile of an empty sample")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile q must be in [0, 100], got {q}")
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass(frozen=True, slots=True)
class Summary:
    count: int
    p50: float | None
    p95: float | None
    p99: float | None
    max: float | None
    mean: float | None

    def to_json(self) -> dict[str, Any]:
        return {k: (round(v, 2) if isinstance(v, float) else v) for k, v in asdict(self).items()}

    def brief(self) -> str:
        if not self.count:
            return "n=0"
        return (
            f"p50 {self.p50:7.1f}  p95 {self.p95:7.1f}  p99 {self.p99:7.1f}  max {self.max:7.1f} ms"
            f"  (n={self.count})"
        )


def summarize(values: Iterable[float]) -> Summary:
    data = sorted(values)
    if not data:
        return Summary(0, None, None, None, None, None)
    return Summary(
        count=len(data),
        p50=percentile(data, 50),
        p95=percentile(data, 95),
        p99=percentile(data, 99),
        max=data[-1],
        mean=sum(data) / len(data),
    )


def highest_passing_rate(steps: Iterable[tuple[float, Sequence[Summary]]], limit_ms: float) -> float | None:
    """The highest rate whose summaries all have ``p99 < limit_ms`` (and samples), before the first failure."""
    best: float | None = None
    for rate, summaries in sorted(steps, key=lambda s: s[0]):
        ok = all(s.count > 0 and s.p99 is not None and s.p99 < limit_ms for s in summaries)
        if not ok:
            break
        best = rate
    return best

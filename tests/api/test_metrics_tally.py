"""``Tally`` and ``Counts`` (smsdesk/metrics.py): what they add to a histogram on ``flush`` is what ``observe`` would have
recorded, observation by observation (or ``inc`` by ``inc``) (buckets, count and sum), and nothing before the flush."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from smsdesk.metrics import Counts, Tally

BUCKETS = (0.001, 0.01, 0.1, 1.0)
VALUES = [0.0, 0.0005, 0.001, 0.0011, 0.01, 0.05, 0.1, 0.5, 1.0, 1.5, 30.0]


def _text(registry: CollectorRegistry) -> list[str]:
    """The exposition without the ``_created`` timestamps (when each child was made)."""
    return [line for line in generate_latest(registry).decode().splitlines() if "_created" not in line]


def _histogram(registry: CollectorRegistry) -> Histogram:
    return Histogram("t_seconds", "test", ["route", "status"], buckets=BUCKETS, registry=registry)


def test_flush_adds_exactly_what_observe_records() -> None:
    direct_registry, tallied_registry = CollectorRegistry(), CollectorRegistry()
    direct = _histogram(direct_registry)
    tally = Tally(_histogram(tallied_registry), BUCKETS)
    for i, v in enumerate(VALUES):
        labels = ("/a", "200") if i % 3 else ("/b", "404")
        direct.labels(*labels).observe(v)
        tally.observe(v, *labels)
    assert not any("t_seconds_count" in line for line in _text(tallied_registry))  # nothing before the flush
    tally.flush()
    assert _text(tallied_registry) == _text(direct_registry)
    tally.flush()  # a second flush adds nothing
    assert _text(tallied_registry) == _text(direct_registry)
    direct.labels("/a", "200").observe(0.02)
    tally.observe(0.02, "/a", "200")
    tally.flush()
    assert _text(tallied_registry) == _text(direct_registry)


def test_an_unlabelled_histogram() -> None:
    direct_registry, tallied_registry = CollectorRegistry(), CollectorRegistry()
    direct = Histogram("u_seconds", "test", buckets=BUCKETS, registry=direct_registry)
    tally = Tally(Histogram("u_seconds", "test", buckets=BUCKETS, registry=tallied_registry), BUCKETS)
    for v in VALUES:
        direct.observe(v)
        tally.observe(v)
    tally.flush()
    assert _text(tallied_registry) == _text(direct_registry)


def test_counts_flush_adds_the_increments() -> None:
    direct_registry, counted_registry = CollectorRegistry(), CollectorRegistry()
    direct = Counter("c", "test", ["provider", "status"], registry=direct_registry)
    counts = Counts(Counter("c", "test", ["provider", "status"], registry=counted_registry))
    for labels in [("a", "sent"), ("a", "sent"), ("b", "failed")]:
        direct.labels(*labels).inc()
        counts.inc(*labels)
    assert not any(line.startswith("c_total") for line in _text(counted_registry))
    counts.flush()
    counts.flush()
    assert _text(counted_registry) == _text(direct_registry)

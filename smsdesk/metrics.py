"""The Prometheus metrics a process counts as things happen (docs/operations.md, "Metrics").

Counters and histograms live in ``prometheus_client``'s default registry. Under ``serve --workers N`` the
serve process points ``PROMETHEUS_MULTIPROC_DIR`` at a private directory before the workers start: each
worker then writes its values to its own memory-mapped files, and a scrape on any worker adds up every
worker's (``MultiProcessCollector``). Figures that the store holds (queues, sessions, agents, the outbox,
leases) are read at scrape time instead (``smsdesk/api/metrics.py``): the same on every node.

The counters and histograms of the hot path (offers, SMS, HTTP requests, store commits, notification lag)
count into a ``Counts`` or ``Tally`` first: a few list increments in this process's memory per observation, where a histogram's
``observe`` under ``--workers`` takes a lock and writes two values to a memory-mapped file (3-8 µs of CPU,
several times per SMS session). ``MetricsService`` adds them to the histograms every second and before
each scrape (``flush_tallies``): a scrape shows another worker's observations up to a second late.
"""

from __future__ import annotations

import math
import os
from bisect import bisect_left
from collections.abc import Sequence

from prometheus_client import Counter, Gauge, Histogram

__all__ = [
    "ACCEPTS",
    "COMETD_CLIENTS",
    "HTTP_SECONDS",
    "NOTIFY_LAG",
    "OFFERS",
    "OFFER_TIMEOUTS",
    "SMS_INBOUND",
    "SMS_OUTBOUND",
    "SMS_RECEIPTS",
    "STORE_COMMIT",
    "Counts",
    "Tally",
    "flush_tallies",
    "multiprocess_dir",
]

COMETD_CLIENTS = Gauge(
    "smsdesk_cometd_clients", "CometD clients connected", ["transport"], multiprocess_mode="livesum"
)


class Tally:
    """Observations of ``histogram`` (by label values) counted in memory; ``flush`` adds them to it.

    ``observe(seconds, *labels)`` is what ``histogram.labels(*labels).observe(seconds)`` would record (the
    first bucket whose upper bound is >= the value, and the sum), without the histogram's lock and file
    writes. ``flush`` moves what was counted since the last flush into the histogram's bucket and sum values
    (``prometheus_client`` gives no public way to add n observations at once; tests/test_metrics_tally.py
    checks the result against ``observe``)."""

    __slots__ = ("_bounds", "_counts", "histogram")

    def __init__(self, histogram: Histogram, buckets: Sequence[float]) -> None:
        self.histogram = histogram
        self._bounds = (*buckets, math.inf)
        self._counts: dict[tuple[str, ...], list[float]] = {}  # label values -> [per bucket..., sum]

    def observe(self, seconds: float, *labels: str) -> None:
        row = self._counts.get(labels)
        if row is None:
            row = self._counts[labels] = [0.0] * (len(self._bounds) + 1)
        row[bisect_left(self._bounds, seconds)] += 1
        row[-1] += seconds

    def flush(self) -> None:
        counts, self._counts = self._counts, {}
        for labels, row in counts.items():
            child = self.histogram.labels(*labels) if labels else self.histogram
            child._sum.inc(row[-1])
            buckets = child._buckets
            for i, n in enumerate(row[:-1]):
                if n:
                    buckets[i].inc(n)


class Counts:
    """Increments of ``counter`` (by label values) counted in memory; ``flush`` adds them to it (``inc``)."""

    __slots__ = ("_counts", "counter")

    def __init__(self, counter: Counter) -> None:
        self.counter = counter
        self._counts: dict[tuple[str, ...], int] = {}

    def inc(self, *labels: str) -> None:
        self._counts[labels] = self._counts.get(labels, 0) + 1

    def flush(self) -> None:
        counts, self._counts = self._counts, {}
        for labels, n in counts.items():
            (self.counter.labels(*labels) if labels else self.counter).inc(n)


def _counted(name: str, documentation: str, labels: Sequence[str] = ()) -> Counts:
    return Counts(Counter(name, documentation, labels))


OFFERS = _counted("smsdesk_offers", "Offers of an SMS session to an agent (routing, invitations)")
ACCEPTS = _counted("smsdesk_accepts", "SMS sessions accepted by an agent for the first time")
OFFER_TIMEOUTS = _counted("smsdesk_offer_timeouts", "Offers not answered in time (RONA)")
SMS_INBOUND = _counted("smsdesk_sms_inbound", "Inbound SMS received", ["provider", "status"])
SMS_OUTBOUND = _counted("smsdesk_sms_outbound", "Outbound SMS send attempts", ["provider", "status"])
SMS_RECEIPTS = _counted("smsdesk_sms_receipts", "Delivery receipts received", ["provider", "status"])


def _timed(name: str, documentation: str, buckets: tuple[float, ...], labels: Sequence[str] = ()) -> Tally:
    return Tally(Histogram(name, documentation, labels, buckets=buckets), buckets)


NOTIFY_LAG = _timed(
    "smsdesk_notification_lag_seconds",
    "From a commit to its notifications queued for the clients (on the committing process)",
    (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
HTTP_SECONDS = _timed(
    "smsdesk_http_request_duration_seconds",
    "HTTP requests by route template",
    (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    ["method", "route", "status"],
)
STORE_COMMIT = _timed(
    "smsdesk_store_commit_seconds",
    "Store transactions of the write path (Runtime.commit), queueing for the write included",
    (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)


def flush_tallies() -> None:
    """Add what the hot paths timed to the histograms (every second, and before a scrape)."""
    for tally in (NOTIFY_LAG, HTTP_SECONDS, STORE_COMMIT):
        tally.flush()
    for counts in (OFFERS, ACCEPTS, OFFER_TIMEOUTS, SMS_INBOUND, SMS_OUTBOUND, SMS_RECEIPTS):
        counts.flush()


def multiprocess_dir() -> str | None:
    """The directory of the workers' metric files, when this process is one of several."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None

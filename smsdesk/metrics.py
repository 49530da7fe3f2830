"""The Prometheus metrics a process counts as things happen (docs/operations.md, "Metrics").

Counters and histograms live in ``prometheus_client``'s default registry. Under ``serve --workers N`` the
serve process points ``PROMETHEUS_MULTIPROC_DIR`` at a private directory before the workers start: each
worker then writes its values to its own memory-mapped files, and a scrape on any worker adds up every
worker's (``MultiProcessCollector``). Figures that the store holds (queues, sessions, agents, the outbox,
leases) are read at scrape time instead (``smsdesk/api/metrics.py``): the same on every node.
"""

from __future__ import annotations

import os

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
    "multiprocess_dir",
]

OFFERS = Counter("smsdesk_offers", "Offers of an SMS session to an agent (routing, invitations)")
ACCEPTS = Counter("smsdesk_accepts", "SMS sessions accepted by an agent for the first time")
OFFER_TIMEOUTS = Counter("smsdesk_offer_timeouts", "Offers not answered in time (RONA)")
SMS_INBOUND = Counter("smsdesk_sms_inbound", "Inbound SMS received", ["provider", "status"])
SMS_OUTBOUND = Counter("smsdesk_sms_outbound", "Outbound SMS send attempts", ["provider", "status"])
SMS_RECEIPTS = Counter("smsdesk_sms_receipts", "Delivery receipts received", ["provider", "status"])
COMETD_CLIENTS = Gauge(
    "smsdesk_cometd_clients", "CometD clients connected", ["transport"], multiprocess_mode="livesum"
)
NOTIFY_LAG = Histogram(
    "smsdesk_notification_lag_seconds",
    "From a commit to its notifications queued for the clients (on the committing process)",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
HTTP_SECONDS = Histogram(
    "smsdesk_http_request_duration_seconds",
    "HTTP requests by route template",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
STORE_COMMIT = Histogram(
    "smsdesk_store_commit_seconds",
    "Store transactions of the write path (Runtime.commit), queueing for the write included",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)


def multiprocess_dir() -> str | None:
    """The directory of the workers' metric files, when this process is one of several."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None

"""Tunables of the CometD notification endpoint. Policy for each value is in ``docs/notifications.md``."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["NotifySettings"]


@dataclass(frozen=True, slots=True)
class NotifySettings:
    timeout_ms: int = 30_000
    """``advice.timeout``: how long a ``/meta/connect`` is held when nothing is queued."""
    interval_ms: int = 0
    """``advice.interval``: the minimum pause the client makes between two connects."""
    max_interval_ms: int = 15_000
    """A client with no connect (held or arriving) for this long is expired and must re-handshake."""
    heartbeat_ms: int = 45_000
    """Upper bound of any hold, the client's ``advice.timeout`` included, so that a reply (a heartbeat)
    always comes before the usual 55-60 s idle timeout of proxies and load balancers."""
    max_queue: int = 1_000
    """Events queued (unsent plus sent-but-unacknowledged) per client; beyond it the client is dropped and
    told to re-handshake (back-pressure)."""
    max_subscriptions: int = 100
    max_clients_per_user: int = 32
    max_message_bytes: int = 256 * 1024
    """Largest accepted request body or websocket frame."""
    max_json_depth: int = 32
    """Deepest nesting of objects and arrays accepted in a request body or frame."""
    ws_send_timeout_ms: int = 10_000
    """A websocket frame not written within this time closes that socket (a stalled reader)."""
    ws_outbox: int = 32
    """Frames waiting to be written on one websocket before it is closed as too slow."""
    sweep_interval_ms: int = 1_000
    """How often expired clients are looked for."""
    poll_interval_ms: int = 5_000
    """Catch-up read of the store even without a bus hint (a lost hint costs at most this much latency)."""
    read_batch: int = 500
    audience_in_list_max: int = 50
    """Up to this many recipients, the hub reads events with ``user_id IN (...)``; above it, and when the
    source can, it reads every new event (``id > cursor``) and keeps those of its audience."""
    websocket: bool = True
    cookie_secure: bool = False
    """Mark the ``BAYEUX_BROWSER`` cookie ``Secure`` (set it when served over HTTPS)."""

    def __post_init__(self) -> None:
        for name in (
            "timeout_ms",
            "interval_ms",
            "max_interval_ms",
            "heartbeat_ms",
            "max_queue",
            "max_subscriptions",
            "max_clients_per_user",
            "max_message_bytes",
            "max_json_depth",
            "ws_send_timeout_ms",
            "ws_outbox",
            "sweep_interval_ms",
            "poll_interval_ms",
            "read_batch",
            "audience_in_list_max",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"NotifySettings.{name} must be an integer >= 0, got {value!r}")
        for name in ("max_queue", "read_batch", "max_message_bytes", "ws_outbox", "sweep_interval_ms"):
            if getattr(self, name) == 0:
                raise ValueError(f"NotifySettings.{name} must be > 0")
        if self.timeout_ms > self.heartbeat_ms:
            raise ValueError("NotifySettings.timeout_ms must not exceed heartbeat_ms")

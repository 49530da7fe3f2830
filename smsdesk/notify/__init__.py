"""CometD/Bayeux notifications at ``/api/v2/notifications`` (long-polling and websocket).

Design and policy: ``docs/notifications.md``. Modules: ``bayeux`` (the sans-I/O protocol state),
``queue`` (per-client event queue with ack), ``channels`` (names, wildcards, who sees what), ``hub`` (store,
bus and clock wiring), ``longpoll`` and ``websocket`` (thin transports), ``ports`` (what the hub needs),
``fakes`` (in-memory implementations of the ports).
"""

from smsdesk.notify.bayeux import Bayeux, Transport
from smsdesk.notify.hub import NotificationHub, Processed
from smsdesk.notify.ports import Authenticator, EventSource
from smsdesk.notify.settings import NotifySettings

__all__ = [
    "Authenticator",
    "Bayeux",
    "EventSource",
    "NotificationHub",
    "NotifySettings",
    "Processed",
    "Transport",
]

"""Notifications: what the domain asks to be pushed to one user over CometD.

A ``Notification`` is JSON-pure: ``data`` is exactly the GWS notification object (the Bayeux message's
``data``), ``channel`` the Bayeux channel (e.g. ``/v2/me/smssessions``), ``user_id`` the recipient.
The recipient ``SUPERVISORS`` reaches every connected supervisor and admin (topic ``/v2/users``).
Actions hand notifications to the store inside the transaction of the change they describe; the store gives
each a monotonic id; the notification hub delivers them after commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["SUPERVISORS", "Notification", "StoredEvent"]

SUPERVISORS = "@supervisors"


@dataclass(frozen=True, slots=True)
class Notification:
    user_id: str
    channel: str
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """A notification as the store keeps it: ``id`` is monotonic across the whole deployment."""

    id: int
    user_id: str
    channel: str
    data: Mapping[str, Any]

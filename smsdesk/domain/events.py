"""Notifications: what the domain asks to be pushed to one user over CometD.

A ``Notification`` is JSON-pure: ``data`` is exactly the GWS notification object (the Bayeux message's
``data``), ``channel`` the Bayeux channel (e.g. ``/v2/me/smssessions``), ``user_id`` the recipient.
The recipient ``SUPERVISORS`` reaches every connected supervisor and admin (topic ``/v2/users``).
Actions hand notifications to the store inside the transaction of the change they describe; the store gives
each a monotonic id; the notification hub delivers them after commit.
"""

from __future__ import annotations

import json as _json
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


class StoredEvent:
    """A notification as the store keeps it: ``id`` is monotonic across the whole deployment.

    A store that holds ``data`` as JSON text may hand that text over as ``json`` instead of the decoded
    ``data``: the notification hub writes it to the wire as it is, and ``data`` decodes it only when read.
    ``json`` must be a JSON object as strict JSON (no ``NaN``), fit to send to a client as it is."""

    __slots__ = ("_data", "channel", "id", "json", "user_id")

    def __init__(
        self,
        id: int,
        user_id: str,
        channel: str,
        data: Mapping[str, Any] | None = None,
        *,
        json: str | bytes | None = None,
    ) -> None:
        if data is None and json is None:
            raise ValueError("StoredEvent: data or json is required")
        self.id = id
        self.user_id = user_id
        self.channel = channel
        self._data = data
        self.json = json if data is None else None

    @property
    def data(self) -> Mapping[str, Any]:
        data = self._data
        if data is None:
            data = self._data = _json.loads(self.json)  # type: ignore[arg-type]
        return data

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StoredEvent):
            return NotImplemented
        return (self.id, self.user_id, self.channel, self.data) == (
            other.id,
            other.user_id,
            other.channel,
            other.data,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"StoredEvent(id={self.id!r}, user_id={self.user_id!r}, channel={self.channel!r}, data={self.data!r})"

"""Ending a user's access on every process and node: at logout (``EndContactCenterSession``) and when the
user is deleted (docs/security.md).

The store is already the truth (the HTTP session row is deleted, the user is gone): every long-polling
request carries credentials checked against it. What the processes hold is ended by an ``AccessRevoked``
message on the bus: each one forgets the user's cached credentials and sessions and ends the user's CometD
clients, websockets included. Here at once, elsewhere when the message arrives; a lost message leaves a
websocket open until it checks its credentials again (``notify/websocket.py``, ``RECHECK_S``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from typing import Any

from smsdesk.api.auth import Authenticator
from smsdesk.bus.base import Bus
from smsdesk.bus.messages import ACCESS_TOPIC, AccessRevoked, BusMessageError, parse_message

__all__ = ["AccessRevocation"]

log = logging.getLogger("smsdesk")


class AccessRevocation:
    def __init__(self, bus: Bus, authenticator: Authenticator, drop_user: Callable[[str], None]) -> None:
        self._bus = bus
        self._auth = authenticator
        self._drop_user = drop_user
        bus.subscribe(ACCESS_TOPIC, self._on_message)  # before bus.start()

    async def revoke(self, user_ids: Collection[str], http_session_ids: Collection[str] = ()) -> None:
        message = AccessRevoked(tuple(user_ids), tuple(s for s in http_session_ids if s))
        self._apply(message)
        try:
            await self._bus.publish(ACCESS_TOPIC, message.to_wire())
        except Exception:  # the store holds the truth: the other processes find out at their next check
            log.exception("publishing an access revocation failed")

    async def _on_message(self, wire: dict[str, Any]) -> None:
        try:
            message = parse_message(wire)
        except BusMessageError as exc:
            log.warning("AccessRevocation: ignoring a bad bus message: %s", exc)
            return
        if isinstance(message, AccessRevoked):
            self._apply(message)

    def _apply(self, message: AccessRevoked) -> None:
        for session_id in message.http_session_ids:
            self._auth.forget_session(session_id)
        for user_id in message.user_ids:
            self._auth.forget_user(user_id)
            self._drop_user(user_id)

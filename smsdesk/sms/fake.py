"""``FakeProvider(handler)``: an in-process provider for tests, modelled on httpx's ``MockTransport``.

The handler decides what each send does: return a ``SendResult`` to accept, raise ``TemporaryFailure`` /
``PermanentFailure`` to refuse. Every call is recorded in ``sent`` (accepted or not), in order.
Shipped with the package (not only under tests/) so other subsystems' tests can use it too.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable

from smsdesk.sms.base import OutboundSms, SendResult

__all__ = ["FakeProvider", "SendHandler", "accept_all"]

SendHandler = Callable[[OutboundSms], SendResult | Awaitable[SendResult]]


def accept_all(sms: OutboundSms) -> SendResult:
    """A handler that accepts everything with id ``fake-<outbox_id>``."""
    return SendResult(provider_message_id=f"fake-{sms.outbox_id}", status="queued")


class FakeProvider:
    def __init__(self, handler: SendHandler = accept_all, *, name: str = "fake") -> None:
        self._handler = handler
        self._name = name
        self.sent: list[OutboundSms] = []
        self.started = False
        self.closed = False

    @property
    def name(self) -> str:
        return self._name

    async def start(self) -> None:
        self.started = True

    async def close(self) -> None:
        self.closed = True

    async def send(self, sms: OutboundSms) -> SendResult:
        self.sent.append(sms)
        result = self._handler(sms)
        if inspect.isawaitable(result):
            return await result
        return result

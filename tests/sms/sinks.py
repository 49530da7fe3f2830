"""Fake sinks standing in for the actions layer: idempotent by (provider, provider_message_id)."""

from __future__ import annotations

import asyncio

from smsdesk.sms.base import InboundAck, InboundSms, StatusUpdate


class MemoryInboundSink:
    """Commits each message once; a retry with the same id gets the same ack and stores nothing."""

    def __init__(self) -> None:
        self.stored: list[InboundSms] = []
        self._acks: dict[tuple[str, str], InboundAck] = {}
        self.calls = 0
        self.gate: asyncio.Event | None = None  # when set, commits wait for it (to observe ack order)
        self.fail_next = 0

    async def __call__(self, sms: InboundSms) -> InboundAck:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.fail_next > 0:
            self.fail_next -= 1
            raise RuntimeError("database is down")
        key = (sms.provider, sms.provider_message_id)
        if key in self._acks:
            return InboundAck(self._acks[key].message_id, duplicate=True)
        self.stored.append(sms)
        ack = InboundAck(f"msg-{len(self.stored)}")
        self._acks[key] = ack
        return ack

    def texts(self) -> list[str]:
        return [m.text for m in self.stored]


class MemoryStatusSink:
    def __init__(self) -> None:
        self.updates: list[StatusUpdate] = []

    async def __call__(self, update: StatusUpdate) -> None:
        self.updates.append(update)

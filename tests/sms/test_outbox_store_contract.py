from __future__ import annotations

import pytest

from smsdesk.sms.base import OutboundSms
from smsdesk.sms.memory_outbox import MemoryOutboxStore
from tests.sms.outbox_contract import Enqueue, OutboxStoreContract


class TestMemoryOutboxStore(OutboxStoreContract):
    @pytest.fixture
    def outbox(self) -> tuple[MemoryOutboxStore, Enqueue]:
        store = MemoryOutboxStore()

        async def enqueue(provider: str, sms: OutboundSms, now_ms: int) -> None:
            store.enqueue(provider, sms, now_ms=now_ms)

        return store, enqueue

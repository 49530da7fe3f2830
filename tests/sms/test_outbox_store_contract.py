"""The ``OutboxStore`` contract (``outbox_contract.py``) run against every implementation: the in-memory store
and the SQL-backed ``SqlOutbox`` the server runs, on SQLite and PostgreSQL (the ``store`` fixture)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from smsdesk.actions.outbox import SqlOutbox
from smsdesk.clock import FakeClock
from smsdesk.config import Settings
from smsdesk.passwords import Passwords
from smsdesk.runtime import Runtime
from smsdesk.sms.base import OutboundSms
from smsdesk.sms.memory_outbox import MemoryOutboxStore
from smsdesk.store.base import Change, NewOutbound
from smsdesk.store.sql import SqlStore
from smsdesk.store.tables import outbox as outbox_table
from tests.sms.outbox_contract import Enqueue, OutboxStoreContract


class TestMemoryOutboxStore(OutboxStoreContract):
    @pytest.fixture
    def outbox(self) -> tuple[MemoryOutboxStore, Enqueue]:
        store = MemoryOutboxStore()

        async def enqueue(provider: str, sms: OutboundSms, now_ms: int) -> str:
            return store.enqueue(provider, sms, now_ms=now_ms).outbox_id

        return store, enqueue


class TestSqlOutbox(OutboxStoreContract):
    @pytest.fixture
    def outbox(self, store: SqlStore) -> tuple[SqlOutbox, Enqueue]:
        rt = Runtime(settings=Settings(), store=store, clock=FakeClock(), passwords=Passwords(fast=True))

        async def enqueue(provider: str, sms: OutboundSms, now_ms: int) -> str:
            row = NewOutbound(provider, sms.from_number, sms.to_number, sms.text)
            await store.commit(Change(outbound=[row]))
            newest = await store.run_write(
                lambda conn: conn.execute(select(func.max(outbox_table.c.id))).scalar()
            )
            return str(newest)

        return SqlOutbox(rt), enqueue

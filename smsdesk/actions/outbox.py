"""The SQL-backed ``OutboxStore`` the SMS ``OutboxWorker`` drains (smsdesk/sms/outbox.py).

Rows are written by the session engine in the same transaction as the transcript message they carry, so a
restart loses nothing: unsent rows are claimed again once their lease lapses. The status a provider reports on
acceptance (the simulator reports ``delivered`` at once) is shown on the transcript message right away, in the
transaction that marks the row sent.
"""

from __future__ import annotations

from smsdesk.actions.inbound import receive_message_status, receive_status
from smsdesk.runtime import Runtime
from smsdesk.sms.base import OutboundSms, StatusUpdate
from smsdesk.sms.outbox import OutboxRow

__all__ = ["SqlOutbox"]

_REMEMBER_MAX = 10_000


class SqlOutbox:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        # the transcript message of each row claimed and not yet settled, so ``mark_sent`` need not read it
        self._messages: dict[str, tuple[str, int]] = {}

    async def claim_due(self, *, now_ms: int, lease_ms: int, limit: int) -> list[OutboxRow]:
        rows = await self.rt.store.claim_outbound(now_ms, lease_ms, limit)
        if len(self._messages) > _REMEMBER_MAX:  # rows claimed and never settled (a worker stopped)
            self._messages.clear()
        for r in rows:
            if r.session_id is not None and r.message_index is not None:
                self._messages[str(r.id)] = (r.session_id, r.message_index)
        return [
            OutboxRow(
                outbox_id=str(r.id),
                provider=r.provider,
                sms=OutboundSms(
                    str(r.id), r.from_number, r.to_number, r.text, r.session_id, r.message_index, r.media_url
                ),
                attempts=r.attempts - 1,  # the store counts the claim as an attempt already
                next_attempt_ms=r.next_attempt_ms,
            )
            for r in rows
        ]

    async def mark_sent(self, outbox_id: str, *, provider_message_id: str, status: str, now_ms: int) -> None:
        """The row is marked sent in the transaction that shows the status on its transcript message (one
        write, not two); on its own when the session refuses that status or the write fails, so that the
        message is never sent again."""
        row_id = int(outbox_id)
        message = self._messages.pop(outbox_id, None)
        marked = False
        try:
            if message is not None:
                marked = await receive_message_status(
                    self.rt, *message, status or "sent", sent=(row_id, provider_message_id)
                )
        finally:
            if not marked:
                await self.rt.store.mark_outbound_sent(row_id, provider_message_id, now_ms)
        if message is None:  # not claimed here (or forgotten): the row says which message it carries
            update = StatusUpdate("", provider_message_id, status or "sent", outbox_id=outbox_id)
            await receive_status(self.rt, update)

    async def reschedule(self, outbox_id: str, *, attempts: int, next_attempt_ms: int, error: str) -> None:
        self._messages.pop(outbox_id, None)
        await self.rt.store.mark_outbound_retry(int(outbox_id), next_attempt_ms, error)

    async def mark_failed(self, outbox_id: str, *, attempts: int, error: str, now_ms: int) -> None:
        self._messages.pop(outbox_id, None)
        await self.rt.store.mark_outbound_failed(int(outbox_id), error)

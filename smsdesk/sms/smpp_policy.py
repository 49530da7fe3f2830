"""SMPP policy that needs no socket (pure): delivery-receipt mapping, multi-part receipt aggregation,
the idempotency key of mobile-originated messages, and the ``data_coding`` 1 fix-up.

* ``stat`` of a receipt (``id:... stat:DELIVRD err:000``) maps onto ``base.STATUSES`` with
  ``RECEIPT_STATUS``; unknown values count as ``failed``.
* A message sent as N segments gets N receipts. ``ReceiptTracker`` reports one status for the
  message, under the first segment's id (the id ``send`` returned): nothing until every segment has a
  final receipt, then ``delivered`` if all were delivered, else ``failed`` if any failed, else
  ``undelivered``. Single-segment messages (and receipts for ids we no longer remember, e.g. after a
  restart) are reported as they come.
* SMPP MO messages carry no message id. ``mo_message_id`` derives one from sender, recipient, text and
  a 10-minute time bucket, so an SMSC redelivery after a lost ``deliver_sm_resp`` is recognised by the
  idempotent inbound sink. [INF] Trade-off: the same text from the same phone twice in one bucket is
  stored once.
* ``data_coding`` 1 is IA5/ASCII in SMPP 3.4, but some SMSCs (the npm ``smpp`` server among them)
  send GSM 03.38 septets under it. IA5 human text never holds control characters other than CR/LF,
  so ``fix_dc1_text`` re-reads text containing them (the ESC of ``€``, ``@`` as 0x00...) as GSM 03.38.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Final

from smsdesk.sms.segments import decode_gsm7

__all__ = [
    "MO_BUCKET_MS",
    "RECEIPT_STATUS",
    "ReceiptTracker",
    "fix_dc1_text",
    "map_receipt_stat",
    "mo_message_id",
]

RECEIPT_STATUS: Final[Mapping[str, str]] = {
    "DELIVRD": "delivered",
    "ACCEPTD": "sent",
    "ENROUTE": "sent",
    "EXPIRED": "undelivered",
    "UNDELIV": "undelivered",
    "DELETED": "failed",
    "REJECTD": "failed",
    "UNKNOWN": "failed",
}
_FINAL: Final = frozenset({"delivered", "failed", "undelivered"})
MO_BUCKET_MS: Final = 600_000


def map_receipt_stat(stat: str) -> str:
    return RECEIPT_STATUS.get(stat.strip().upper(), "failed")


def fix_dc1_text(text: str) -> str:
    """Text decoded as IA5 under ``data_coding`` 1, re-read as GSM 03.38 when it cannot be IA5."""
    if any(ord(ch) < 0x20 and ch not in "\r\n" for ch in text) and all(ord(ch) < 0x80 for ch in text):
        return decode_gsm7(text.encode("ascii"))
    return text


def mo_message_id(from_number: str, to_number: str, text: str, received_ms: int) -> str:
    bucket = received_ms // MO_BUCKET_MS
    digest = hashlib.sha256(f"{from_number}\x00{to_number}\x00{text}\x00{bucket}".encode()).hexdigest()
    return f"smpp-mo-{digest[:32]}"


class ReceiptTracker:
    """Remembers which SMSC ids belong to one multi-part message (bounded, oldest forgotten first)."""

    def __init__(self, *, max_messages: int = 100_000) -> None:
        self._max = max_messages
        self._primary: dict[str, str] = {}
        self._messages: OrderedDict[str, dict[str, str | None]] = OrderedDict()

    def register(self, segment_ids: Sequence[str]) -> str:
        """Record the SMSC ids of one message's segments; returns the message's id (the first)."""
        if not segment_ids:
            raise ValueError("a message has at least one segment")
        primary = segment_ids[0]
        if len(segment_ids) > 1:
            self._messages[primary] = {sid: None for sid in segment_ids}
            for sid in segment_ids:
                self._primary[sid] = primary
            while len(self._messages) > self._max:
                _old, segments = self._messages.popitem(last=False)
                for sid in segments:
                    self._primary.pop(sid, None)
        return primary

    def on_receipt(self, smsc_id: str, status: str) -> tuple[str, str] | None:
        """``(message_id, status)`` to report for this receipt, or None to stay quiet for now."""
        primary = self._primary.get(smsc_id)
        if primary is None or primary not in self._messages:
            return smsc_id, status
        if status not in _FINAL:
            return None
        segments = self._messages[primary]
        segments[smsc_id] = status
        if any(s is None for s in segments.values()):
            return None
        del self._messages[primary]
        for sid in segments:
            self._primary.pop(sid, None)
        finals = set(segments.values())
        if finals == {"delivered"}:
            return primary, "delivered"
        return primary, "failed" if "failed" in finals else "undelivered"

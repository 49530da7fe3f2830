"""The built-in simulator provider: a pretend carrier for demos and browser tests.

Outbound: ``send`` records the message in memory, per recipient phone, and reports it ``delivered``
straight away. Inbound: ``receive`` builds an ``InboundSms`` and hands it to the inbound sink.

Decision: the record of sent messages is **in memory and does not survive a restart**. It is the
"customer's handset", not a system of record; the conversation itself lives in the store. After a
restart the simulated phone starts empty, like a phone that was swapped, and the outbox re-sends
nothing that was already accepted. Each process gets a random boot tag so ids never repeat across
restarts. Memory is bounded however long it runs: the history per phone is capped (``max_per_phone``), only
the ``max_phones`` phones texted most recently are kept (a load test texts from a new number each time), and
the outbox ids remembered to make a re-send a no-op are the latest ``max_sent`` (a row comes back for a
second send after its lease, a minute later, not after tens of thousands of others).

Several processes (``smsdesk serve --workers N``, several nodes): any of them may send a given message, while
the phone page asks any of them. With ``read_from(store)`` the handsets are read from the store (the outbox rows
this provider sent, ``outbound_to``), so every process shows the whole conversation and a lost hint costs
nothing; a message shows once its outbox row is marked sent (right after ``send`` returns). ``share(bus)``, the
former way (every worker told the others what it sent), is kept for a simulator without a store.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from smsdesk.bus.base import Bus
from smsdesk.clock import Clock
from smsdesk.sms.base import (
    InboundAck,
    InboundSink,
    InboundSms,
    OutboundSms,
    PermanentFailure,
    SendResult,
)
from smsdesk.sms.media import InboundMedia
from smsdesk.sms.numbers import normalize_e164
from smsdesk.sms.segments import SegmentError, split_text

__all__ = ["SHARE_TOPIC", "SentHistory", "SimulatedSms", "SimulatorProvider"]

SHARE_TOPIC = "smsdesk.simulator"


@dataclass(frozen=True, slots=True)
class SimulatedSms:
    message_id: str
    from_number: str
    to_number: str
    text: str
    sent_ms: int
    segments: int

    def to_json(self) -> dict[str, object]:
        return {
            "messageId": self.message_id,
            "from": self.from_number,
            "to": self.to_number,
            "text": self.text,
            "timestampSeconds": self.sent_ms,
            "segments": self.segments,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SimulatedSms:
        """The inverse of ``to_json``; ``ValueError`` (or ``KeyError``/``TypeError``) when it is not one."""
        fields = (data["messageId"], data["from"], data["to"], data["text"])
        if not all(isinstance(f, str) for f in fields):
            raise ValueError("a simulated SMS's text fields must be strings")
        sent, segments = data["timestampSeconds"], data["segments"]
        if not isinstance(sent, int) or not isinstance(segments, int):
            raise ValueError("a simulated SMS's time and segments must be integers")
        return cls(*fields, sent_ms=sent, segments=segments)


class SentRow(Protocol):
    @property
    def provider_message_id(self) -> str: ...
    @property
    def from_number(self) -> str: ...
    @property
    def to_number(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def created_ms(self) -> int: ...


class SentHistory(Protocol):
    """Where the provider's sent messages are recorded for good (the store's outbox)."""

    async def list_sent_to(self, provider: str, to_number: str, limit: int) -> Sequence[SentRow]: ...


def _segments(text: str) -> int:
    try:
        return len(split_text(text, ref=0).segments)
    except SegmentError:
        return 1


class SimulatorProvider:
    name = "simulator"

    def __init__(
        self, clock: Clock, *, max_per_phone: int = 500, max_phones: int = 20_000, max_sent: int = 50_000
    ) -> None:
        self._clock = clock
        self._boot = secrets.token_hex(4)
        self._counter = 0
        self._max_per_phone = max_per_phone
        self._max_phones = max_phones
        self._max_sent = max_sent
        self._outbound: OrderedDict[str, deque[SimulatedSms]] = OrderedDict()  # least recently texted first
        self._by_outbox: dict[str, str] = {}  # outbox id -> message id, oldest first
        self._bus: Bus | None = None
        self._history_source: SentHistory | None = None

    def _history(self, phone: str) -> deque[SimulatedSms]:
        """``phone``'s history, now the most recently texted; the least recent phone is forgotten beyond
        ``max_phones``."""
        history = self._outbound.get(phone)
        if history is None:
            history = self._outbound[phone] = deque(maxlen=self._max_per_phone)
            if len(self._outbound) > self._max_phones:
                self._outbound.popitem(last=False)
        else:
            self._outbound.move_to_end(phone)
        return history

    def share(self, bus: Bus) -> None:
        """Tell the other workers of this node what this one sends, and record what they send (before
        ``bus.start``)."""
        self._bus = bus
        bus.subscribe(SHARE_TOPIC, self._on_shared)

    async def _on_shared(self, message: dict[str, Any]) -> None:
        try:
            record = SimulatedSms.from_json(message)
        except (KeyError, TypeError, ValueError):
            return  # a Resync, or not a record: nothing to show
        if record.message_id.startswith(f"SIMOUT-{self._boot}-"):
            return  # this worker's own, recorded when sent
        history = self._history(record.to_number)
        at = len(history)
        while at > 0 and history[at - 1].sent_ms > record.sent_ms:
            at -= 1  # in the order sent: this worker may have recorded a later one first
        if len(history) == history.maxlen:
            if at == 0:
                return  # older than everything kept
            history.popleft()
            at -= 1
        history.insert(at, record)

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def _next_id(self, kind: str) -> str:
        self._counter += 1
        return f"SIM{kind}-{self._boot}-{self._counter}"

    async def send(self, sms: OutboundSms) -> SendResult:
        """Record the message for ``sms.to_number``. Re-sending the same outbox row is a no-op."""
        if sms.outbox_id in self._by_outbox:
            return SendResult(self._by_outbox[sms.outbox_id], "delivered")
        to = normalize_e164(sms.to_number)
        try:
            segments = len(split_text(sms.text, ref=0).segments)
        except SegmentError as exc:
            raise PermanentFailure(str(exc)) from None
        record = SimulatedSms(
            message_id=self._next_id("OUT"),
            from_number=sms.from_number,
            to_number=to,
            text=sms.text,
            sent_ms=self._clock.now_ms(),
            segments=segments,
        )
        self._history(to).append(record)
        self._by_outbox[sms.outbox_id] = record.message_id
        if len(self._by_outbox) > self._max_sent:
            del self._by_outbox[next(iter(self._by_outbox))]
        if self._bus is not None:
            await self._bus.publish(SHARE_TOPIC, record.to_json())
        return SendResult(record.message_id, "delivered")

    def outbound_for(self, phone: str) -> list[SimulatedSms]:
        """What this process sent to ``phone`` (E.164 after normalisation), oldest first."""
        return list(self._outbound.get(normalize_e164(phone), ()))

    def read_from(self, history: SentHistory) -> None:
        """Read the handsets from ``history`` (the store) rather than this process's memory."""
        self._history_source = history

    async def outbound_to(self, phone: str) -> list[SimulatedSms]:
        """What was sent to ``phone``, oldest first: from the store when ``read_from`` was called (what any
        process sent), else what this process sent."""
        if self._history_source is None:
            return self.outbound_for(phone)
        to = normalize_e164(phone)
        rows = await self._history_source.list_sent_to(self.name, to, self._max_per_phone)
        return [
            SimulatedSms(
                r.provider_message_id, r.from_number, r.to_number, r.text, r.created_ms, _segments(r.text)
            )
            for r in rows
        ]

    async def receive(
        self,
        sink: InboundSink,
        *,
        from_number: str,
        to_number: str,
        text: str,
        message_id: str | None = None,
        media: tuple[InboundMedia, ...] = (),
    ) -> tuple[str, InboundAck]:
        """Deliver a customer's message (``media``: with pictures, the phone's MMS) to ``sink``; returns
        ``(provider_message_id, ack)``.

        Pass ``message_id`` to make a client retry idempotent (the sink sees the same id twice).
        """
        sms = InboundSms(
            provider=self.name,
            provider_message_id=message_id or self._next_id("IN"),
            from_number=normalize_e164(from_number),
            to_number=normalize_e164(to_number),
            text=text,
            media=media,
            received_ms=self._clock.now_ms(),
        )
        ack = await sink(sms)
        return sms.provider_message_id, ack

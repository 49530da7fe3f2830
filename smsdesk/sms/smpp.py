"""SMPP 3.4 transceiver (ESME) provider on top of ``aiosmpplib``: a thin async driver.

The policy is elsewhere: segmenting and encoding in ``segments.py``, receipt mapping, multi-part
receipt aggregation and MO ids in ``smpp_policy.py``, retries in ``outbox.py``. This module only
moves PDUs:

* ``start()`` runs ``aiosmpplib.ESME`` as a background task: ``bind_transceiver``, ``enquire_link``
  every ``enquire_link_s``, and reconnect with exponential back-off (``reconnect_min_ms`` doubled up to
  ``reconnect_doublings`` times) when the SMSC drops the connection.
* ``send()`` splits the text (UDH, GSM-7 or UCS-2), queues one ``submit_sm`` per segment and waits for
  every ``submit_sm_resp``. Not bound -> ``TemporaryFailure`` at once (the outbox retries; nothing
  sits in a volatile queue across a reconnect). Throttling / system errors -> temporary; any other
  error status -> permanent. Returns the first segment's SMSC message id.
* Inbound ``deliver_sm``: aiosmpplib awaits our hook *before* it writes ``deliver_sm_resp`` (verified in
  ``ESME._receive_data`` and by ``tests/sms/test_smpp_smsc.py``), so the hook awaits the inbound sink
  and the SMSC gets its ack only after the commit. If the sink fails we raise ``ConnectionError``:
  aiosmpplib drops the connection without acking, reconnects, and the SMSC redelivers.
  Concatenated MO segments are reassembled (``segments.SegmentBuffer``) before the sink sees them;
  note that earlier segments are acked on arrival (SMPP acks each PDU), so a crash between segments
  loses the partial message.
* Delivery receipts become ``StatusUpdate`` through the status sink, under the same ack-after-commit
  rule.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass

from aiosmpplib import (
    ESME,
    NPI,
    TON,
    AbstractBroker,
    AbstractHook,
    DeliverSm,
    PhoneNumber,
    SmppCommandStatus,
    SmppMessage,
    SmppSessionState,
    SubmitSm,
    SubmitSmResp,
)
from aiosmpplib.correlator import SimpleCorrelator
from aiosmpplib.retrytimer import SimpleExponentialBackoff

from smsdesk.clock import Clock
from smsdesk.sms.base import (
    InboundSink,
    InboundSms,
    OutboundSms,
    PermanentFailure,
    SendResult,
    StatusSink,
    StatusUpdate,
    TemporaryFailure,
)
from smsdesk.sms.config import SmppSettings
from smsdesk.sms.numbers import try_normalize_e164
from smsdesk.sms.segments import Encoding, SegmentBuffer, SegmentError, split_text
from smsdesk.sms.smpp_policy import ReceiptTracker, fix_dc1_text, map_receipt_stat, mo_message_id

__all__ = ["SmppProvider"]

log = logging.getLogger(__name__)

_TEMPORARY_STATUSES = frozenset(
    {
        SmppCommandStatus.ESME_RTHROTTLED,
        SmppCommandStatus.ESME_RMSGQFUL,
        SmppCommandStatus.ESME_RSYSERR,
        SmppCommandStatus.ESME_RX_T_APPN,
        SmppCommandStatus.ESME_RSUBMITFAIL,
    }
)


@dataclass(frozen=True, slots=True)
class _SubmitOutcome:
    status: SmppCommandStatus
    message_id: str


class _ForwardHandler(logging.Handler):
    """Sends aiosmpplib's log records into our logging tree instead of its own stderr handler."""

    def emit(self, record: logging.LogRecord) -> None:
        logging.getLogger(f"{__name__}.esme").handle(record)


class _Broker(AbstractBroker):  # type: ignore[misc]  # aiosmpplib ships no type information
    """The ESME's outbound queue; entries whose ``send`` gave up are skipped, not sent late."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[SmppMessage] = asyncio.Queue()
        self._cancelled: set[str] = set()

    async def enqueue(self, message: SmppMessage) -> None:
        await self._queue.put(message)

    async def dequeue(self) -> SmppMessage:
        while True:
            message = await self._queue.get()
            log_id = getattr(message, "log_id", "")
            if log_id in self._cancelled:
                self._cancelled.discard(log_id)
                continue
            return message

    def cancel(self, log_ids: list[str]) -> None:
        self._cancelled.update(log_ids)


class _Correlator(SimpleCorrelator):  # type: ignore[misc]  # aiosmpplib ships no type information
    """aiosmpplib's correlator with our MO reassembly (keyed by sender, numeric segment order)."""

    def __init__(self, name: str, clock: Clock) -> None:
        super().__init__(name)
        self._clock = clock
        self._segments = SegmentBuffer()

    async def put_delivery_segmented(self, deliver_sm: DeliverSm) -> DeliverSm | None:
        ref, seq, total = deliver_sm.get_segmentation_data()
        text = deliver_sm.short_message or deliver_sm.message_payload
        try:
            whole = self._segments.add(
                deliver_sm.source.number, ref, seq, total, text, now_s=self._clock.monotonic()
            )
        except SegmentError:
            log.warning("dropping malformed MO segment %s/%s from %s", seq, total, deliver_sm.source.number)
            return None
        if whole is None:
            return None
        if deliver_sm.short_message:
            deliver_sm.short_message = whole
        else:
            deliver_sm.message_payload = whole
        return deliver_sm


class _RetryTimer(SimpleExponentialBackoff):  # type: ignore[misc]  # aiosmpplib ships no type information
    """aiosmpplib's back-off, also telling the provider each time a connection has ended."""

    def __init__(self, min_delay_ms: int, doublings: int, on_disconnect: Callable[[], None]) -> None:
        super().__init__(min_delay=min_delay_ms, max_increases=doublings)
        self._on_disconnect = on_disconnect

    async def wait(self) -> None:
        self._on_disconnect()
        await super().wait()


class _Hook(AbstractHook):  # type: ignore[misc]  # aiosmpplib ships no type information
    def __init__(self, provider: SmppProvider) -> None:
        self._provider = provider

    async def sending(self, smpp_message: SmppMessage, pdu: bytes, client_id: str) -> None:
        return None

    async def received(self, smpp_message: SmppMessage | None, pdu: bytes, client_id: str) -> None:
        await self._provider._on_received(smpp_message)

    async def send_error(self, smpp_message: SmppMessage, error: Exception, client_id: str) -> None:
        self._provider._on_send_error(smpp_message, error)


def _address(number: str) -> str:
    return number[1:] if number.startswith("+") else number


def _e164_or_raw(number: str, ton: int) -> str:
    candidate = f"+{number}" if ton == TON.INTERNATIONAL and not number.startswith("+") else number
    return try_normalize_e164(candidate) or candidate


class SmppProvider:
    name = "smpp"

    def __init__(
        self,
        settings: SmppSettings,
        *,
        clock: Clock,
        inbound_sink: InboundSink,
        status_sink: StatusSink,
        log_level: int = logging.WARNING,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._inbound_sink = inbound_sink
        self._status_sink = status_sink
        self._log_level = log_level
        self._broker = _Broker()
        self._receipts = ReceiptTracker()
        self._pending: dict[str, asyncio.Future[_SubmitOutcome]] = {}
        self._refs = itertools.cycle(range(256))
        self._attempts = itertools.count(1)
        self._esme: ESME | None = None
        self._task: asyncio.Task[None] | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        if self._task is not None:
            return
        s = self._settings
        self._esme = ESME(
            smsc_host=s.host,
            smsc_port=s.port,
            system_id=s.system_id,
            password=s.password,
            system_type=s.system_type,
            addr_ton=TON(s.source_ton),
            addr_npi=NPI(s.source_npi),
            enquire_link_interval=float(s.enquire_link_s),
            socket_timeout=float(s.submit_timeout_s),
            hook=_Hook(self),
            broker=self._broker,
            correlator=_Correlator(s.system_id, self._clock),
            retry_timer=_RetryTimer(s.reconnect_min_ms, s.reconnect_doublings, self._on_disconnected),
            log_level=self._log_level,
            log_handler=_ForwardHandler(),
        )
        self._task = asyncio.create_task(self._esme.start(), name="smpp-esme")

    async def close(self) -> None:
        esme, task = self._esme, self._task
        self._esme, self._task = None, None
        if esme is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(esme.stop(), 5.0)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for fut in self._pending.values():
            if not fut.done():
                fut.cancel()
        self._pending.clear()

    @property
    def bound(self) -> bool:
        return self._esme is not None and self._esme.session_state == SmppSessionState.BOUND_TRX

    async def wait_bound(self, timeout_s: float) -> None:
        """Wait until bound (for start-up checks and tests); raises ``TimeoutError``."""
        async with asyncio.timeout(timeout_s):
            while not self.bound:  # noqa: ASYNC110 - aiosmpplib exposes no "bound" event to await
                await asyncio.sleep(0.02)

    # -- outbound ----------------------------------------------------------------------------
    async def send(self, sms: OutboundSms) -> SendResult:
        if not self.bound:
            raise TemporaryFailure("SMSC connection is not bound")
        try:
            split = split_text(sms.text, ref=next(self._refs))
        except SegmentError as exc:
            raise PermanentFailure(str(exc)) from None
        attempt = next(self._attempts)
        encoding = "gsm0338" if split.encoding is Encoding.GSM7 else "ucs2"
        loop = asyncio.get_running_loop()
        log_ids: list[str] = []
        for seg in split.segments:
            log_id = f"{sms.outbox_id}:{attempt}:{seg.seq}"
            message = SubmitSm(
                short_message=seg.text,
                source=PhoneNumber(
                    _address(sms.from_number), TON(self._settings.source_ton), NPI(self._settings.source_npi)
                ),
                destination=PhoneNumber(_address(sms.to_number), TON.INTERNATIONAL, NPI.ISDN),
                esm_class=split.esm_class,
                registered_delivery=1,
                encoding=encoding,
                log_id=log_id,
                extra_data=sms.outbox_id,
            )
            message.set_encoded_message(seg.short_message)
            self._pending[log_id] = loop.create_future()
            log_ids.append(log_id)
            await self._broker.enqueue(message)
        try:
            async with asyncio.timeout(self._settings.submit_timeout_s):
                outcomes = [await self._pending[i] for i in log_ids]
        except TimeoutError:
            self._broker.cancel(log_ids)
            raise TemporaryFailure("SMSC did not answer submit_sm in time") from None
        finally:
            for i in log_ids:
                self._pending.pop(i, None)
        for outcome in outcomes:
            if outcome.status != SmppCommandStatus.ESME_ROK:
                text = f"SMSC refused submit_sm: {outcome.status.name}"
                if outcome.status in _TEMPORARY_STATUSES:
                    raise TemporaryFailure(text)
                raise PermanentFailure(text)
        primary = self._receipts.register([o.message_id for o in outcomes])
        return SendResult(provider_message_id=primary, status="sent")

    def _on_disconnected(self) -> None:
        """The connection ended: sends still waiting for submit_sm_resp fail now (the outbox retries)."""
        self._broker.cancel(list(self._pending))
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(TemporaryFailure("SMSC connection lost before submit_sm_resp"))

    def _on_send_error(self, message: SmppMessage, error: Exception) -> None:
        fut = self._pending.get(getattr(message, "log_id", ""))
        if fut is not None and not fut.done():
            failure: Exception = (
                PermanentFailure(f"cannot build submit_sm: {error}")
                if isinstance(error, ValueError)
                else TemporaryFailure(f"SMSC connection failed while sending: {type(error).__name__}")
            )
            fut.set_exception(failure)

    # -- inbound -----------------------------------------------------------------------------
    async def _on_received(self, message: SmppMessage | None) -> None:
        if isinstance(message, SubmitSmResp):
            fut = self._pending.get(message.log_id)
            if fut is not None and not fut.done():
                fut.set_result(_SubmitOutcome(message.command_status, message.message_id))
        elif isinstance(message, DeliverSm):
            try:
                if message.is_receipt():
                    await self._on_receipt(message)
                else:
                    await self._on_mo(message)
            except Exception as exc:
                log.exception("SMPP deliver_sm not committed; dropping the connection so it is redelivered")
                raise ConnectionError("inbound sink failed; deliver_sm not acknowledged") from exc

    async def _on_mo(self, message: DeliverSm) -> None:
        now = self._clock.now_ms()
        from_number = _e164_or_raw(message.source.number, message.source.ton)
        to_number = _e164_or_raw(message.destination.number, message.destination.ton)
        text = message.short_message or message.message_payload
        if message.encoding == "ascii":
            text = fix_dc1_text(text)
        sms = InboundSms(
            provider=self.name,
            provider_message_id=mo_message_id(from_number, to_number, text, now),
            from_number=from_number,
            to_number=to_number,
            text=text,
            received_ms=now,
        )
        await self._inbound_sink(sms)

    async def _on_receipt(self, message: DeliverSm) -> None:
        receipt = message.parse_receipt()
        smsc_id = str(receipt.get("id", ""))
        if not smsc_id:
            log.warning("delivery receipt without a message id: %r", message.short_message)
            return
        stat = str(receipt.get("stat", "UNKNOWN"))
        reported = self._receipts.on_receipt(smsc_id, map_receipt_stat(stat))
        if reported is None:
            return
        message_id, status = reported
        error = (
            None
            if status in {"delivered", "sent"}
            else f"SMSC receipt stat {stat} err {receipt.get('err', '')}"
        )
        await self._status_sink(StatusUpdate(self.name, message_id, status, error=error))

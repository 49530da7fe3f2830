"""Split long texts into concatenated SMS segments and put them back together (pure, no I/O).

Policy (all of it lives here):

* **Encoding by content.** GSM 03.38 7-bit (``data_coding`` 0, SMSC default alphabet) when every
  character is in the GSM basic table or its extension table (``€ [ ] { } ~ ^ | \\`` and form feed,
  each costing two septets); otherwise UCS-2 (``data_coding`` 8, UTF-16BE, so emoji are sent as
  surrogate pairs as every handset expects).
* **Limits.** One segment holds 160 septets (GSM-7) or 70 UTF-16 units (UCS-2). A concatenated
  message carries a 6-octet UDH (``05 00 03 ref total seq``, 8-bit reference), leaving 153 septets or
  67 units per segment; at most 255 segments. An escape pair and a surrogate pair are never split.
* **Wire form.** GSM-7 is sent *unpacked* (one septet per octet), as SMPP 3.4 expects for
  ``data_coding`` 0; the ``esm_class`` UDHI bit (0x40) flags the UDH.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "ESM_CLASS_UDHI",
    "MAX_SEGMENTS",
    "Encoding",
    "Segment",
    "SegmentBuffer",
    "SegmentError",
    "SplitSms",
    "choose_encoding",
    "decode_gsm7",
    "decode_payload",
    "encode_gsm7",
    "parse_udh",
    "reassemble",
    "split_text",
]

ESM_CLASS_UDHI = 0x40
MAX_SEGMENTS = 255
_ESC = 0x1B

# GSM 03.38 basic character set, indexed by septet value (0x1B is the escape to the extension table).
_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
_EXTENSION = {"\x0c": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F, "[": 0x3C, "~": 0x3D, "]": 0x3E}
_EXTENSION.update({"|": 0x40, "€": 0x65})

_ENCODE_BASIC = {ch: i for i, ch in enumerate(_BASIC) if i != _ESC}
_DECODE_EXTENSION = {v: k for k, v in _EXTENSION.items()}


class SegmentError(ValueError):
    """Text that cannot be sent (empty, too long) or bytes that are not a valid segment."""


class Encoding(enum.Enum):
    GSM7 = 0  # GSM 03.38 default alphabet, unpacked septets (data_coding 0)
    UCS2 = 8  # UTF-16BE (data_coding 8)

    @property
    def data_coding(self) -> int:
        return self.value

    @property
    def single_limit(self) -> int:
        """Units (septets or UTF-16 code units) in a message that is not concatenated."""
        return 160 if self is Encoding.GSM7 else 70

    @property
    def segment_limit(self) -> int:
        """Units per segment once a 6-octet UDH takes its room."""
        return 153 if self is Encoding.GSM7 else 67


@dataclass(frozen=True, slots=True)
class Segment:
    """One submit_sm's worth: ``udh`` (empty when not concatenated) and the encoded ``payload``."""

    seq: int
    total: int
    text: str
    udh: bytes
    payload: bytes

    @property
    def short_message(self) -> bytes:
        return self.udh + self.payload


@dataclass(frozen=True, slots=True)
class SplitSms:
    encoding: Encoding
    segments: tuple[Segment, ...]

    @property
    def data_coding(self) -> int:
        return self.encoding.data_coding

    @property
    def esm_class(self) -> int:
        return ESM_CLASS_UDHI if len(self.segments) > 1 else 0


def _gsm_units(ch: str) -> int | None:
    if ch in _ENCODE_BASIC:
        return 1
    if ch in _EXTENSION:
        return 2
    return None


def choose_encoding(text: str) -> Encoding:
    """GSM-7 when every character fits the GSM 03.38 tables, else UCS-2."""
    return Encoding.GSM7 if all(_gsm_units(ch) is not None for ch in text) else Encoding.UCS2


def encode_gsm7(text: str) -> bytes:
    """Unpacked GSM 03.38 septets; raises ``SegmentError`` for a character outside the tables."""
    out = bytearray()
    for ch in text:
        if ch in _ENCODE_BASIC:
            out.append(_ENCODE_BASIC[ch])
        elif ch in _EXTENSION:
            out += bytes((_ESC, _EXTENSION[ch]))
        else:
            raise SegmentError(f"character {ch!r} is not in the GSM 03.38 alphabet")
    return bytes(out)


def decode_gsm7(data: bytes) -> str:
    """Inverse of ``encode_gsm7``. Unknown escapes decode as the basic character (03.38 fallback)."""
    out: list[str] = []
    i = 0
    while i < len(data):
        septet = data[i] & 0x7F
        if septet == _ESC and i + 1 < len(data):
            nxt = data[i + 1] & 0x7F
            out.append(_DECODE_EXTENSION.get(nxt, _BASIC[nxt] if nxt != _ESC else " "))
            i += 2
            continue
        out.append(_BASIC[septet] if septet != _ESC else " ")
        i += 1
    return "".join(out)


def _chunks(text: str, encoding: Encoding, limit: int) -> list[str]:
    """Greedy split into pieces of at most ``limit`` units, never splitting escape or surrogate pairs."""
    pieces: list[str] = []
    current: list[str] = []
    used = 0
    for ch in text:
        if encoding is Encoding.GSM7:
            cost = _gsm_units(ch) or 1
        else:
            cost = 2 if ord(ch) > 0xFFFF else 1
        if used + cost > limit:
            pieces.append("".join(current))
            current, used = [], 0
        current.append(ch)
        used += cost
    pieces.append("".join(current))
    return pieces


def _encode(encoding: Encoding, text: str) -> bytes:
    return encode_gsm7(text) if encoding is Encoding.GSM7 else text.encode("utf-16-be")


def _units(encoding: Encoding, text: str) -> int:
    if encoding is Encoding.GSM7:
        return len(encode_gsm7(text))
    return len(text.encode("utf-16-be")) // 2


def split_text(text: str, *, ref: int) -> SplitSms:
    """Encode ``text`` and split it into segments sharing the 8-bit concatenation reference ``ref``."""
    if not isinstance(text, str) or not text:
        raise SegmentError("cannot send an empty message")
    if not 0 <= ref <= 255:
        raise SegmentError(f"concatenation reference {ref} is outside 0..255")
    encoding = choose_encoding(text)
    if _units(encoding, text) <= encoding.single_limit:
        return SplitSms(encoding, (Segment(1, 1, text, b"", _encode(encoding, text)),))
    pieces = _chunks(text, encoding, encoding.segment_limit)
    total = len(pieces)
    if total > MAX_SEGMENTS:
        raise SegmentError(f"message too long: {total} segments (at most {MAX_SEGMENTS})")
    segments = tuple(
        Segment(seq, total, piece, bytes((5, 0, 3, ref, total, seq)), _encode(encoding, piece))
        for seq, piece in enumerate(pieces, start=1)
    )
    return SplitSms(encoding, segments)


def parse_udh(short_message: bytes) -> tuple[int, int, int, bytes]:
    """``(ref, total, seq, payload)`` from a short_message starting with a concatenation UDH.

    Understands information elements 0x00 (8-bit ref) and 0x08 (16-bit ref); other elements are skipped.
    """
    if not short_message:
        raise SegmentError("empty short_message has no UDH")
    udh_len = short_message[0]
    if udh_len + 1 > len(short_message):
        raise SegmentError("UDH length exceeds the short_message")
    i, end = 1, 1 + udh_len
    while i + 1 < end:
        iei, ie_len = short_message[i], short_message[i + 1]
        data = short_message[i + 2 : i + 2 + ie_len]
        if iei == 0x00 and ie_len == 3 and len(data) == 3:
            return data[0], data[1], data[2], short_message[end:]
        if iei == 0x08 and ie_len == 4 and len(data) == 4:
            return (data[0] << 8) | data[1], data[2], data[3], short_message[end:]
        i += 2 + ie_len
    raise SegmentError("UDH has no concatenation element")


def decode_payload(encoding: Encoding, payload: bytes) -> str:
    if encoding is Encoding.GSM7:
        return decode_gsm7(payload)
    if len(payload) % 2:
        raise SegmentError("UCS-2 payload has an odd number of octets")
    return payload.decode("utf-16-be", errors="replace")


def reassemble(short_messages: Iterable[bytes], encoding: Encoding) -> str:
    """Join concatenated segments (in any order, all with UDH) back into the text.

    Raises ``SegmentError`` when a part is missing, repeated, or the references disagree. Payloads are
    joined before decoding, so a UTF-16 surrogate pair split across segments by another sender survives.
    """
    parts: dict[int, bytes] = {}
    refs: set[tuple[int, int]] = set()
    for sm in short_messages:
        ref, total, seq, payload = parse_udh(sm)
        refs.add((ref, total))
        if seq in parts:
            raise SegmentError(f"segment {seq} received twice")
        parts[seq] = payload
    if len(refs) != 1:
        raise SegmentError("segments belong to different messages")
    ((_, total),) = refs
    if sorted(parts) != list(range(1, total + 1)):
        raise SegmentError(f"have segments {sorted(parts)} of {total}")
    return decode_payload(encoding, b"".join(parts[i] for i in range(1, total + 1)))


class SegmentBuffer:
    """Collects inbound segments until a message is complete (pure; the caller passes ``now_s``).

    Segments are keyed by ``(sender, ref, total)`` so two phones using the same reference never mix,
    joined by numeric sequence, and forgotten ``ttl_s`` seconds after their last segment arrived.
    """

    def __init__(self, *, ttl_s: float = 600.0, max_messages: int = 10_000) -> None:
        self._ttl_s = ttl_s
        self._max = max_messages
        self._parts: dict[tuple[str, int, int], tuple[float, dict[int, str]]] = {}

    def add(self, sender: str, ref: int, seq: int, total: int, text: str, *, now_s: float) -> str | None:
        """Store one segment; return the whole text once every segment of the message is in."""
        if not 1 <= seq <= total:
            raise SegmentError(f"segment {seq} of {total} is out of range")
        self._expire(now_s)
        key = (sender, ref, total)
        _, parts = self._parts.get(key, (now_s, {}))
        parts[seq] = text
        if len(parts) == total:
            self._parts.pop(key, None)
            return "".join(parts[i] for i in range(1, total + 1))
        self._parts[key] = (now_s, parts)
        return None

    def pending(self) -> int:
        return len(self._parts)

    def _expire(self, now_s: float) -> None:
        stale = [k for k, (t, _) in self._parts.items() if now_s - t > self._ttl_s]
        for key in stale:
            del self._parts[key]
        while len(self._parts) >= self._max:
            del self._parts[next(iter(self._parts))]

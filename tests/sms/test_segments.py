from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsdesk.sms.segments import (
    Encoding,
    SegmentBuffer,
    SegmentError,
    choose_encoding,
    decode_gsm7,
    encode_gsm7,
    parse_udh,
    reassemble,
    split_text,
)

GSM_CHARS = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCXYZÄÖÑÜ§¿abcxyzäöñüà€[]{}~^|\\"
)


def test_plain_ascii_fits_one_gsm_segment() -> None:
    split = split_text("a" * 160, ref=1)
    assert split.encoding is Encoding.GSM7
    assert len(split.segments) == 1
    assert split.esm_class == 0
    assert split.segments[0].udh == b""


def test_161_gsm_chars_need_two_segments_with_udh() -> None:
    split = split_text("a" * 161, ref=92)
    assert [len(s.payload) for s in split.segments] == [153, 8]
    assert split.segments[0].udh == bytes([5, 0, 3, 92, 2, 1])
    assert split.segments[1].udh == bytes([5, 0, 3, 92, 2, 2])
    assert split.esm_class == 0x40
    assert split.data_coding == 0


def test_euro_is_gsm_but_costs_two_septets() -> None:
    assert choose_encoding("price: 5€") is Encoding.GSM7
    assert encode_gsm7("€") == bytes([0x1B, 0x65])
    assert len(split_text("€" * 80, ref=0).segments) == 1
    assert len(split_text("€" * 81, ref=0).segments) == 2


def test_escape_pair_is_never_split() -> None:
    split = split_text("a" * 152 + "€" + "b" * 10, ref=3)
    assert split.segments[0].text == "a" * 152
    assert split.segments[1].text.startswith("€")


def test_cyrillic_and_emoji_use_ucs2() -> None:
    split = split_text("Привет 😀", ref=0)
    assert split.encoding is Encoding.UCS2
    assert split.data_coding == 8
    assert split.segments[0].payload == "Привет 😀".encode("utf-16-be")


def test_ucs2_limits_and_surrogates() -> None:
    assert len(split_text("ж" * 70, ref=0).segments) == 1
    split = split_text("ж" * 66 + "😀" + "ж" * 5, ref=0)
    assert split.segments[0].text == "ж" * 66  # the pair would straddle unit 67/68
    assert all(len(s.payload) <= 134 for s in split.segments)


@pytest.mark.parametrize("bad", ["", "x" * (153 * 255 + 1)])
def test_unsendable_text_is_a_clear_error(bad: str) -> None:
    with pytest.raises(SegmentError):
        split_text(bad, ref=0)


def test_bad_ref_and_bad_udh() -> None:
    with pytest.raises(SegmentError, match="reference"):
        split_text("hi", ref=256)
    with pytest.raises(SegmentError):
        parse_udh(b"")
    with pytest.raises(SegmentError):
        parse_udh(bytes([9, 0, 3]))
    with pytest.raises(SegmentError, match="no concatenation"):
        parse_udh(bytes([3, 0x24, 1, 1]) + b"x")


def test_16bit_reference_udh() -> None:
    assert parse_udh(bytes([6, 8, 4, 1, 2, 3, 1]) + b"ab") == (258, 3, 1, b"ab")


def test_encode_rejects_non_gsm() -> None:
    with pytest.raises(SegmentError, match="not in the GSM"):
        encode_gsm7("ж")


def test_reassemble_detects_missing_and_duplicate_parts() -> None:
    parts = [s.short_message for s in split_text("a" * 400, ref=9).segments]
    with pytest.raises(SegmentError, match="have segments"):
        reassemble(parts[:2], Encoding.GSM7)
    with pytest.raises(SegmentError, match="twice"):
        reassemble([parts[0], parts[0]], Encoding.GSM7)
    other = [s.short_message for s in split_text("b" * 400, ref=10).segments]
    with pytest.raises(SegmentError, match="different"):
        reassemble([parts[0], other[1], parts[2]], Encoding.GSM7)


def test_segment_buffer_keys_by_sender_and_expires() -> None:
    buf = SegmentBuffer(ttl_s=10)
    assert buf.add("+1", 5, 1, 2, "hel", now_s=0) is None
    assert buf.add("+2", 5, 2, 2, "XX", now_s=1) is None  # same ref, other phone: no mix-up
    assert buf.add("+1", 5, 2, 2, "lo", now_s=2) == "hello"
    assert buf.pending() == 1
    assert buf.add("+3", 1, 1, 2, "a", now_s=100) is None  # expires +2's stale part
    assert buf.pending() == 1
    with pytest.raises(SegmentError):
        buf.add("+1", 1, 3, 2, "x", now_s=100)


def test_segment_buffer_orders_numerically_beyond_nine_parts() -> None:
    buf = SegmentBuffer()
    out = None
    for seq in reversed(range(1, 12)):
        out = buf.add("+1", 1, seq, 11, f"<{seq}>", now_s=0)
    assert out == "".join(f"<{i}>" for i in range(1, 12))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=GSM_CHARS, min_size=1, max_size=1200), st.integers(0, 255))
def test_gsm_split_then_reassemble_is_identity(text: str, ref: int) -> None:
    split = split_text(text, ref=ref)
    assert split.encoding is Encoding.GSM7
    for seg in split.segments:
        limit = 160 if len(split.segments) == 1 else 153
        assert len(seg.payload) <= limit
        assert decode_gsm7(seg.payload) == seg.text
    if len(split.segments) == 1:
        assert decode_gsm7(split.segments[0].payload) == text
    else:
        assert reassemble([s.short_message for s in reversed(split.segments)], split.encoding) == text


@settings(max_examples=200, deadline=None)
@given(
    st.text(min_size=1, max_size=600).filter(lambda t: choose_encoding(t) is Encoding.UCS2),
    st.integers(0, 255),
)
def test_ucs2_split_then_reassemble_is_identity(text: str, ref: int) -> None:
    try:
        text.encode("utf-16-be")
    except UnicodeEncodeError:  # lone surrogates cannot be sent at all
        return
    split = split_text(text, ref=ref)
    for seg in split.segments:
        assert len(seg.payload) <= (140 if len(split.segments) == 1 else 134)
        assert len(seg.short_message) <= 140
        assert seg.payload.decode("utf-16-be") == seg.text
    joined = (
        reassemble([s.short_message for s in split.segments], split.encoding)
        if len(split.segments) > 1
        else None
    )
    assert (joined or split.segments[0].text) == text

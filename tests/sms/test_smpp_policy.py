from __future__ import annotations

import pytest

from smsdesk.sms.smpp_policy import (
    MO_BUCKET_MS,
    ReceiptTracker,
    fix_dc1_text,
    map_receipt_stat,
    mo_message_id,
)


@pytest.mark.parametrize(
    ("stat", "status"),
    [
        ("DELIVRD", "delivered"),
        ("ACCEPTD", "sent"),
        ("ENROUTE", "sent"),
        ("EXPIRED", "undelivered"),
        ("UNDELIV", "undelivered"),
        ("DELETED", "failed"),
        ("REJECTD", "failed"),
        ("UNKNOWN", "failed"),
        ("delivrd", "delivered"),
        ("WHATEVER", "failed"),
    ],
)
def test_receipt_stat_mapping(stat: str, status: str) -> None:
    assert map_receipt_stat(stat) == status


def test_single_part_receipts_pass_through_and_unknown_ids_too() -> None:
    t = ReceiptTracker()
    assert t.register(["m1"]) == "m1"
    assert t.on_receipt("m1", "sent") == ("m1", "sent")
    assert t.on_receipt("m1", "delivered") == ("m1", "delivered")
    assert t.on_receipt("never-seen", "failed") == ("never-seen", "failed")


@pytest.mark.parametrize(
    ("finals", "expected"),
    [
        (["delivered", "delivered", "delivered"], "delivered"),
        (["delivered", "undelivered", "delivered"], "undelivered"),
        (["undelivered", "failed", "delivered"], "failed"),
    ],
)
def test_multi_part_reports_once_when_all_parts_are_final(finals: list[str], expected: str) -> None:
    t = ReceiptTracker()
    assert t.register(["a", "b", "c"]) == "a"
    assert t.on_receipt("b", "sent") is None  # intermediate receipts stay quiet
    results = [t.on_receipt(sid, st) for sid, st in zip("abc", finals, strict=True)]
    assert results[:2] == [None, None] and results[2] == ("a", expected)
    assert t.on_receipt("b", "delivered") == ("b", "delivered")  # forgotten afterwards


def test_tracker_is_bounded() -> None:
    t = ReceiptTracker(max_messages=2)
    for n in range(3):
        t.register([f"{n}a", f"{n}b"])
    assert t.on_receipt("0a", "delivered") == ("0a", "delivered")  # evicted: reported as is
    assert t.on_receipt("2a", "delivered") is None
    with pytest.raises(ValueError):
        t.register([])


def test_mo_ids_are_stable_within_a_bucket_and_differ_otherwise() -> None:
    a = mo_message_id("+1", "+2", "hi", 0)
    assert a == mo_message_id("+1", "+2", "hi", MO_BUCKET_MS - 1)
    assert a != mo_message_id("+1", "+2", "hi", MO_BUCKET_MS)
    assert a != mo_message_id("+1", "+2", "hi!", 0) != mo_message_id("+3", "+2", "hi", 0)
    assert a.startswith("smpp-mo-")


def test_dc1_fixup() -> None:
    assert fix_dc1_text("plain text\r\n") == "plain text\r\n"
    assert fix_dc1_text("5\x1be \x1b<A\x1b>") == "5€ [A]"
    assert fix_dc1_text("mail me\x00home") == "mail me@home"
    assert fix_dc1_text("héllo\x00") == "héllo\x00"  # not IA5 at all: leave it

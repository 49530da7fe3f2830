from __future__ import annotations

import pytest

from smsdesk.domain.errors import NotFound
from smsdesk.sms.fake import FakeProvider
from smsdesk.sms.numbers import InvalidNumber
from smsdesk.sms.registry import ProviderRegistry


async def test_each_number_has_one_provider_and_several_run_at_once() -> None:
    a, b = FakeProvider(name="a"), FakeProvider(name="b")
    reg = ProviderRegistry({"a": a, "b": b}, {"+15550000001": "a", "+1 555 000 0002": "b"})
    assert reg.provider_for("+15550000001") is a
    assert reg.provider_for("+15550000002") is b
    assert reg.numbers_of("b") == ("+15550000002",)
    with pytest.raises(NotFound, match=r"\+15559999999"):
        reg.provider_for("+15559999999")
    with pytest.raises(InvalidNumber):
        reg.provider_for("garbage")
    await reg.start_all()
    await reg.close_all()
    assert a.started and b.closed


def test_default_provider_and_bad_bindings() -> None:
    a = FakeProvider(name="a")
    assert ProviderRegistry({"a": a}, {}, default="a").provider_for("+15551230001") is a
    with pytest.raises(ValueError, match="unknown provider"):
        ProviderRegistry({"a": a}, {"+15550000001": "zzz"})
    with pytest.raises(ValueError, match="default provider"):
        ProviderRegistry({"a": a}, {}, default="zzz")


def test_owns_only_the_numbers_bound_by_name() -> None:
    a = FakeProvider("a")
    reg = ProviderRegistry({"a": a}, {"+15550000001": "a"}, default="a")
    assert reg.owns("+1 555 000 0001") is True
    assert reg.owns("+15551230001") is False  # served by the default, but not ours to send from
    assert reg.owns("not a number") is False

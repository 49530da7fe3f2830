from __future__ import annotations

import pytest

from smsdesk.domain.users import Principal, Role
from smsdesk.notify.channels import (
    is_valid_channel,
    is_valid_pattern,
    matches,
    may_receive,
    subscribe_refusal,
)

AGENT = Principal("u1", "agent1", frozenset({Role.AGENT}))
SUPERVISOR = Principal("u2", "supervisor1", frozenset({Role.SUPERVISOR}))


@pytest.mark.parametrize(
    ("pattern", "channel", "expected"),
    [
        ("/v2/me/channels", "/v2/me/channels", True),
        ("/v2/me/*", "/v2/me/channels", True),
        ("/v2/me/*", "/v2/me/a/b", False),
        ("/v2/me/*", "/v2/me", False),
        ("/v2/me/**", "/v2/me/a/b", True),
        ("/v2/me/**", "/v2/me", False),
        ("/v2/me/**", "/v2/meow/x", False),
        ("/**", "/v2/users", True),
        ("/*", "/v2", True),
        ("/*", "/v2/me", False),
        ("/v2/me", "/v2/me/channels", False),
    ],
)
def test_matches(pattern: str, channel: str, expected: bool) -> None:
    assert matches(pattern, channel) is expected


@pytest.mark.parametrize(
    ("name", "channel_ok", "pattern_ok"),
    [
        ("/v2/me", True, True),
        ("/v2/me/*", False, True),
        ("/**", False, True),
        ("/a/**/b", False, False),
        ("v2/me", False, False),
        ("/", False, False),
        ("/a//b", False, False),
        ("/a b", False, False),
        (7, False, False),
        ("/" + "a" * 300, False, False),
    ],
)
def test_validity(name: object, channel_ok: bool, pattern_ok: bool) -> None:
    assert is_valid_channel(name) is channel_ok
    assert is_valid_pattern(name) is pattern_ok


@pytest.mark.parametrize(
    ("principal", "pattern", "refusal"),
    [
        (AGENT, "/v2/me/smssessions", None),
        (AGENT, "/**", None),
        (AGENT, "/v2/users", "403:/v2/users:subscribe_denied"),
        (AGENT, "/v2/users/**", "403:/v2/users/**:subscribe_denied"),
        (SUPERVISOR, "/v2/users", None),
        (SUPERVISOR, "/meta/connect", "403:/meta/connect:subscribe_denied"),
        (SUPERVISOR, "/meta/**", "403:/meta/**:subscribe_denied"),
        (AGENT, "/service/x", "403:/service/x:subscribe_denied"),
        (AGENT, "not-a-channel", "400:not-a-channel:channel_invalid"),
    ],
)
def test_subscribe_refusal(principal: Principal, pattern: str, refusal: str | None) -> None:
    assert subscribe_refusal(principal, pattern) == refusal


def test_may_receive() -> None:
    assert may_receive(AGENT, "/v2/me/channels")
    assert not may_receive(AGENT, "/v2/users")
    assert may_receive(SUPERVISOR, "/v2/users")
    assert not may_receive(SUPERVISOR, "/meta/connect")

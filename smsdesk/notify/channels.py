"""Bayeux channel names, wildcard matching, and who may subscribe to what.

Policy (``docs/notifications.md``): a client only ever receives events addressed to its own user (or to
``SUPERVISORS`` when it is a supervisor or admin), so subscriptions are mostly a filter. Subscribing to
``/meta/**`` or ``/service/**`` is refused, and so is ``/v2/users`` (and below) for non-supervisors;
wildcards such as ``/v2/me/*``, ``/v2/me/**`` and ``/**`` are accepted and filtered down to what the
caller may see.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Protocol

from smsdesk.domain.users import Principal

__all__ = [
    "STATISTICS_CHANNEL",
    "SUPERVISOR_CHANNEL",
    "any_supervisor_watches",
    "is_valid_channel",
    "is_valid_pattern",
    "matches",
    "may_receive",
    "subscribe_refusal",
]

SUPERVISOR_CHANNEL = "/v2/users"
STATISTICS_CHANNEL = "/v2/statistics"  # supervisors and admins only (docs/operations.md)
_SEGMENT = re.compile(r"^[A-Za-z0-9_\-!~().$@:+=,]+$")
MAX_CHANNEL_LENGTH = 256


def _segments(name: object) -> list[str] | None:
    if not isinstance(name, str) or not name.startswith("/") or len(name) > MAX_CHANNEL_LENGTH:
        return None
    parts = name[1:].split("/")
    return parts if all(parts) else None


def is_valid_channel(name: object) -> bool:
    """A concrete channel: ``/a/b``, no wildcard."""
    parts = _segments(name)
    return parts is not None and all(_SEGMENT.match(p) for p in parts)


def is_valid_pattern(name: object) -> bool:
    """A channel or a wildcard pattern: ``*`` or ``**`` allowed as the last segment only."""
    parts = _segments(name)
    if parts is None:
        return False
    *head, last = parts
    return all(_SEGMENT.match(p) for p in head) and (last in ("*", "**") or bool(_SEGMENT.match(last)))


def matches(pattern: str, channel: str) -> bool:
    """Bayeux matching: ``/a/*`` matches ``/a/b`` only; ``/a/**`` matches ``/a/b`` and ``/a/b/c``."""
    if pattern == channel:
        return True
    if pattern.endswith("/**"):
        prefix = pattern[:-2]
        return channel.startswith(prefix) and len(channel) > len(prefix)
    if pattern.endswith("/*"):
        prefix = pattern[:-1]
        return channel.startswith(prefix) and "/" not in channel[len(prefix) :] and len(channel) > len(prefix)
    return False


def _is_under(channel: str, root: str) -> bool:
    return channel == root or channel.startswith(root + "/")


def may_receive(principal: Principal, channel: str) -> bool:
    """The last filter before an event enters a client's queue."""
    if _is_under(channel, SUPERVISOR_CHANNEL) or _is_under(channel, STATISTICS_CHANNEL):
        return principal.is_supervisor
    return not (_is_under(channel, "/meta") or _is_under(channel, "/service"))


def subscribe_refusal(principal: Principal, pattern: str) -> str | None:
    """``None`` when ``principal`` may subscribe to ``pattern``, else the Bayeux error string."""
    if not is_valid_pattern(pattern):
        return f"400:{pattern}:channel_invalid"
    if _is_under(pattern, "/meta") or _is_under(pattern, "/service"):
        return f"403:{pattern}:subscribe_denied"
    supervisors_only = _is_under(pattern, SUPERVISOR_CHANNEL) or _is_under(pattern, STATISTICS_CHANNEL)
    if supervisors_only and not principal.is_supervisor:
        return f"403:{pattern}:subscribe_denied"
    return None


class _Watcher(Protocol):
    supervisor: bool
    subscriptions: frozenset[str]


def any_supervisor_watches(sessions: Iterable[_Watcher], channel: str) -> bool:
    """A supervisor's client among ``sessions`` subscribes to ``channel`` (or a wildcard over it)."""
    seen: set[frozenset[str]] = set()
    for session in sessions:
        subs = session.subscriptions
        if not session.supervisor or subs in seen:
            continue
        if any(matches(p, channel) for p in subs):
            return True
        seen.add(subs)  # the sets are shared by the clients that subscribe alike
    return False
